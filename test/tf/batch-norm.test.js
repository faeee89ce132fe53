/**
 * The fused training-mode BatchNorm (src/tf/fused.ts batchNormTraining; kernels SaclBatchNorm /
 * SaclBatchNormGrad on the native addon), with and without the fused ReLU: forward (y, mean, biased
 * variance) and backward (dx, dgamma, dbeta, including the gradients that reach the statistics) against a
 * float64 oracle written here, on edge shapes (1 row, 1 channel, odd sizes, many row blocks) and on data
 * with a large mean (where E[x²] − E[x]² in float32 loses every digit); against the composite of stock ops
 * through tf.grads; the same bits for 1 and 2 threads; on wasm the same bits as on cpu; the composite where
 * the kernel is missing; bad input refused with a clear message; no tensor leaked.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from '../../dist/tf/index.js';
import { batchNormTraining, batchNormTrainingComposite } from '../../dist/tf/fused.js';
import { SaclBatchNorm, SaclBatchNormGrad } from '../../dist/tf/kernel-names.js';
import { assertBitIdentical, assertClose, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite } from '../helpers/kernels.js';
import { Rng, numel } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('fused BatchNorm kernels (training mode)');

const EPS = 1e-5;

/**
 * float64 BatchNorm over [rows, C] (from float32 inputs): the forward outputs, and for upstream gradients
 * (dy, dMean, dVar) of (y, mean, var) the gradients of x, gamma, beta, by the chain rule written out.
 * passes[i], when given, says which elements the ReLU lets through (the kernel's choice, for ties at 0).
 */
function oracle(x, rows, C, gamma, beta, relu, dy, dMean, dVar, passes = null) {
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) mean[c] += x[r * C + c];
  for (let c = 0; c < C; c++) mean[c] /= rows;
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) variance[c] += (x[r * C + c] - mean[c]) ** 2;
  for (let c = 0; c < C; c++) variance[c] /= rows;
  const rstd = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + EPS));
  const y = new Float64Array(rows * C);
  const g = new Float64Array(rows * C); // dy through the ReLU
  const dGamma = new Float64Array(C);
  const dBeta = new Float64Array(C);
  for (let i = 0; i < rows * C; i++) {
    const c = i % C;
    const z = (x[i] - mean[c]) * rstd[c] * gamma[c] + beta[c];
    y[i] = relu ? Math.max(z, 0) : z;
    g[i] = relu && !(passes ? passes[i] : z > 0) ? 0 : dy[i];
    dBeta[c] += g[i];
    dGamma[c] += g[i] * (x[i] - mean[c]) * rstd[c];
  }
  // dx = r·(γg − mean(γg) − x̂·mean(γg·x̂)) + dMean/N + dVar·2(x − μ)/N
  const dx = new Float64Array(rows * C);
  for (let i = 0; i < rows * C; i++) {
    const c = i % C;
    const xhat = (x[i] - mean[c]) * rstd[c];
    dx[i] = rstd[c] * gamma[c] * (g[i] - dBeta[c] / rows - xhat * dGamma[c] / rows) + dMean[c] / rows + (dVar[c] * 2 * (x[i] - mean[c])) / rows;
  }
  return { y, mean, variance, rstd, dx, dGamma, dBeta };
}

/** The fused op and its gradients for upstream gradients dy, dMean, dVar (as a weighted loss). */
function fusedRun(xs, shape, gs, bs, relu, dy, dMean, dVar, op = batchNormTraining) {
  return tf.tidy(() => {
    const C = shape[shape.length - 1];
    const [x, gamma, beta] = [tf.tensor(xs, shape), tf.tensor1d(gs), tf.tensor1d(bs)];
    const f = (x, gamma, beta) => {
      const r = op(x, gamma, beta, { eps: EPS, relu });
      return tf.addN([tf.sum(tf.mul(r.y, tf.tensor(dy, shape))), tf.sum(tf.mul(r.mean, tf.tensor1d(dMean))), tf.sum(tf.mul(r.variance, tf.tensor1d(dVar)))]);
    };
    const { y, mean, variance } = op(x, gamma, beta, { eps: EPS, relu });
    const [dx, dGamma, dBeta] = tf.grads(f)([x, gamma, beta]);
    const out = { y, mean, variance, dx, dGamma, dBeta };
    assert.equal(mean.shape, [C]);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dataSync().slice()]));
  });
}

