/**
 * The training step of the MSPSACL model on tfjs' cpu and wasm backends, beside PyTorch's in the same run.
 *
 *   node bench/train-step.js [--model full|tiny] [--batch 16] [--threads 2 | 1,2] [--backend cpu|wasm|both]
 *                            [--steps 3] [--rounds 1] [--torch-anchor <path> | none] [--python <exe>] [--no-profile]
 *                            [--epoch-images 97000] [--gc single|concurrent] [--interleave] [--json-only]
 *
 * What is timed is the trainer's own step, trainStep() of src/train/trainer.ts: the paper's losses
 * (weighted asymmetric + dice + 0.5 × landmark), global-norm clipping at 5, SGD with Nesterov momentum 0.9
 * and weight decay 5e-4, on one whole batch (no micro-batches), learning rate 1e-3. The data are a fixed
 * random batch (images N(0, 1), labels Bernoulli(0.3), all labels known, landmarks uniform in
 * [0.3 s, 0.7 s]) instead of the loader's (decoding and augmentation are not timed).
 *
 * Every (backend, threads) configuration runs in its own child process (one after another), so its peak
 * RSS (VmHWM of /proc/self/status) is its own; that process runs with node --single-threaded-gc, as the
 * sacl-au CLI does (--gc concurrent: V8's default background GC threads, which take cores from the kernels); the PyTorch anchor (train_step_torch.py, outside this
 * repository: by default shared/anchors/ beside the checkout or one of its parents; skipped with a line
 * when absent) runs the same preset, batch and threads the
 * same way, when /usr/bin/python3 can import torch. Its step differs from ours in the loss (BCE + 1e-3 ×
 * MSE) and has no clipping or weight decay: a few element-wise kernels per parameter, well under 1 % of
 * the full model's step.
 *
 * --rounds R runs every configuration (ours and PyTorch's) R times, in alternating order (1, 2, 2, 1, …
 * threads), and pools the timed steps: on a shared machine one configuration's process can land in a slow
 * spell that the next one misses, which a single round reads as a change in the thread speed-up.
 * --interleave (cpu only: wasm fixes its threads when it starts) runs every thread count in one process
 * instead, step by step in turn (1, 2, 2, 1, … threads): a slow spell then falls on both, and the thread
 * speed-up reads the kernels, not the host; each thread count's timed steps are its own, its peak RSS the
 * process's.
 *
 * Per configuration: the median step time (upper median of --steps timed steps after two warm-up steps) per
 * image, effective GFLOP/s = 3 × 2 × multiply-adds of one image's forward pass (AuModel.complexity(), the
 * paper's FLOP count; the backward pass taken as twice the forward) × batch / step time, peak RSS, and one
 * step under tf.profile: kernel time per family (bench/kernel-families.js), the optimizer's update as its
 * own family, and the wall time no kernel accounts for ("outside kernels": JavaScript between kernels,
 * graph ops that do not run as tfjs kernels yet, GC). Then the BP4D epoch time at --epoch-images per
 * epoch (a BP4D fold's training part, ~97 k images). Prints tables and one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, fmt, parseCommand, printTable, upperMedian } from './harness.js';
import { FAMILIES, groupProfile } from './kernel-families.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * Untimed steps before the timed ones: the first two fault the step's memory in (full model at batch 16:
 * ~600 k, then ~100 k minor page faults, against ~1 k a step from the third on) and fill the reuse of
 * large outputs (src/tf/kernels/release.ts).
 */
const WARMUP_STEPS = 2;
const REPO = resolve(HERE, '..');

const FLAGS = {
  model: { type: 'string', default: 'full' },
  batch: { type: 'string', default: '16' },
  threads: { type: 'string' },
  backend: { type: 'string', default: 'both' },
  steps: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '1' },
  'torch-anchor': { type: 'string' },
  python: { type: 'string', default: '/usr/bin/python3' },
  'no-profile': { type: 'boolean', default: false },
  'epoch-images': { type: 'string', default: '97000' },
  gc: { type: 'string', default: 'single' },
  interleave: { type: 'boolean', default: false },
  'json-only': { type: 'boolean', default: false },
  worker: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
};

