/**
 * How the native memory-bound kernels scale from 1 to 2 threads on the shapes of a full-model training
 * step (batch 16): same-shape and broadcast element-wise arithmetic, long copies (the MSFL token concat,
 * a channel slice), reductions to a few outputs, a transpose, a LayerNorm with its gradient. Each case is timed at 1 and 2 threads in
 * alternation, so both see the same machine load; prints a table (median ms each, speed-up) and one JSON
 * line.   node bench/thread-scaling.js [--quick]
 *
 * These kernels stream memory: on a machine whose bandwidth one core nearly fills, 2 threads gain little
 * (a same-shape add of [16,3154,960]: ~1.2× on the development machine of sessions 8–10, 1.7× on
 * session 11's), while compute-bound kernels gain ~1.9×. Few runs per case: on a busy host, repeat it. A speed-up under 1 means
 * threads get in each other's way (shared cache lines, one thread doing the work while the other waits).
 */
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { setNumThreads } from '../dist/index.js';
import { loadNative } from '../dist/backends/native.js';
import { registerFastKernels } from '../dist/tf/index.js';
import { fmt, measure, printTable, randomTensor, upperMedian } from './harness.js';

const quick = process.argv.includes('--quick');
const timing = quick ? { budgetMs: 150, maxRuns: 10, minRuns: 3, warmups: 1 } : { budgetMs: 800, maxRuns: 100, minRuns: 7, warmups: 2 };
const ROUNDS = quick ? 1 : 3;

/** [label, input shapes, op on the inputs] at the full model's shapes. */
const CASES = [
  ['add, same shape [16,3154,960]', [[16, 3154, 960], [16, 3154, 960]], (a, b) => tf.add(a, b)],
  ['add, same shape [16,56,56,64]', [[16, 56, 56, 64], [16, 56, 56, 64]], (a, b) => tf.add(a, b)],
  ['add, bias [50176,64] + [64]', [[50176, 64], [64]], (a, b) => tf.add(a, b)],
  ['multiply, same shape [16,56,56,64]', [[16, 56, 56, 64], [16, 56, 56, 64]], (a, b) => tf.mul(a, b)],
  ['concat tokens [16,3136,960] ‖ [16,18,960]', [[16, 3136, 960], [16, 18, 960]], (a, b) => tf.concat([a, b], 1)],
  ['slice channels [50176,960] → [50176,512]', [[50176, 960]], (a) => tf.slice(a, [0, 448], [-1, 512])],
  ['transpose [16,3136,64] → [16,64,3136]', [[16, 3136, 64]], (a) => tf.transpose(a, [0, 2, 1])],
  ['sum [16,784,49,2] → [2]', [[16, 784, 49, 2]], (a) => tf.sum(a, [0, 1, 2])],
  ['sum [50176,64] → [64]', [[50176, 64]], (a) => tf.sum(a, 0)],
  ['sum [16,3154,960] → [960]', [[16, 3154, 960]], (a) => tf.sum(a, [0, 1])],
  ['layerNorm gradient [50176,64] (addon call)', [[50176, 64]], layerNormGradient],
  ['layerNorm gradient [50464,960] (addon call)', [[50464, 960]], layerNormGradient],
];

/**
 * The addon's LayerNorm backward alone (dx, and dγ, dβ from per-chunk partials) on x's shape: through
 * tfjs, its forward, the product with dy and the gradient's own tensors would be most of the time.
 */
function layerNormGradient(x) {
  let args = gradientArgs.get(x);
  if (!args) {
    const [rows, n] = x.shape;
    const values = x.dataSync();
    args = { dy: values, x: values, mean: new Float32Array(rows), rstd: new Float32Array(rows).fill(1), gamma: new Float32Array(n).fill(1),
      rows, n, dx: new Float32Array(rows * n), dgamma: new Float32Array(n), dbeta: new Float32Array(n) };
    gradientArgs.set(x, args);
  }
  loadNative().addon.layerNormGrad(args);
  return [];
}
const gradientArgs = new WeakMap(); // per input tensor: the arrays, made once outside the timing

await tf.setBackend('cpu');
if (!registerFastKernels('cpu').includes('Add')) throw new Error('the native addon is not loaded: build it first (npm run build:native)');

const rows = [];
for (const [label, shapes, op] of CASES) {
  const inputs = shapes.map((s, i) => {
    const { data } = randomTensor(s, i + 1);
    return tf.tensor(data, s);
  });
  const fn = () => tf.dispose(op(...inputs));
  const ms = { 1: [], 2: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of r % 2 ? [2, 1] : [1, 2]) {
      setNumThreads(t);
      ms[t].push((await measure(fn, timing, quick)).medianMs);
    }
  }
  tf.dispose(inputs);
  const bytes = (shapes.reduce((n, s) => n + s.reduce((p, d) => p * d, 1), 0)) * 4;
  rows.push({ case: label, ms1: upperMedian(ms[1]), ms2: upperMedian(ms[2]), inputMB: bytes / 2 ** 20 });
}
setNumThreads(os.availableParallelism());
for (const r of rows) r.speedup = r.ms1 / r.ms2;

console.log(`# sacl-au bench: thread-scaling   ${new Date().toISOString()}`);
console.log(`# CPU: ${os.cpus()[0]?.model?.trim()}, ${os.cpus().length} cores   node ${process.version}   tfjs ${tf.version.tfjs}\n`);
printTable([
  { title: 'case', get: (r) => r.case, left: true },
  { title: 'input MB', get: (r) => fmt(r.inputMB) },
  { title: '1 thread ms', get: (r) => fmt(r.ms1) },
  { title: '2 threads ms', get: (r) => fmt(r.ms2) },
  { title: '× 1 thread', get: (r) => r.speedup.toFixed(2) },
], rows);
console.log('\n× 1 thread: 1-thread ms / 2-thread ms (medians of alternating rounds); > 1: 2 threads are faster.');
console.log(JSON.stringify({ bench: 'thread-scaling', date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model?.trim(), node: process.version },
  options: { quick, rounds: ROUNDS, ...timing }, results: rows }));
