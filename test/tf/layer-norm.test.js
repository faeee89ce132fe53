/**
 * The fused LayerNorm (src/tf/fused.ts layerNorm, kernels in src/tf/kernels/layer-norm.ts on
 * native/cpu/layer_norm.cc): forward (y, mean, rstd) and backward (dx, dγ, dβ) against a float64 oracle
 * written here, with and without γ/β, on edge shapes (one row, one column, odd sizes, no rows, many row
 * chunks, rows split into column blocks, rows wide enough for the separate dγ/dβ pass, a large mean);
 * against the stock-op composite through tf.grad; the same bits for 1 and 2 threads and on wasm as on
 * cpu; the composite used where the kernels are missing; bad arguments refused by the op and the addon.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setNumThreads } from '../../dist/index.js';
import { layerNorm, layerNormComposite, registerFastKernels, withStockKernels } from '../../dist/tf/index.js';
import { assertBitIdentical, assertClose, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads } from '../helpers/kernels.js';
import { Rng, numel } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = suite('fused LayerNorm kernels (cpu, wasm)');

const U32 = 2 ** -24; // float32 unit roundoff
const EPS = 1e-5;

/**
 * [shape, mean of x, spread of x]. The kernel's regimes: n ≤ 1024 (dγ/dβ added while dx is made), up to
 * 16384 (a separate column pass for dγ/dβ), longer rows cut into 16384-column blocks; 32768 elements per
 * row chunk, so 1100×64 spans three chunks, and at most 64 chunks with dγ/dβ partials.
 */
const CASES = [
  [[1, 1], 0, 1], [[1, 7], 0, 1], [[7, 1], 0, 1], [[3, 5, 13], 0, 1], [[1100, 64], 0.5, 2], [[2, 3, 257], -1, 0.1],
  [[40, 1500], 0, 1], [[3, 16385], 0, 1], [[2, 40001], 2, 3], [[1, 70000], 0, 1],
  // more rows than 64 chunks of 34 rows: the chunks grow (at most 64 dγ/dβ partials)
  [[2300, 960], 0, 1],
  // a large mean: E[x²] − E[x]² in float32 would lose every digit of the variance
  [[6, 300], 1e4, 0.5], [[2, 20000], -3e3, 0.01],
];

function makeCase(rng, shape, mu, sigma) {
  const n = shape[shape.length - 1];
  const x = new Float32Array(numel(shape)).map(() => mu + sigma * rng.normal());
  const gamma = new Float32Array(n).map(() => 1 + 0.5 * rng.normal());
  const beta = new Float32Array(n).map(() => rng.normal());
  const dy = new Float32Array(numel(shape)).map(() => rng.normal());
  return { shape, n, rows: numel(shape) / n, x, gamma, beta, dy };
}

/**
 * The float64 oracle from the float32 inputs, with a tolerance per output element: a few float32
 * roundings of the terms' magnitudes (x − mean cancels, so |x|·rstd enters).
 */
function oracle({ rows, n, x, gamma, beta, dy }, affine) {
  const y = new Float64Array(rows * n), yTol = new Float64Array(rows * n);
  const dx = new Float64Array(rows * n), dxTol = new Float64Array(rows * n);
  const mean = new Float64Array(rows), rstd = new Float64Array(rows);
  const dgamma = new Float64Array(n), dbeta = new Float64Array(n), dgTol = new Float64Array(n), dbTol = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[o + i];
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[o + i] - m) ** 2;
    const rs = 1 / Math.sqrt(v / n + EPS);
    mean[r] = m;
    rstd[r] = rs;
    let sg = 0, sgx = 0, sgAbs = 0;
    const xh = (i) => (x[o + i] - m) * rs;
    const g = (i) => (affine ? dy[o + i] * gamma[i] : dy[o + i]);
    for (let i = 0; i < n; i++) {
      sg += g(i);
      sgx += g(i) * xh(i);
      sgAbs += Math.abs(g(i)) * (Math.abs(xh(i)) + Math.abs(x[o + i]) * rs);
    }
    const mg = sg / n, mgx = sgx / n;
    for (let i = 0; i < n; i++) {
      const gi = affine ? gamma[i] : 1, bi = affine ? beta[i] : 0;
      const scale = Math.abs(xh(i)) + Math.abs(x[o + i]) * rs;
      y[o + i] = xh(i) * gi + bi;
      yTol[o + i] = 8 * U32 * (scale * Math.abs(gi) + Math.abs(bi));
      dx[o + i] = rs * (g(i) - mg - xh(i) * mgx);
      dxTol[o + i] = 16 * U32 * rs * (Math.abs(g(i)) + Math.abs(mg) + scale * Math.abs(mgx) + scale * sgAbs / n);
      dgamma[i] += dy[o + i] * xh(i);
      dbeta[i] += dy[o + i];
      dgTol[i] += 8 * U32 * Math.abs(dy[o + i]) * scale;
      dbTol[i] += 4 * U32 * Math.abs(dy[o + i]);
    }
  }
  return { y, yTol, mean, rstd, dx, dxTol, dgamma, dbeta, dgTol, dbTol };
}

