/**
 * Peers in Python: PyTorch on the CPU and scikit-learn's MLPClassifier / MLPRegressor, each run as
 * `python3 -c SCRIPT CONFIG_JSON` when the interpreter can import them. Nothing is ever installed: a missing
 * numpy, torch or sklearn is reported as a skip note.
 *
 * The rows travel as raw little-endian float32 files (no .npy header) that the scripts read with
 * numpy.fromfile, written once per data set into a temporary directory.
 *
 * - torch: the same layers (Linear + activation, Dropout; for the convnet Conv2d + activation, MaxPool2d,
 *   Flatten, on the images permuted from Keras's channels-last to torch's NCHW), the optimizer with Keras's
 *   defaults (RMSprop lr 1e-3, alpha = rho 0.9, eps 1e-7; Adam lr 1e-3, betas 0.9 and 0.999, eps 1e-7),
 *   CrossEntropyLoss on the logits (= softmax + sparse categorical cross-entropy) or MSELoss; `threads` =
 *   torch.set_num_threads. The MLPs' kernels are Xavier-uniform with zero biases (Keras's Dense); the convnet
 *   keeps torch's default initialisation (the timing does not depend on it).
 * - sklearn: what MLPClassifier can express: the same hidden sizes but one activation for all of them (relu),
 *   no dropout, Adam (it has no RMSprop), L2 alpha 0; one partial_fit call = one epoch; `threads` limits BLAS
 *   through threadpoolctl (a dependency of scikit-learn).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix } from '../src/index.js';
import { RESULT_PREFIX, runChild, type CaseResult, type CaseSpec } from './case.js';
import { MODELS, type BenchData } from './models.js';

export interface PythonPeers {
  python: string;
  numpy?: string;
  torch?: string;
  sklearn?: string;
  /** Why a peer is skipped, one line each. */
  notes: string[];
}