/** [shape, mean, spread] cases; the large means make E[x²] − E[x]² useless in float32. */
const CASES = [
  [[1, 1], 0, 1], [[2, 1], 0, 1], [[5, 1], 0.5, 2], [[1, 7], 0, 1], [[3, 5, 7], 0, 1], [[2, 3, 1, 9], -2, 3],
  [[4, 3137, 3], 0, 1], [[2, 56, 56, 32], 0.3, 1.5], [[70001, 2], 1, 1], [[8, 12, 12, 24], 1000, 0.01], [[33, 257], -3e4, 1],
];

function caseData(shape, mu, spread, seed) {
  const rng = new Rng(seed);
  const n = numel(shape);
  const C = shape[shape.length - 1];
  return {
    xs: Float32Array.from({ length: n }, () => mu + spread * rng.normal()),
    gs: Float32Array.from({ length: C }, () => rng.uniform(0.5, 1.5) * (rng.next() < 0.2 ? -1 : 1)),
    bs: Float32Array.from({ length: C }, () => rng.uniform(-0.5, 0.5)),
    dy: Float32Array.from({ length: n }, () => rng.uniform(-1, 1)),
    dMean: Float32Array.from({ length: C }, () => rng.uniform(-1, 1)),
    dVar: Float32Array.from({ length: C }, () => rng.uniform(-1, 1)),
  };
}

test('forward and backward against the float64 oracle (edge shapes, large means, with and without ReLU)', () => {
  CASES.forEach(([shape, mu, spread], k) => {
    for (const relu of [false, true]) {
      const d = caseData(shape, mu, spread, 100 + k);
      const C = shape[shape.length - 1];
      const rows = numel(shape) / C;
      const got = fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar);
      const at = `${JSON.stringify(shape)} mean ${mu} relu ${relu}`;
      let want = oracle(d.xs, rows, C, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar);
      assertClose(got.mean, want.mean, { rtol: 1e-7, atol: 1e-7 * spread }, `mean ${at}`);
      assertClose(got.variance, want.variance, { rtol: 2e-6, atol: 0 }, `variance ${at}`);
      // the mean is stored in float32 (as in PyTorch and tfjs): x − mean is off by up to its rounding,
      // 2^−24·|mean|, which a large mean over a small spread makes visible (1000 ± 0.01: ~3e-3 of x̂)
      const meanUlps = Float64Array.from(want.mean, (m, c) => 2 ** -24 * Math.abs(m) * want.rstd[c]);
      // per element: the rounding of x − mean, the scale and the sum, in units of the normalized value
      const tolY = Float64Array.from(want.y, (_, i) => (1e-6 + 2 * meanUlps[i % C]) * Math.abs(d.gs[i % C]) +
        1e-6 * (Math.abs((d.xs[i] - want.mean[i % C]) * want.rstd[i % C] * d.gs[i % C]) + Math.abs(d.bs[i % C])));
      if (relu) {
        // the ReLU may decide otherwise only where the normalized value is 0 to within the tolerance
        const passes = Array.from(got.y, (v) => v > 0);
        passes.forEach((p, i) => {
          const z = (d.xs[i] - want.mean[i % C]) * want.rstd[i % C] * d.gs[i % C] + d.bs[i % C];
          if (p !== z > 0 && Math.abs(z) > tolY[i]) assert.unreachable(`ReLU mask at ${i} (${at}): z ${z}, y ${got.y[i]}`);
        });
        want = oracle(d.xs, rows, C, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar, passes);
      }
      assertClose(got.y, want.y, { rtol: 0, atol: tolY }, `y ${at}`);
      const scale = (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      assertClose(got.dBeta, want.dBeta, { rtol: 0, atol: 1e-6 * Math.sqrt(rows) + 1e-6 }, `dBeta ${at}`);
      const meanErr = Math.max(...meanUlps);
      assertClose(got.dGamma, want.dGamma, { rtol: 0, atol: (2e-6 + 2 * meanErr) * rows + 1e-6 }, `dGamma ${at}`);
      // dx: its terms are O(r·|dy|) and cancel
      const big = Math.max(...Array.from(want.rstd, (r, c) => r * Math.abs(d.gs[c]))) * (1 + scale(d.dMean) + scale(d.dVar));
      assertClose(got.dx, want.dx, { rtol: 0, atol: (2e-6 + 4 * meanErr) * big }, `dx ${at}`);
    }
  });
});