/** The values of tensors made in a tidy (tidy walks returned typed arrays element by element: not those). */
function values(make) {
  const ts = tf.tidy(make);
  const out = ts.map((t) => t.dataSync().slice());
  tf.dispose(ts);
  return out;
}

/** The kernels' outputs: [y, mean, rstd] forward and [dx, dγ?, dβ?] backward, through tfjs. */
function runFused(c, affine) {
  return values(() => {
    const x = tf.tensor(c.x, c.shape), gamma = tf.tensor(c.gamma), beta = tf.tensor(c.beta), dy = tf.tensor(c.dy, c.shape);
    const name = affine ? 'SaclLayerNorm' : 'SaclLayerNormNoAffine';
    const fwd = tf.engine().runKernel(name, affine ? { x, gamma, beta } : { x }, { eps: EPS });
    const f = (xv, g, b) => tf.sum(tf.mul(layerNorm(xv, affine ? g : null, affine ? b : null), dy));
    const grads = affine ? tf.grads(f)([x, gamma, beta]) : [tf.grad((xv) => f(xv))(x)];
    return [...fwd, ...grads];
  });
}

async function onBackend(name) {
  await tf.setBackend(name);
  registerFastKernels(name);
}

test('the kernels are registered on cpu and wasm when the addon is loaded', async () => {
  if (!addon) return;
  for (const b of ['cpu', 'wasm']) {
    await onBackend(b);
    const active = registerFastKernels(b);
    for (const k of ['SaclLayerNorm', 'SaclLayerNormNoAffine', 'SaclLayerNormGrad']) assert.ok(active.includes(k), `${b}: ${k}`);
  }
  await tf.setBackend('cpu');
});

test('forward and backward against the float64 oracle (edge shapes, with and without γ/β)', async () => {
  if (!addon) return;
  await onBackend('cpu');
  const rng = new Rng(3);
  for (const [shape, mu, sigma] of CASES) {
    const c = makeCase(rng, shape, mu, sigma);
    for (const affine of [true, false]) {
      const label = `${shape} mean ${mu} affine ${affine}`;
      const want = oracle(c, affine);
      const [y, mean, rstd, dx, dgamma, dbeta] = runFused(c, affine);
      assertClose(mean, Float32Array.from(want.mean), { rtol: U32, atol: U32 * Math.abs(mu) }, `${label}: mean`);
      assertClose(rstd, Float32Array.from(want.rstd), { rtol: 4 * U32 }, `${label}: rstd`);
      assertClose(y, want.y, { rtol: 0, atol: want.yTol }, `${label}: y`);
      assertClose(dx, want.dx, { rtol: 0, atol: want.dxTol }, `${label}: dx`);
      if (affine) {
        assertClose(dgamma, want.dgamma, { rtol: 0, atol: want.dgTol }, `${label}: dgamma`);
        assertClose(dbeta, want.dbeta, { rtol: 0, atol: want.dbTol }, `${label}: dbeta`);
      }
    }
  }
});

test('a row of equal values: rstd = 1/sqrt(eps), y = β, dx = rstd·(g − mean(g))', async () => {
  if (!addon) return;
  await onBackend('cpu');
  const c = { shape: [2, 9], n: 9, rows: 2, x: new Float32Array(18).fill(3.25), gamma: new Float32Array(9).fill(2),
    beta: new Float32Array(9).map((_, i) => i), dy: new Float32Array(18).map((_, i) => i - 4) };
  const [y, , rstd, dx] = runFused(c, true);
  assertClose(rstd, new Float32Array([1 / Math.sqrt(EPS), 1 / Math.sqrt(EPS)]), { rtol: 4 * U32 });
  assertClose(y, new Float32Array(18).map((_, i) => i % 9), { rtol: 0 });
  // x̂ = 0: g = 2·dy, and each row's g − mean(g) is 2·(i − 4)
  assertClose(dx, new Float32Array(18).map((_, i) => rstd[0] * 2 * ((i % 9) - 4)), { rtol: 4 * U32 });
});