function usage() {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  return text.slice(text.indexOf('/**') + 4, text.indexOf(' */')).replace(/^ \* ?/gm, '');
}


function positive(values, name) {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} expects a positive integer, got ${JSON.stringify(values[name])}`);
  return n;
}

/** shared/anchors/train_step_torch.py beside the checkout or beside one of its parents (worktrees nest). */
function findAnchor() {
  let dir = REPO;
  for (let up = 0; up < 3; up++) {
    dir = dirname(dir);
    const file = resolve(dir, 'shared', 'anchors', 'train_step_torch.py');
    if (existsSync(file)) return file;
  }
  return resolve(REPO, '..', 'shared', 'anchors', 'train_step_torch.py');
}

function parseOptions(argv) {
  const values = parseCommand(argv, FLAGS, usage());
  if (values.worker) return { worker: JSON.parse(values.worker) };
  if (!['full', 'tiny'].includes(values.model)) fail(`--model expects full or tiny, got ${JSON.stringify(values.model)}`);
  if (!['cpu', 'wasm', 'both'].includes(values.backend)) fail(`--backend expects cpu, wasm or both, got ${JSON.stringify(values.backend)}`);
  const threads = (values.threads ?? String(os.availableParallelism())).split(',').map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) fail(`--threads expects positive integers (e.g. 2 or 1,2), got ${JSON.stringify(values.threads)}`);
    return n;
  });
  const anchor = values['torch-anchor'] ?? findAnchor();
  if (values.interleave && values.backend !== 'cpu') fail('--interleave needs --backend cpu (wasm fixes its threads when it starts)');
  return {
    model: values.model,
    batch: positive(values, 'batch'),
    threads,
    backends: values.backend === 'both' ? ['cpu', 'wasm'] : [values.backend],
    steps: positive(values, 'steps'),
    rounds: positive(values, 'rounds'),
    anchor: anchor === 'none' ? null : resolve(anchor),
    anchorGiven: values['torch-anchor'] !== undefined,
    python: values.python,
    profile: !values['no-profile'],
    epochImages: positive(values, 'epoch-images'),
    gc: values.gc === 'single' || values.gc === 'concurrent' ? values.gc : fail(`--gc expects single or concurrent, got ${JSON.stringify(values.gc)}`),
    interleave: values.interleave,
    jsonOnly: values['json-only'],
  };
}

// ---------------------------------------------------------------------------------------------------- worker

function statusMB(field) {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) / 1024 : undefined;
}

/** One configuration in this process: its result, which main() prints as one JSON line. */
async function worker({ model: variant, batch: B, threads, backend, steps, profile, interleave }) {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (backend === 'wasm') wasm.setThreadsCount(threads); // before the backend initialises; Node's wasm build may stay at 1
  const { initTf } = await import('../dist/tf/engine.js');
  const { setNumThreads } = await import('../dist/index.js');
  const { AuModel, modelConfig } = await import('../dist/model/index.js');
  const { PAPER_TRAINING, batchGradients, trainStep } = await import('../dist/train/trainer.js');
  const { NesterovSgd } = await import('../dist/train/optimizer.js');
  const { mulberry32 } = await import('./harness.js');

  // interleaved: every thread count in this process, switched between steps (threads is then a list)
  const counts = interleave ? threads : [threads];
  let addonThreads;
  try {
    setNumThreads(counts[0]);
    addonThreads = counts[0];
  } catch (e) {
    if (interleave) throw e;
    addonThreads = `not set: ${e.message}`;
  }
  const report = await initTf({ prefer: backend, force: true });
  if (report.active !== backend) throw new Error(`backend ${backend} did not start (active: ${report.active})`);

  const config = modelConfig(variant);
  const model = new AuModel(config, 1);
  const S = config.inputSize;
  const A = model.numAus;
  const macs = model.complexity().flops; // multiply-adds of one image's forward pass
  const rand = mulberry32(5);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const fill = (n, f) => Float32Array.from({ length: n }, f);
  const batch = {
    size: B,
    images: fill(B * S * S * 3, normal),
    labels: fill(B * A, () => (rand() < 0.3 ? 1 : 0)),
    mask: fill(B * A, () => 1),
    landmarks: fill(B * 98, () => (0.3 + 0.4 * rand()) * S),
    interOcular: fill(B, () => 0.3 * S),
    hasLandmarks: fill(B, () => 1),
  };
  const o = PAPER_TRAINING;
  const optimizer = new NesterovSgd({ momentum: o.momentum, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
  const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
  const weights = tf.ones([A]);
  const ctx = { model, optimizer, params, weights, lossWeights: o.lossWeights, microBatch: 0 };
  const lr = 1e-3;

  const now = () => Number(process.hrtime.bigint()) / 1e6;
  let t = now();
  let last;
  for (const n of counts) {
    if (interleave) setNumThreads(n);
    for (let i = 0; i < WARMUP_STEPS; i++) last = trainStep(ctx, batch, lr);
  }
  const warmupMs = (now() - t) / (WARMUP_STEPS * counts.length);
  const times = new Map(counts.map((n) => [n, []]));
  for (let i = 0; i < steps; i++) {
    for (const n of i % 2 ? [...counts].reverse() : counts) {
      if (interleave) setNumThreads(n);
      t = now();
      last = trainStep(ctx, batch, lr);
      times.get(n).push(now() - t);
    }
  }
  if (!Number.isFinite(last.loss)) throw new Error(`loss is ${last.loss}`);
  const peakRssMB = statusMB('VmHWM'); // before the profiled step: the timed steps' peak
  const results = [];
  for (const n of counts) {
    if (interleave) setNumThreads(n);
    const stepMs = upperMedian(times.get(n));
    results.push({
      backend, threads: n, addonThreads: interleave ? n : addonThreads, wasmThreads: backend === 'wasm' ? wasm.getThreadsCount() : undefined,
      kernels: report.kernels.length, stepMs, times: times.get(n), warmupMs, msPerImage: stepMs / B,
      gflopPerImage: (6 * macs) / 1e9, gflops: (6 * macs * B) / (stepMs * 1e6), peakRssMB, loss: last.loss, gradNorm: last.gradNorm,
      profile: profile ? await profileStep() : undefined,
    });
  }
  weights.dispose();
  optimizer.dispose();
  model.dispose();
  return interleave ? { interleaved: results } : results[0];

  /** One step under tf.profile, in its two phases (the optimizer's kernels told apart). */
  async function profileStep() {
    let t0 = now();
    const g = await tf.profile(() => batchGradients(ctx, batch));
    const gradWall = now() - t0;
    const gradKernels = [...g.kernels]; // tf.profile returns one reused object: copy before the next call
    const { grads, parts } = g.result;
    t0 = now();
    const u = await tf.profile(() => optimizer.step(params, grads, lr));
    const updateWall = now() - t0;
    parts.forEach((p) => p.dataSync());
    tf.dispose([...Object.values(grads), ...parts]);
    return groupProfile([{ phase: 'gradients', kernels: gradKernels, wallMs: gradWall }, { phase: 'optimizer', kernels: [...u.kernels], wallMs: updateWall }]);
  }
}

// ---------------------------------------------------------------------------------------------------- parent

/** Runs this script as a worker for one configuration; returns its JSON result or { error }. */
function runWorker(job) {
  // V8's concurrent GC threads compete with the kernels' threads for the cores (--gc, docs/training.md)
  const gcFlags = job.gc === 'single' ? ['--single-threaded-gc'] : [];
  const r = spawnSync(process.execPath, [...gcFlags, fileURLToPath(import.meta.url), '--worker', JSON.stringify(job)],
    { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, SACL_TF_BACKEND: job.backend } });
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status === 0 && line) return JSON.parse(line);
  const why = (r.stderr || r.stdout || `exit ${r.status} ${r.signal ?? ''}`).trim().split('\n').filter(Boolean);
  return { backend: job.backend, threads: job.threads, error: why.find((l) => /Error|error|out of bounds|abort/i.test(l)) ?? why.pop() ?? `exit ${r.status}` };
}

/** The PyTorch anchor: { skipped } with the reason, or its JSON result for this preset, batch and threads. */
function runAnchor(opts, threads, probe) {
  if (!opts.anchor) return { skipped: '--torch-anchor none' };
  if (!existsSync(opts.anchor)) return { skipped: `no PyTorch anchor at ${opts.anchor}${opts.anchorGiven ? '' : ' (pass --torch-anchor <path>)'}` };
  if (!probe.ok) return { skipped: probe.reason };
  const args = [opts.anchor, String(opts.batch), '--steps', String(opts.steps), '--threads', String(threads), '--workloads', `msp-sacl-${opts.model}`];
  const r = spawnSync(opts.python, args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  const rows = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const row = rows.find((x) => x.batch === opts.batch && !x.error);
  if (!row) return { error: rows.find((x) => x.error)?.error ?? (r.stderr.trim().split('\n').pop() || `exit ${r.status}`) };
  return row;
}

/**
 * Whether PyTorch can run, its version, and the BLAS it multiplies with: the libraries with "blas" or
 * "mkl" in their path that its process maps, and one thread's GFLOP/s on a 512² product. Debian's
 * python3-torch links the BLAS that update-alternatives selects; with only the reference BLAS installed
 * (libblas3, what python3-torch pulls in without libopenblas0) its products run ~15× slower and its
 * step is no anchor.
 */
const TORCH_PROBE = [
  'import json, time, torch, torchvision',
  'torch.set_num_threads(1)',
  'a = torch.ones(512, 512); a @ a',
  't = time.perf_counter(); n = 0',
  'while time.perf_counter() - t < 0.2:\n  a @ a; n += 1',
  'gflops = 2 * 512 ** 3 * n / (time.perf_counter() - t) / 1e9',
  "libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if len(l.split()) > 5 and ('blas' in l.lower() or 'mkl' in l.lower())})",
  "print(json.dumps({'version': torch.__version__, 'blas': libs, 'gflops1t': gflops}))",
].join('\n');

/** Why PyTorch's times are no anchor ('' when they are): it multiplies with the reference BLAS. */
function referenceBlasReason({ blas = [], gflops1t }) {
  const reference = blas.find((l) => /\/blas\/libblas\.so/.test(l));
  if (!reference || blas.some((l) => /openblas|mkl|blis|atlas/i.test(l))) return '';
  return `PyTorch multiplies with the reference BLAS (${reference}, ${fmt(gflops1t)} GFLOP/s at 1 thread on a 512² product): ` +
    'its times are no anchor (apt-get install libopenblas0-pthread)';
}

function probeTorch(opts) {
  if (!opts.anchor || !existsSync(opts.anchor)) return { ok: false };
  const r = spawnSync(opts.python, ['-c', TORCH_PROBE], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `${opts.python} did not run (${r.error.code ?? r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `${opts.python} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)` };
  const probe = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ok: true, version: probe.version, blas: probe.blas, gflops1t: probe.gflops1t, noAnchor: referenceBlasReason(probe) };
}

