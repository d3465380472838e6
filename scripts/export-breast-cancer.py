"""Exports scikit-learn's copy of the Breast Cancer Wisconsin (Diagnostic) data to data/ and prints the
scores of scikit-learn's MLPClassifier on the same split, for examples/breast-cancer.ts and the README.

Run once with Debian's python3-sklearn: /usr/bin/python3 scripts/export-breast-cancer.py

Data: W. Wolberg, O. Mangasarian, N. Street, W. Street, "Breast Cancer Wisconsin (Diagnostic)", UCI Machine
Learning Repository (1995), https://doi.org/10.24432/C5DW2B, licensed CC BY 4.0; as shipped with scikit-learn
(sklearn.datasets.load_breast_cancer). 569 rows, 30 features; the target column `malignant` is 1 for the
212 malignant tumours (the minority class, the positive one here) and 0 for the 357 benign ones.
"""
import csv
import os

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

here = os.path.dirname(os.path.abspath(__file__))
data = load_breast_cancer()
x = data.data
malignant = (data.target == 0).astype(int)
names = [n.replace(" ", "_") for n in data.feature_names]
x_train, x_test, y_train, y_test = train_test_split(x, malignant, test_size=0.25, stratify=malignant, random_state=0)

for split, xs, ys in [("train", x_train, y_train), ("test", x_test, y_test)]:
    with open(os.path.join(here, "..", "data", f"breast-cancer-{split}.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ["malignant"])
        for row, label in zip(xs, ys):
            w.writerow([repr(float(v)) for v in row] + [int(label)])

scaler = StandardScaler().fit(x_train)
mlp = MLPClassifier(hidden_layer_sizes=(16,), alpha=1e-3, max_iter=2000, random_state=0).fit(scaler.transform(x_train), y_train)
p = mlp.predict_proba(scaler.transform(x_test))[:, 1]
pred = (p > 0.5).astype(int)
print(f"train {len(y_train)} rows ({y_train.sum()} malignant), test {len(y_test)} rows ({y_test.sum()} malignant)")
print(f"MLPClassifier(16): ROC AUC {roc_auc_score(y_test, p):.4f}, average precision {average_precision_score(y_test, p):.4f}, "
      f"precision {precision_score(y_test, pred):.4f}, recall {recall_score(y_test, pred):.4f}")