test('forward and gradients equal the composite of stock ops (tf.moments + arithmetic + tf.relu)', () => {
  CASES.filter(([, mu]) => Math.abs(mu) < 100).forEach(([shape, mu, spread], k) => {
    for (const relu of [false, true]) {
      const d = caseData(shape, mu, spread, 200 + k);
      const ours = fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar);
      const stock = fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar,
        (x, g, b, o) => batchNormTrainingComposite(x, g, b, { eps: o.eps, relu: o.relu }));
      for (const key of Object.keys(ours)) {
        const ref = stock[key];
        const mag = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        assertClose(ours[key], ref, { rtol: 0, atol: 1e-4 * (mag || 1) }, `${key} ${JSON.stringify(shape)} relu ${relu}`);
      }
    }
  });
});

test('the same bits for 1 and 2 threads (forward and backward, many row blocks)', () => {
  for (const [shape, relu] of [[[2, 112, 112, 32], true], [[40001, 3], false], [[3, 1000, 1], false]]) {
    const d = caseData(shape, 0.5, 2, 7);
    assertSameBitsForThreads(() => fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar), JSON.stringify(shape));
  }
  // ±1e18 at the ends of each channel, which cancel: the small values that the statistics' double sums
  // keep then depend on how the rows are grouped (a block size that followed the thread count fails here)
  const shape = [5000, 64];
  const d = caseData(shape, 0, 1, 17);
  for (let c = 0; c < 64; c++) {
    d.xs[c] = 1e18;
    d.xs[4999 * 64 + c] = -1e18;
  }
  assertSameBitsForThreads(() => fusedRun(d.xs, shape, d.gs, d.bs, false, d.dy, d.dMean, d.dVar), '(outliers)');
});

test('a step runs the two kernels only, and leaks no tensor', async () => {
  const x = tf.randomNormal([2, 6, 6, 5]);
  const gamma = tf.ones([5]);
  const beta = tf.zeros([5]);
  const before = tf.memory().numTensors;
  const info = await tf.profile(() => tf.tidy(() => tf.grads((x, g, b) => tf.sum(batchNormTraining(x, g, b, { relu: true }).y))([x, gamma, beta])));
  info.result.forEach((t) => t.dispose());
  assert.ok(info.kernelNames.includes(SaclBatchNorm) && info.kernelNames.includes(SaclBatchNormGrad), info.kernelNames.join(', '));
  for (const stock of ['Mean', 'Rsqrt', 'Relu', 'Step']) assert.not.ok(info.kernelNames.includes(stock), `${stock} in ${info.kernelNames.join(', ')}`);
  assert.is(tf.memory().numTensors, before);
  tf.dispose([x, gamma, beta]);
});

test('without the kernel (another backend, no addon) the composite runs', () => {
  const d = caseData([4, 3, 2], 0, 1, 9);
  const ours = fusedRun(d.xs, [4, 3, 2], d.gs, d.bs, true, d.dy, d.dMean, d.dVar);
  const config = tf.getKernel(SaclBatchNorm, 'cpu');
  tf.unregisterKernel(SaclBatchNorm, 'cpu');
  try {
    const fallback = fusedRun(d.xs, [4, 3, 2], d.gs, d.bs, true, d.dy, d.dMean, d.dVar);
    const composite = fusedRun(d.xs, [4, 3, 2], d.gs, d.bs, true, d.dy, d.dMean, d.dVar,
      (x, g, b, o) => batchNormTrainingComposite(x, g, b, { eps: o.eps, relu: o.relu }));
    for (const key of Object.keys(ours)) {
      assertBitIdentical(fallback[key], composite[key], key);
      assertClose(fallback[key], ours[key], { rtol: 1e-4, atol: 1e-5 }, key);
    }
  } finally {
    tf.registerKernel(config);
  }
});