/** Which python peers can run: versions of what imports, and a note for what does not. */
export function detectPython(python: string): PythonPeers {
  const version = (module: string): string | undefined => {
    const r = spawnSync(python, ['-c', `import ${module}; print(${module}.__version__)`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const found: PythonPeers = { python, notes: [] };
  const probe = spawnSync(python, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error || probe.status !== 0) {
    found.notes.push(`PyTorch and scikit-learn skipped: ${python} is not available`);
    return found;
  }
  found.numpy = version('numpy');
  if (!found.numpy) {
    found.notes.push(`PyTorch and scikit-learn skipped: numpy does not import in ${python}`);
    return found;
  }
  found.torch = version('torch');
  found.sklearn = version('sklearn');
  if (!found.torch) found.notes.push(`PyTorch skipped: \`${python} -c 'import torch'\` failed (not installed)`);
  if (!found.sklearn)
    found.notes.push(`scikit-learn skipped: \`${python} -c 'import sklearn'\` failed (not installed)`);
  return found;
}

/** Where one data set's raw files are, with their shapes. */
export interface RawData {
  dir: string;
  trainRows: number;
  testRows: number;
  cols: number;
  yCols: number;
}

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function targetsF32(y: Int32Array | Matrix): Float32Array {
  return y instanceof Matrix ? y.data : Float32Array.from(y);
}

/** Writes x_train.f32, y_train.f32, x_test.f32, y_test.f32 (row-major float32, labels as floats). */
export async function writeRawData(data: BenchData): Promise<RawData> {
  const dir = await mkdtemp(join(tmpdir(), 'lockstep-bench-'));
  await Promise.all([
    writeFile(join(dir, 'x_train.f32'), f32Bytes(data.xTrain.data)),
    writeFile(join(dir, 'y_train.f32'), f32Bytes(targetsF32(data.yTrain))),
    writeFile(join(dir, 'x_test.f32'), f32Bytes(data.xTest.data)),
    writeFile(join(dir, 'y_test.f32'), f32Bytes(targetsF32(data.yTest))),
  ]);
  const yCols = data.yTrain instanceof Matrix ? data.yTrain.cols : 1;
  return { dir, trainRows: data.xTrain.rows, testRows: data.xTest.rows, cols: data.xTrain.cols, yCols };
}

export async function removeRawData(raw: RawData): Promise<void> {
  await rm(raw.dir, { recursive: true, force: true });
}

/**
 * The peer's process at its best. glibc returns each freed large tensor to the system and the next step maps
 * it again: run plainly on this kind of VM, PyTorch spends most of its convnet step in page faults (121 ms a
 * step; 35 ms with these settings; jemalloc was worse, 300 ms). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which
 * some machines set for old OpenBLAS builds, pin OpenBLAS to older kernels: unset for the peer.
 */
export const TORCH_ALLOCATOR = {
  MALLOC_MMAP_THRESHOLD_: '33554432',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
  MALLOC_TOP_PAD_: '268435456',
} as const;
export const UNSET_FOR_PEER = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

/** The environment of a python peer's process: ours, with the allocator settings and without OpenBLAS's pins. */
export function peerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...TORCH_ALLOCATOR };
  for (const k of UNSET_FOR_PEER) delete env[k];
  return env;
}

/** The peer settings as the report prints them. */
export const PEER_SETTINGS = `${Object.entries(TORCH_ALLOCATOR)
  .map(([k, v]) => `${k}=${v}`)
  .join(' ')}; ${UNSET_FOR_PEER.join(' and ')} unset`;

/** Shared by both scripts: config, data loading, the timing rule and the result line. */
const PRELUDE = String.raw`
import json, resource, sys, time
import numpy as np
cfg = json.loads(sys.argv[1])
spec, case, raw = cfg['spec'], cfg['case'], cfg['raw']
def load(name, rows, cols):
    return np.fromfile(raw['dir'] + '/' + name + '.f32', dtype=np.float32).reshape(rows, cols)
x_train = load('x_train', raw['trainRows'], raw['cols'])
y_train = load('y_train', raw['trainRows'], raw['yCols'])
x_test = load('x_test', raw['testRows'], raw['cols'])
y_test = load('y_test', raw['testRows'], raw['yCols'])
classify = spec['loss'] == 'sparse_categorical_crossentropy'
batch = case['batch']
steps_per_epoch = -(-raw['trainRows'] // batch)
def out_of_time(timed_start):
    return case['maxSeconds'] > 0 and time.perf_counter() - timed_start >= case['maxSeconds']
def over(steps, timed_start):
    """Bounded runs stop an epoch after maxSteps, and the whole timed part after maxSeconds."""
    return (case['maxSteps'] > 0 and steps >= case['maxSteps']) or out_of_time(timed_start)
def emit(epoch_seconds, steps_timed, trained_steps, final_loss, test_loss, test_metric, backend, note):
    result = dict(spec=case, epochSeconds=epoch_seconds, stepsPerEpoch=steps_per_epoch, stepsTimed=steps_timed,
                  extrapolated=steps_timed < len(epoch_seconds) * steps_per_epoch, trainRows=raw['trainRows'],
                  finalLoss=float(final_loss), testLoss=float(test_loss), testMetric=float(test_metric), trainedSteps=trained_steps,
                  peakRssMiB=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, wallSeconds=time.perf_counter() - started,
                  backend=backend, note=note)
    clean = lambda v: None if isinstance(v, float) and v != v else v  # JSON has no NaN
    print(${JSON.stringify(RESULT_PREFIX)} + json.dumps({k: clean(v) for k, v in result.items()}), flush=True)
started = time.perf_counter()
`;

const TORCH_SCRIPT =
  PRELUDE +
  String.raw`
import os
import torch
PEER_ENV_KEYS = ${JSON.stringify([...Object.keys(TORCH_ALLOCATOR), ...UNSET_FOR_PEER])}
ddp = bool(case.get('ddp'))
world = max(1, case['workers']) if ddp else 1
if ddp:
    # One process per core, 1 intra-op thread each, the global batch split between them (DistributedDataParallel
    # over gloo on 127.0.0.1). Forked after the data is loaded and before torch has run anything (no thread pool yet).
    import socket
    import torch.distributed as dist
    import torch.multiprocessing as tmp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
def run(rank):
    if ddp:
        os.environ['MASTER_ADDR'], os.environ['MASTER_PORT'] = '127.0.0.1', str(port)
        dist.init_process_group('gloo', rank=rank, world_size=world)
    torch.manual_seed(case['seed'])
    torch.set_num_threads(1 if ddp else max(1, case['workers']))
    body(rank)
    if ddp: dist.destroy_process_group()
def body(rank):
    xs, xt = torch.from_numpy(x_train), torch.from_numpy(x_test)
    if classify:
        ys, yt = torch.from_numpy(y_train[:, 0]).long(), torch.from_numpy(y_test[:, 0]).long()
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        ys, yt = torch.from_numpy(y_train), torch.from_numpy(y_test)
        loss_fn = torch.nn.MSELoss()
    shape = spec['inputShape']
    if len(shape) == 3:
        # Keras's images are channels last (n, h, w, c); torch's convolutions take (n, c, h, w).
        xs = xs.reshape(-1, *shape).permute(0, 3, 1, 2).contiguous()
        xt = xt.reshape(-1, *shape).permute(0, 3, 1, 2).contiguous()
        shape = [shape[2], shape[0], shape[1]]
    convnet = any(layer['kind'] == 'conv2d' for layer in spec['layers'])
    mods = []
    for layer in spec['layers']:
        kind = layer['kind']
        if kind == 'dropout':
            mods.append(torch.nn.Dropout(layer['rate']))
            continue
        if kind == 'maxpool2d':
            mods.append(torch.nn.MaxPool2d(tuple(layer['poolSize'])))
            shape = [shape[0], shape[1] // layer['poolSize'][0], shape[2] // layer['poolSize'][1]]
            continue
        if kind == 'flatten':
            mods.append(torch.nn.Flatten())
            shape = [int(np.prod(shape))]
            continue
        if kind == 'conv2d':
            k = layer['kernelSize']
            mods.append(torch.nn.Conv2d(shape[0], layer['filters'], tuple(k)))
            shape = [layer['filters'], shape[1] - k[0] + 1, shape[2] - k[1] + 1]
        else:
            lin = torch.nn.Linear(shape[0], layer['units'])
            if not convnet:
                torch.nn.init.xavier_uniform_(lin.weight)
                torch.nn.init.zeros_(lin.bias)
            mods.append(lin)
            shape = [layer['units']]
        act = layer['activation']
        if act == 'relu': mods.append(torch.nn.ReLU())
        elif act == 'tanh': mods.append(torch.nn.Tanh())
        # softmax is folded into CrossEntropyLoss; linear needs nothing
    model = torch.nn.Sequential(*mods)
    net = torch.nn.parallel.DistributedDataParallel(model) if ddp else model
    if spec['optimizer'] == 'adam':
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)

    def stop(steps, timed_start):
        """over(), agreed between the DDP processes (every 8 steps: each process's clock differs a little)."""
        if not ddp: return over(steps, timed_start)
        if case['maxSteps'] > 0 and steps >= case['maxSteps']: return True
        if steps % 8: return False
        flag = torch.tensor([1.0 if out_of_time(timed_start) else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return flag.item() > 0

    def train(x, y, timed_start=None):
        """One epoch, cut short by over() when timed_start is given; returns steps, mean loss and its times."""
        net.train()
        t0 = time.perf_counter()
        perm = torch.randperm(x.shape[0])
        first = last = t0
        steps, total, rows = 0, 0.0, 0
        for start in range(0, x.shape[0], batch):
            if steps == 0: first = time.perf_counter()
            idx = perm[start:start + batch]
            if ddp: idx = idx.tensor_split(world)[rank]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            steps += 1
            total += loss.item() * len(idx)
            rows += len(idx)
            last = time.perf_counter()
            if timed_start is not None and stop(steps, timed_start): break
        if ddp:
            sums = torch.tensor([total, float(rows)], dtype=torch.float64)
            dist.all_reduce(sums)
            total, rows = sums.tolist()
        return steps, total / rows, first, last, t0

    warm = case['warmupSteps'] * batch
    trained = train(xs[:warm], ys[:warm])[0]
    epoch_seconds, steps_timed, final_loss = [], 0, float('nan')
    timed_start = time.perf_counter()
    for e in range(case['epochs']):
        if e > 0 and out_of_time(timed_start): break
        steps, final_loss, first, last, t0 = train(xs, ys, timed_start)
        end = time.perf_counter()
        epoch_seconds.append((first - t0) + (end - last) + (last - first) / steps * steps_per_epoch)
        steps_timed += steps
        trained += steps
    if rank > 0: return
    model.eval()
    with torch.no_grad():
        # In chunks: the convnet's first activations for 10,000 images would take 865 MB at once.
        out = torch.cat([model(xt[i:i + 1000]) for i in range(0, xt.shape[0], 1000)])
        test_loss = loss_fn(out, yt).item()
        test_metric = (out.argmax(1) == yt).float().mean().item() if classify else (out - yt).abs().mean().item()
    emit(epoch_seconds, steps_timed, trained, final_loss, test_loss, test_metric,
         dict(backend='torch-cpu', torch=torch.__version__, threads=torch.get_num_threads(), processes=world,
              mode='DistributedDataParallel (gloo, 127.0.0.1)' if ddp else 'threads',
              env={k: os.environ.get(k) for k in PEER_ENV_KEYS}), None)
if ddp:
    tmp.start_processes(run, nprocs=world, start_method='fork')
else:
    run(0)
`;

const SKLEARN_SCRIPT =
  PRELUDE +
  String.raw`
import warnings
import sklearn
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits
warnings.filterwarnings('ignore')
dense = [l for l in spec['layers'] if l['kind'] == 'dense']
hidden = tuple(l['units'] for l in dense[:-1])
acts = sorted(set(l['activation'] for l in dense[:-1]))
common = dict(hidden_layer_sizes=hidden, activation='relu', solver='adam', alpha=0.0, batch_size=batch,
              learning_rate_init=1e-3, shuffle=True, random_state=case['seed'])
model = MLPClassifier(**common) if classify else MLPRegressor(**common)
y_fit = y_train[:, 0].astype(np.int64) if classify else y_train[:, 0]
classes = np.arange(dense[-1]['units']) if classify else None
rng = np.random.default_rng(case['seed'])

def partial(x, y):
    if classify: model.partial_fit(x, y, classes=classes)
    else: model.partial_fit(x, y)

with threadpool_limits(limits=max(1, case['workers'])):
    warm = case['warmupSteps'] * batch
    partial(x_train[:warm], y_fit[:warm])
    trained = -(-min(warm, raw['trainRows']) // batch)
    epoch_seconds, steps_timed, final_loss = [], 0, float('nan')
    timed_start = time.perf_counter()
    for e in range(case['epochs']):
        if e > 0 and out_of_time(timed_start): break
        if 0 < case['maxSteps'] < steps_per_epoch or case['maxSeconds'] > 0 and case['maxSteps'] == 0:
            # Cut short: one partial_fit over the first n rows of a shuffled order, n = maxSteps batches, fewer when
            # a one-batch probe says maxSeconds would be exceeded; s/epoch = its time per step * steps per epoch.
            order = rng.permutation(raw['trainRows'])
            t0 = time.perf_counter()
            partial(x_train[order[:batch]], y_fit[order[:batch]])
            per_step = time.perf_counter() - t0
            trained += 1
            steps = case['maxSteps'] if case['maxSteps'] > 0 else steps_per_epoch
            if case['maxSeconds'] > 0: steps = min(steps, max(1, int((case['maxSeconds'] - (time.perf_counter() - timed_start)) / max(per_step, 1e-9))))
            steps = min(steps, steps_per_epoch)
            idx = order[:steps * batch]
            t0 = time.perf_counter()
            partial(x_train[idx], y_fit[idx])
            seconds = (time.perf_counter() - t0) / steps * steps_per_epoch
        else:
            t0 = time.perf_counter()
            partial(x_train, y_fit)
            steps, seconds = steps_per_epoch, time.perf_counter() - t0
        epoch_seconds.append(seconds)
        steps_timed += steps
        trained += steps
        final_loss = model.loss_
    if classify:
        proba = model.predict_proba(x_test)
        yt = y_test[:, 0].astype(np.int64)
        test_loss = -np.mean(np.log(np.clip(proba[np.arange(len(yt)), yt], 1e-7, 1)))
        test_metric = np.mean(proba.argmax(1) == yt)
    else:
        pred = model.predict(x_test)
        test_loss = np.mean((pred - y_test[:, 0]) ** 2)
        test_metric = np.mean(np.abs(pred - y_test[:, 0]))
note = 'Adam (no RMSprop in sklearn), no dropout, L2 alpha 0, hidden activation relu' + (' (spec: ' + '/'.join(acts) + ')' if acts != ['relu'] and acts else '')
emit(epoch_seconds, steps_timed, trained, final_loss, test_loss, test_metric,
     dict(backend='sklearn', sklearn=sklearn.__version__, numpy=np.__version__, threads=max(1, case['workers'])), note)
`;

export const PYTHON_SCRIPTS = { torch: TORCH_SCRIPT, sklearn: SKLEARN_SCRIPT } as const;

/** Runs one python peer case (runner 'torch' or 'sklearn') in its own python process. */
export function runPythonCase(python: string, spec: CaseSpec, raw: RawData, timeoutMs: number): Promise<CaseResult> {
  if (spec.runner !== 'torch' && spec.runner !== 'sklearn') throw new Error(`not a python runner: ${spec.runner}`);
  const config = JSON.stringify({ spec: MODELS[spec.model], case: spec, raw });
  return runChild(python, ['-c', PYTHON_SCRIPTS[spec.runner], config], timeoutMs, peerEnv());
}