const hours = (msPerImage, images) => (msPerImage * images) / 3.6e6;

/**
 * One configuration's rounds as one result: every timed step pooled (their median is the step time),
 * the highest peak RSS, the first round's warm-up and profile; the first error if a round failed.
 */
function pooledRuns(results, batch) {
  const failed = results.find((r) => r.error);
  if (failed || results.length === 1) return failed ?? results[0];
  const times = results.flatMap((r) => r.times);
  const stepMs = upperMedian(times);
  const [first] = results;
  return { ...first, times, stepMs, msPerImage: stepMs / batch, gflops: (first.gflopPerImage * 1e9 * batch) / (stepMs * 1e6),
    peakRssMB: Math.max(...results.map((r) => r.peakRssMB)), roundsMs: results.map((r) => r.stepMs),
    profile: results.find((r) => r.profile)?.profile };
}

/**
 * A per-family Amdahl model from one backend's 1- and 2-thread profiled steps: each family (and the time
 * outside kernels) has a parallel share p from its own speed-up s between the two (p = 2 − 2/s, clamped
 * to [0, 1]); the step at n threads is Σ t₁·(1 − p + p/n), with t₁ the family's share of the timed
 * 1-thread step. It ignores memory bandwidth and work too small to split n ways, so it is an upper bound
 * on the speed-up; on a shared machine the two profiles are noisy.
 */