test('wasm: the same kernels, the same bits as cpu', async () => {
  const shape = [3, 17, 19, 6];
  const d = caseData(shape, 0.2, 1.3, 12);
  const cpu = [false, true].map((relu) => fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar));
  assert.ok(await tf.setBackend('wasm'));
  try {
    assert.ok(registerFastKernels('wasm').includes(SaclBatchNorm));
    [false, true].forEach((relu, i) => {
      const wasm = fusedRun(d.xs, shape, d.gs, d.bs, relu, d.dy, d.dMean, d.dVar);
      for (const key of Object.keys(wasm)) assertBitIdentical(wasm[key], cpu[i][key], `${key} relu ${relu}`);
    });
  } finally {
    await tf.setBackend('cpu');
  }
});

test('bad input: a clear error naming the argument', () => {
  const x = tf.zeros([2, 3]);
  const g3 = tf.ones([3]);
  const g2 = tf.ones([2]);
  const i3 = tf.ones([3], 'int32');
  assertThrowsWith(() => batchNormTraining(x, g2, g3), RangeError, [/^Expected \[3\] \(x's last axis\) for gamma\.shape but received \[2\]$/]);
  assertThrowsWith(() => batchNormTraining(x, g3, i3), TypeError, [/^Expected "float32" for beta\.dtype but received "int32"$/]);
  assertThrowsWith(() => batchNormTraining(x, g3, g3, { eps: 0 }), RangeError, [/^Expected a finite number > 0 for options\.eps but received 0$/]);
  assertThrowsWith(() => batchNormTraining(x, g3, g3, { relu: 1 }), TypeError, [/^Expected a boolean for options\.relu but received 1$/]);
  const empty = tf.zeros([0, 3]);
  assertThrowsWith(() => batchNormTraining(empty, g3, g3), RangeError, [/^Expected rank ≥ 1 \[\.\.\., C\] with no size 0 for x\.shape but received \[0, 3\]$/]);
  tf.dispose([x, g3, g2, i3, empty]);
  const f = (n) => new Float32Array(n);
  const fwd = (over = {}) => Object.assign({ x: f(6), rows: 2, C: 3, gamma: f(3), beta: f(3), eps: 1e-5, relu: false, y: f(6), mean: f(3), variance: f(3) }, over);
  const bwd = (over = {}) => Object.assign({
    dy: f(6), x: f(6), y: null, rows: 2, C: 3, gamma: f(3), mean: f(3), variance: f(3), dMean: null, dVariance: null, eps: 1e-5,
    relu: false, dx: f(6), dGamma: f(3), dBeta: f(3),
  }, over);
  assertThrowsWith(() => addon.batchNorm(fwd({ y: f(5) })), RangeError, [/^Expected 6 \(rows·C\) for y\.length but received 5$/]);
  assertThrowsWith(() => addon.batchNorm(fwd({ gamma: f(2) })), RangeError, [/^Expected 3 \(C\) for gamma\.length but received 2$/]);
  assertThrowsWith(() => addon.batchNorm(fwd({ rows: 0 })), RangeError, [/for rows but received 0$/]);
  assertThrowsWith(() => addon.batchNormGrad(bwd({ relu: true })), TypeError,
    [/^Expected a Float32Array \(the forward output\) with relu for y but received null$/]);
  assertThrowsWith(() => addon.batchNormGrad(bwd({ dMean: f(2) })), RangeError, [/^Expected 3 \(C\) for dMean\.length but received 2$/]);
  // null statistics gradients are zeros
  const rng = new Rng(4);
  const xs = Float32Array.from({ length: 6 }, () => rng.normal());
  const [m, v] = [f(3), f(3)];
  addon.batchNorm(fwd({ x: xs, gamma: Float32Array.of(1, 2, 3), mean: m, variance: v }));
  const dy = Float32Array.from({ length: 6 }, () => rng.normal());
  const run = (dMean, dVariance) => {
    const out = { dx: f(6), dGamma: f(3), dBeta: f(3) };
    addon.batchNormGrad(bwd(Object.assign({ dy, x: xs, gamma: Float32Array.of(1, 2, 3), mean: m, variance: v, dMean, dVariance }, out)));
    return Object.values(out);
  };
  run(null, null).forEach((a, i) => assertBitIdentical(a, run(f(3), f(3))[i]));
});

test.run();