test('no rows: empty outputs, zero dγ and dβ', async () => {
  if (!addon) return;
  await onBackend('cpu');
  const [y, mean, rstd, dx, dgamma, dbeta] = runFused({ shape: [0, 4], n: 4, rows: 0, x: new Float32Array(0),
    gamma: new Float32Array(4).fill(1), beta: new Float32Array(4), dy: new Float32Array(0) }, true);
  for (const t of [y, mean, rstd, dx]) assert.is(t.length, 0);
  assertClose(dgamma, new Float32Array(4), { rtol: 0 });
  assertClose(dbeta, new Float32Array(4), { rtol: 0 });
});

test('agrees with the stock-op composite through tf.grad', async () => {
  if (!addon) return;
  await onBackend('cpu');
  const rng = new Rng(5);
  for (const shape of [[3, 5, 13], [1100, 64], [2, 40001], [8, 2, 3, 50]]) {
    const c = makeCase(rng, shape, 0.3, 1.5);
    for (const affine of [true, false]) {
      const [fused, composite] = [layerNorm, (x, g, b) => layerNormComposite(x, g, b, EPS)].map((fn) => values(() => {
        const x = tf.tensor(c.x, shape), gamma = tf.tensor(c.gamma), beta = tf.tensor(c.beta), dy = tf.tensor(c.dy, shape);
        const f = (xv, g, b) => tf.sum(tf.mul(fn(xv, affine ? g : null, affine ? b : null), dy));
        const y = fn(x, affine ? gamma : null, affine ? beta : null);
        const grads = affine ? tf.grads(f)([x, gamma, beta]) : [tf.grad((xv) => f(xv))(x)];
        return [y, ...grads];
      }));
      fused.forEach((a, i) => {
        const scale = composite[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        assertClose(a, composite[i], { rtol: 1e-5, atol: 2e-5 * scale }, `${shape} affine ${affine} output ${i}`);
      });
    }
  }
});

test('the same bits for 1 and 2 threads', async () => {
  if (!addon) return;
  await onBackend('cpu');
  const rng = new Rng(7);
  try {
    for (const shape of [[1100, 64], [2300, 960], [40, 1500], [3, 16385], [16, 150001]]) {
      const c = makeCase(rng, shape, 1, 2);
      for (const affine of [true, false]) {
        assertSameBitsForThreads(() => runFused(c, affine), `${shape} affine ${affine} output`);
      }
    }
  } finally {
    setNumThreads(2);
  }
});

test('wasm: the same bits as cpu (the same native code on the wasm heap)', async () => {
  if (!addon) return;
  const rng = new Rng(9);
  for (const [shape, mu, sigma] of [[[3, 5, 13], 0, 1], [[1100, 64], 0.5, 2], [[2, 40001], 2, 3], [[7, 1], 0, 1]]) {
    const c = makeCase(rng, shape, mu, sigma);
    for (const affine of [true, false]) {
      await onBackend('cpu');
      const onCpu = runFused(c, affine);
      await onBackend('wasm');
      const onWasm = runFused(c, affine);
      onCpu.forEach((a, i) => assertBitIdentical(onWasm[i], a, `${shape} affine ${affine} output ${i}`));
    }
  }
  await tf.setBackend('cpu');
});

test('without the kernels (other backends) the op is the composite, bit for bit', async () => {
  await onBackend('cpu');
  const c = makeCase(new Rng(11), [5, 33], 0, 1);
  for (const affine of [true, false]) {
    const [viaOp, direct] = withStockKernels('cpu', () => {
      assert.not.ok(tf.getKernel('SaclLayerNorm', 'cpu'));
      return values(() => {
        const x = tf.tensor(c.x, c.shape), g = affine ? tf.tensor(c.gamma) : null, b = affine ? tf.tensor(c.beta) : null;
        return [layerNorm(x, g, b), layerNormComposite(x, g, b, EPS)];
      });
    });
    assertBitIdentical(viaOp, direct, `affine ${affine}`);
  }
});

test('bad arguments: the op names them', async () => {
  await onBackend('cpu');
  tf.tidy(() => {
    const x = tf.ones([2, 3]), g = tf.ones([3]), b = tf.zeros([3]);
    assertThrowsWith(() => layerNorm([1, 2]), TypeError, [/^Expected a tf\.Tensor \(float32\) for x but received array/]);
    assertThrowsWith(() => layerNorm(tf.ones([2, 3], 'int32')), TypeError, [/^Expected "float32" for x\.dtype but received "int32"/]);
    assertThrowsWith(() => layerNorm(tf.scalar(1)), RangeError, [/for x\.shape but received \[\]/]);
    assertThrowsWith(() => layerNorm(tf.ones([2, 0])), RangeError, [/last axis of size ≥ 1 for x\.shape but received \[2, 0\]/]);
    assertThrowsWith(() => layerNorm(x, g, null), TypeError, [/^Expected a tf\.Tensor \[3\] \(gamma is given\) for beta but received null/]);
    assertThrowsWith(() => layerNorm(x, null, b), TypeError, [/for gamma but received null/]);
    assertThrowsWith(() => layerNorm(x, tf.ones([4]), b), RangeError, [/^Expected \[3\] \(x's last axis\) for gamma\.shape but received \[4\]/]);
    assertThrowsWith(() => layerNorm(x, g, tf.ones([1, 3])), RangeError, [/for beta\.shape but received \[1, 3\]/]);
    assertThrowsWith(() => layerNorm(x, g, b, 0), RangeError, [/^Expected a finite number > 0 for eps but received 0/]);
    assertThrowsWith(() => layerNorm(x, g, b, '1e-5'), TypeError, [/for eps but received "1e-5"/]);
  });
});

test('bad arguments: the addon refuses what could corrupt memory', () => {
  if (!addon) return;
  const f = (n) => new Float32Array(n);
  const fwd = (over = {}) => Object.assign({ x: f(6), gamma: null, beta: null, eps: 1e-5, rows: 2, n: 3, y: f(6), mean: f(2), rstd: f(2) }, over);
  const bwd = (over = {}) => Object.assign({ dy: f(6), x: f(6), mean: f(2), rstd: f(2), gamma: null, rows: 2, n: 3, dx: f(6), dgamma: null, dbeta: null }, over);
  addon.layerNorm(fwd());
  addon.layerNormGrad(bwd());
  assertThrowsWith(() => addon.layerNorm(fwd({ y: f(5) })), RangeError, [/^Expected 6 \(rows·n\) for y\.length but received 5/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ gamma: f(3) })), TypeError, [/^Expected a Float32Array \(gamma is given\) for beta but received null$/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ beta: f(3) })), TypeError, [/^Expected null \(gamma is null\) for beta but received Float32Array$/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ gamma: f(2), beta: f(3) })), RangeError, [/^Expected 3 \(n\) for gamma\.length but received 2/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ gamma: f(3), beta: f(4) })), RangeError, [/^Expected 3 \(n\) for beta\.length but received 4/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ mean: f(1) })), RangeError, [/for mean\.length but received 1/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ eps: -1 })), RangeError, [/for eps but received -1/]);
  assertThrowsWith(() => addon.layerNorm(fwd({ n: 0 })), RangeError, [/for n but received 0/]);
  assertThrowsWith(() => addon.layerNormGrad(bwd({ gamma: f(3), dbeta: f(3) })), TypeError, [/^Expected a Float32Array \(gamma is given\) for dgamma but received null$/]);
  assertThrowsWith(() => addon.layerNormGrad(bwd({ dgamma: f(3) })), TypeError, [/^Expected null \(gamma is null\) for dgamma/]);
  assertThrowsWith(() => addon.layerNormGrad(bwd({ x: f(5) })), RangeError, [/for x\.length but received 5/]);
  assertThrowsWith(() => addon.layerNormGrad(bwd({ dbeta: undefined })), TypeError, [/^Expected a Float32Array or null for dbeta but received undefined$/]);
  assertThrowsWith(() => addon.layerNormGrad(...Object.values(bwd())), TypeError, [/^Expected one argument object for arguments but received 10 arguments$/]);
});

test.run();