function threadModel(one, two, cores) {
  const buckets = [...FAMILIES, 'outside kernels'];
  const time = (r, f) => (f === 'outside kernels' ? r.profile.outsideMs : r.profile.families[f]) * (r.stepMs / r.profile.wallMs);
  const parts = buckets.map((f) => {
    const t1 = time(one, f);
    const t2 = time(two, f);
    const p = t1 > 0 && t2 > 0 ? Math.min(1, Math.max(0, 2 - (2 * t2) / t1)) : 0;
    return { family: f, t1, p };
  }).filter((x) => x.t1 > 0);
  const at = (n) => parts.reduce((a, x) => a + x.t1 * (1 - x.p + x.p / n), 0);
  const serialShare = parts.reduce((a, x) => a + x.t1 * (1 - x.p), 0) / at(1);
  return { parts, serialShare, stepMs: Object.fromEntries(cores.map((n) => [n, at(n)])) };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.worker) {
    try {
      console.log(JSON.stringify(await worker(opts.worker)));
    } catch (e) {
      console.error(`Error: ${e.message}`);
      process.exit(1);
    }
    return;
  }
  const log = opts.jsonOnly ? () => {} : (...a) => console.log(...a);
  const table = opts.jsonOnly ? () => {} : printTable;
  const progress = process.stderr.isTTY && !opts.jsonOnly ? (s) => process.stderr.write(`\r\x1b[K${s}`) : () => {};
  const date = new Date().toISOString();
  const cpus = os.cpus();
  const machine = { cpus: cpus.length, model: cpus[0]?.model?.trim() ?? 'unknown', node: process.version, loadavg: os.loadavg().map((l) => +l.toFixed(2)) };
  const tfjsVersion = JSON.parse(readFileSync(resolve(REPO, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version;
  const torch = probeTorch(opts);

  // every configuration once per round, the thread order reversed every other round; results pooled below
  const runs = new Map();
  const add = (key, result) => runs.set(key, [...(runs.get(key) ?? []), result]);
  for (let round = 0; round < opts.rounds; round++) {
    const of = opts.rounds > 1 ? ` (round ${round + 1} of ${opts.rounds})` : '';
    const order = round % 2 ? [...opts.threads].reverse() : opts.threads;
    if (opts.interleave) {
      for (const backend of opts.backends) {
        progress(`train-step: ${opts.model} batch ${opts.batch} on ${backend}, ${order.join(' and ')} threads in turn${of}…`);
        const r = runWorker({ model: opts.model, batch: opts.batch, threads: order, backend, steps: opts.steps,
          profile: opts.profile && round === 0, gc: opts.gc, interleave: true });
        for (const threads of order) add(`${backend}|${threads}`, r.interleaved?.find((x) => x.threads === threads) ?? { backend, threads, error: r.error });
      }
    }
    for (const threads of order) {
      if (!opts.interleave) {
        for (const backend of opts.backends) {
          progress(`train-step: ${opts.model} batch ${opts.batch} on ${backend}, ${threads} thread(s)${of}…`);
          add(`${backend}|${threads}`, runWorker({ model: opts.model, batch: opts.batch, threads, backend, steps: opts.steps,
            profile: opts.profile && round === 0, gc: opts.gc }));
        }
      }
      progress(`train-step: PyTorch anchor, ${threads} thread(s)${of}…`);
      add(`torch|${threads}`, runAnchor(opts, threads, torch));
    }
  }
  const rows = [];
  for (const threads of opts.threads) {
    for (const backend of opts.backends) rows.push({ config: `sacl-au ${backend}`, ...pooledRuns(runs.get(`${backend}|${threads}`), opts.batch) });
    const anchors = runs.get(`torch|${threads}`);
    const a = anchors.find((x) => x.skipped || x.error);
    if (a?.skipped) rows.push({ config: 'PyTorch', threads, skipped: a.skipped });
    else if (a?.error) rows.push({ config: 'PyTorch', threads, error: a.error });
    else {
      const stepMs = upperMedian(anchors.map((x) => x.stepMs));
      rows.push({ config: `PyTorch ${anchors[0].torch}`, torch: true, threads: anchors[0].threads, stepMs, msPerImage: stepMs / opts.batch,
        gflopPerImage: anchors[0].gflopPerImage, gflops: (anchors[0].gflopPerImage * opts.batch) / (stepMs / 1000),
        peakRssMB: Math.max(...anchors.map((x) => x.peakRssMB)), ...(anchors.length > 1 && { roundsMs: anchors.map((x) => x.stepMs) }) });
    }
  }
  progress('');
  // ratios to the PyTorch row of the same thread count; speed-up over 1 thread of the same config
  for (const r of rows) {
    const pt = rows.find((o) => o.torch && o.threads === r.threads && o.stepMs);
    if (pt && !r.torch && r.stepMs) {
      r.vsTorch = pt.stepMs / r.stepMs;
      r.rssVsTorch = r.peakRssMB / pt.peakRssMB;
    }
    const one = rows.find((o) => o.config === r.config && o.threads === 1 && o.stepMs);
    if (one && r.threads > 1 && r.stepMs) r.vsOneThread = one.stepMs / r.stepMs;
    if (r.msPerImage) r.epochHours = hours(r.msPerImage, opts.epochImages);
  }

  log(`# sacl-au bench: train-step   ${date}`);
  log(`# CPU: ${machine.model}, ${machine.cpus} cores, load average ${machine.loadavg.join(' ')}   node ${process.version}   tfjs ${tfjsVersion}`);
  log(`# model ${opts.model}, batch ${opts.batch} (whole), the trainer's step (trainStep), median of ${opts.steps} step(s) after ${WARMUP_STEPS} warm-up steps` +
    (opts.rounds > 1 ? `, pooled over ${opts.rounds} rounds in alternating order` : '') +
    (opts.interleave ? `; ours with every thread count in one process, step by step in turn` : ''));
  log(`# V8 GC: ${opts.gc === 'single' ? 'node --single-threaded-gc (as sacl-au\'s CLI runs; --gc concurrent for V8\'s default)' : 'V8\'s default concurrent GC threads'}`);
  log(`# PyTorch: ${torch.ok ? `torch ${torch.version} via ${opts.python}, ${opts.anchor}; BLAS ${torch.blas.join(', ') || 'not found'}, ` +
    `${fmt(torch.gflops1t)} GFLOP/s at 1 thread on a 512² product` : rows.find((r) => r.skipped)?.skipped ?? 'not run'}`);
  if (torch.noAnchor) log(`# WARNING: ${torch.noAnchor}; the × PyTorch columns are not judged`);
  log('');
  table([
    { title: 'config', get: (r) => r.config, left: true },
    { title: 'threads', get: (r) => r.threads },
    { title: 'step ms', get: (r) => fmt(r.stepMs) },
    { title: 'ms/image', get: (r) => fmt(r.msPerImage) },
    { title: 'GFLOP/s', get: (r) => fmt(r.gflops) },
    { title: 'peak RSS MB', get: (r) => fmt(r.peakRssMB) },
    { title: '× PyTorch', get: (r) => fmt(r.vsTorch) },
    { title: 'RSS/PyTorch', get: (r) => fmt(r.rssVsTorch) },
    { title: '× 1 thread', get: (r) => fmt(r.vsOneThread) },
    { title: `epoch h`, get: (r) => fmt(r.epochHours) },
    { title: 'note', get: (r) => (r.error ? `failed: ${r.error}` : r.skipped ? `skipped: ${r.skipped}`
      : r.wasmThreads !== undefined && r.wasmThreads !== r.threads ? `wasm's own kernels on ${r.wasmThreads} thread(s)` : ''), left: true },
  ], rows);
  const gflop = rows.find((r) => r.gflopPerImage)?.gflopPerImage;
  log(`\nGFLOP/s: 3 × 2 × forward multiply-adds per image (${fmt(gflop)} GFLOP per image trained) × batch / step time.`);
  log(`× PyTorch: PyTorch's step time / ours at the same threads (> 1 = faster). epoch h: ms/image × ${opts.epochImages} images (a BP4D fold's training part).`);
  log('peak RSS: VmHWM of each configuration\'s own process (PyTorch: ru_maxrss of its worker).');

  const profiled = rows.filter((r) => r.profile);
  if (profiled.length) {
    log('\nShare of the profiled step per kernel family (tf.profile; % of wall time):\n');
    const fam = [...FAMILIES, 'outside kernels'];
    table([
      { title: 'family', get: (f) => f, left: true },
      ...profiled.map((r) => ({
        title: `${r.backend}/${r.threads}t`,
        get: (f) => {
          const ms = f === 'outside kernels' ? r.profile.outsideMs : r.profile.families[f];
          return ms ? `${fmt(ms)} ms ${(100 * ms / r.profile.wallMs).toFixed(0).padStart(3)}%` : '—';
        },
      })),
    ], fam.filter((f) => profiled.some((r) => (f === 'outside kernels' ? r.profile.outsideMs : r.profile.families[f]) > 0)));
    for (const r of profiled) {
      const top = Object.entries(r.profile.byKernel).sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
      log(`\n${r.backend}/${r.threads}t: profiled step ${fmt(r.profile.wallMs)} ms wall, ${fmt(r.profile.kernelMs)} ms in kernels, ` +
        `${r.profile.customOps} custom-op calls (tf.customGrad: their own time is outside kernels); top kernels: ` +
        top.map(([n, e]) => `${n} ${fmt(e.ms)} ms (${e.calls})`).join(', '));
    }
  }
  const models = [];
  for (const backend of opts.backends) {
    const one = rows.find((r) => r.backend === backend && r.threads === 1 && r.profile);
    const two = rows.find((r) => r.backend === backend && r.threads === 2 && r.profile);
    if (one && two) models.push({ backend, ...threadModel(one, two, [32, 64]) });
  }
  if (models.length) {
    log('\nThread model (per-family Amdahl from the 1- and 2-thread profiles; an upper bound: no bandwidth limit):\n');
    table([
      { title: 'backend', get: (m) => m.backend, left: true },
      { title: 'serial share', get: (m) => `${(100 * m.serialShare).toFixed(0)}%` },
      ...[32, 64].flatMap((n) => [
        { title: `${n} cores ms/image`, get: (m) => fmt(m.stepMs[n] / opts.batch) },
        { title: `${n} cores epoch h`, get: (m) => fmt(hours(m.stepMs[n] / opts.batch, opts.epochImages)) },
      ]),
      { title: 'parallel share per family', get: (m) => m.parts.map((x) => `${x.family} ${(100 * x.p).toFixed(0)}%`).join(', '), left: true },
    ], models);
  }
  const targets = [];
  const full = opts.model === 'full' && opts.batch === 16;
  for (const r of rows.filter((o) => !o.torch && o.stepMs)) {
    if (r.vsTorch !== undefined && torch.noAnchor) targets.push(`${r.config}/${r.threads}t per image ≤ PyTorch's: not judged (PyTorch on the reference BLAS)`);
    else if (r.vsTorch !== undefined) targets.push(`${r.config}/${r.threads}t per image ≤ PyTorch's: ${r.vsTorch >= 1 ? '✓' : '✗'} (${fmt(r.vsTorch)}×)`);
    if (r.rssVsTorch !== undefined) targets.push(`${r.config}/${r.threads}t peak RSS ≤ 1.25× PyTorch's: ${r.rssVsTorch <= 1.25 ? '✓' : '✗'} (${fmt(r.rssVsTorch)}×)`);
    if (r.vsOneThread !== undefined) targets.push(`${r.config}/${r.threads}t ≥ 1.8× 1 thread: ${r.vsOneThread >= 1.8 ? '✓' : '✗'} (${fmt(r.vsOneThread)}×)`);
  }
  if (targets.length) log(`\nIssue 14 targets${full ? '' : ' (they are set for --model full --batch 16)'}:\n  ${targets.join('\n  ')}`);
  log('');
  console.log(JSON.stringify({ bench: 'train-step', date, machine, versions: { tfjs: tfjsVersion, torch: torch.version }, torchBlas: torch.ok ? { libraries: torch.blas, gflops1t: torch.gflops1t, noAnchor: torch.noAnchor || undefined } : undefined, options: { model: opts.model,
    batch: opts.batch, threads: opts.threads, backends: opts.backends, steps: opts.steps, rounds: opts.rounds, interleave: opts.interleave, epochImages: opts.epochImages, anchor: opts.anchor },
  results: rows, threadModel: models }));
}

await main();
