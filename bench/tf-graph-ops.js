/**
 * Per-call time of the sacl-au/tf maxRelative at the SACL shape (B 16, N 18, K 9), forward and
 * forward+backward (tf.grad), on tfjs cpu and wasm with the sacl-au kernels (as initTf registers them): the kernel path (SaclMaxRelative through runKernel)
 * beside the former path (public op on dataSync copies, tf.customGrad), written out here.
 *   node bench/tf-graph-ops.js [--threads n] [--runs n]
 * Prints wall median and process CPU time per call (user + system, all threads: on a shared machine the
 * CPU time is the steadier figure).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as lib from '../dist/index.js';
import { knnGraph, maxRelative, registerFastKernels } from '../dist/tf/index.js';

const { values } = parseArgs({ options: { threads: { type: 'string' }, runs: { type: 'string', default: '900' } } });
if (values.threads) lib.setNumThreads(Number(values.threads));
const calls = Number(values.runs);

const f32 = (t) => ({ shape: t.shape, data: t.dataSync() });
const up = (t, dtype) => tf.tensor(t.data, t.shape.slice(), dtype);
function legacyMaxRelative(x, idx) {
  const graph = f32(idx);
  return tf.customGrad((xt, save) => {
    const r = lib.maxRelative(f32(xt), graph);
    save([up(r.argmax, 'int32')]);
    return { value: up(r.out, 'float32'), gradFunc: (dy, [am]) => up(lib.maxRelativeGrad(f32(dy), graph, f32(am)), 'float32') };
  })(x);
}

/** Median wall µs and median CPU µs per call over 9 batches of calls/9 calls, after a warm-up. */
function time(f) {
  for (let i = 0; i < Math.min(500, calls); i++) f();
  const per = Math.max(1, Math.round(calls / 9));
  const wall = [];
  const cpu = [];
  for (let r = 0; r < 9; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < per; i++) f();
    wall.push(Number(process.hrtime.bigint() - t0) / per / 1e3);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / per);
  }
  const med = (a) => a.sort((p, q) => p - q)[4];
  return { wall: med(wall), cpu: med(cpu) };
}

const B = 16;
const N = 18;
const K = 9;
console.log(`# sacl-au/tf maxRelative per call, B ${B} N ${N} K ${K}; threads ${lib.backends().find((b) => b.name === 'cpu')?.threads ?? '-'}; ${new Date().toISOString()}`);
console.log('backend  C    pass     path     wall µs   CPU µs');
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  registerFastKernels(backend); // as initTf does
  for (const C of [64, 512]) {
    const x = tf.randomNormal([B, N, C], 0, 1, 'float32', 1);
    const idx = knnGraph(x, K);
    for (const pass of ['fwd', 'fwd+bwd']) {
      for (const [path, op] of [['kernel', maxRelative], ['former', legacyMaxRelative]]) {
        const run = pass === 'fwd'
          ? () => tf.dispose(op(x, idx))
          : () => tf.dispose(tf.grad((a) => tf.sum(op(a, idx)))(x));
        const t = time(run);
        console.log(`${backend.padEnd(8)} ${String(C).padEnd(4)} ${pass.padEnd(8)} ${path.padEnd(8)} ${t.wall.toFixed(1).padStart(7)}  ${t.cpu.toFixed(1).padStart(7)}`);
      }
    }
    tf.dispose([x, idx]);
  }
}
