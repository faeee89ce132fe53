/**
 * The fused GELU (src/tf/fused.ts gelu; kernels SaclGelu, SaclBiasGelu / SaclGeluGrad on the native
 * addon), alone and with a Linear layer's bias fused in: forward and
 * backward against a float64 oracle written here (|Φ error| ≤ 1e-7 over all x, the bound stated in
 * native/cpu/gelu.cc; measured 6.9e-8, and 1.6e-7 on Φ + x·φ), against the composite of stock ops (forward and tf.grad) on edge shapes, the same
 * bits for 1 and 2 threads, on wasm the same bits as on cpu, the composite used where the kernel is not
 * registered, bad input refused with a clear message, no tensor leaked.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from '../../dist/tf/index.js';
import { gelu, geluComposite } from '../../dist/tf/fused.js';
import { SaclBiasGelu, SaclGelu, SaclGeluGrad } from '../../dist/tf/kernel-names.js';
import { assertBitIdentical, assertClose, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite } from '../helpers/kernels.js';
import { Rng, numel } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('fused GELU kernels');

// ---- float64 oracle: Φ(x) and φ(x) ----
const SQRT_PI = Math.sqrt(Math.PI);
/** erf(a) for 0 ≤ a ≤ 3 by its series with positive terms: 2/√π·e^(−a²)·Σ (2a²)^n·a/(1·3·…·(2n+1)). */
function erfSeries(a) {
  let term = a;
  let sum = a;
  for (let n = 1; n < 200 && term > 1e-18 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return (2 / SQRT_PI) * Math.exp(-a * a) * sum;
}
/** erfc(a) for a > 3 by its continued fraction (modified Lentz). */
function erfcFraction(a) {
  // erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …))))
  const tiny = 1e-300;
  let f = a;
  let C = a;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    D = a + an * D;
    D = D === 0 ? tiny : 1 / D;
    C = a + an / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-a * a) / SQRT_PI / f;
}
/** Φ(x), the standard normal CDF, to ~1e-16 absolute. */
function Phi(x) {
  const a = Math.abs(x) / Math.SQRT2;
  const lower = a <= 3 ? 0.5 * (1 - erfSeries(a)) : 0.5 * erfcFraction(a); // Φ(−|x|)
  return x < 0 ? lower : 1 - lower;
}
const phi = (x) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

test('the oracle itself: Φ at known points', () => {
  assertClose(Float64Array.of(Phi(0), Phi(1), Phi(-1), Phi(-3), Phi(-5), Phi(-10), Phi(2.5)),
    Float64Array.of(0.5, 0.8413447460685429, 0.15865525393145707, 0.0013498980316301, 2.866515718791939e-7, 7.619853024160527e-24, 0.9937903346742238),
    { rtol: 1e-13 });
});

/** x on a dense grid over [−14, 14], the values around 0, and the specials. */
function gridValues() {
  const v = [];
  for (let i = -140000; i <= 140000; i++) v.push(i / 10000);
  v.push(-0, 1e-30, -1e-30, 1e-10, -1e-10, 3e-39, -3e-39, 20, -20, 100, -100, 1e30, -1e30);
  return Float32Array.from(v);
}

test('forward against the float64 oracle: |y − x·Φ(x)| ≤ 1e-7·|x| + rounding of y', () => {
  const x = gridValues();
  const y = tf.tidy(() => gelu(tf.tensor1d(x)).dataSync().slice());
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const want = x[i] * Phi(x[i]);
    const err = Math.abs(y[i] - want);
    const tol = 1e-7 * Math.abs(x[i]) + 2 ** -24 * Math.abs(want) + 1e-40;
    if (!(err <= tol)) assert.unreachable(`gelu(${x[i]}) = ${y[i]}, want ${want}: |diff| ${err} > ${tol}`);
    if (x[i] !== 0) worst = Math.max(worst, err / Math.abs(x[i]));
  }
  assert.ok(worst > 1e-9, 'the bound is tight enough to notice a coarser approximation');
  const specials = tf.tidy(() => gelu(tf.tensor1d([Infinity, NaN, -0])).dataSync().slice());
  assert.is(specials[0], Infinity);
  assert.ok(Number.isNaN(specials[1]));
  assert.ok(Object.is(specials[2], -0) || specials[2] === 0);
});

test('backward against the float64 oracle: |dx − dy·(Φ + x·φ)| ≤ (2e-7 + 4e-7·x²·|x|φ(x))·|dy|', () => {
  const x = gridValues().filter((v) => Number.isFinite(v) && Math.abs(v) < 50);
  const rng = new Rng(3);
  const dy = Float32Array.from(x, () => rng.uniform(-2, 2));
  const dx = tf.tidy(() => tf.engine().runKernel(SaclGeluGrad, { dy: tf.tensor1d(dy), x: tf.tensor1d(x) }, {}).dataSync().slice());
  for (let i = 0; i < x.length; i++) {
    const want = dy[i] * (Phi(x[i]) + x[i] * phi(x[i]));
    // the exponential's argument −x²/2 is rounded to float32: relative error x²·2^−24 in φ
    const tol = (2e-7 + (x[i] * x[i] * 2 ** -24 + 1e-7) * Math.abs(x[i]) * phi(x[i])) * Math.abs(dy[i]) + 2 ** -24 * Math.abs(want);
    const err = Math.abs(dx[i] - want);
    if (!(err <= tol)) assert.unreachable(`gelu'(${x[i]})·${dy[i]} = ${dx[i]}, want ${want}: |diff| ${err} > ${tol}`);
  }
  // tf.grad reaches the kernel
  const g = tf.tidy(() => tf.grad((t) => gelu(t))(tf.tensor1d(x)).dataSync().slice());
  assertClose(g, Float32Array.from(x, (v) => Phi(v) + v * phi(v)), { rtol: 0, atol: 3e-7 });
});

const SHAPES = [[1], [1, 1], [7], [3, 5, 7], [2, 1, 9, 1], [4, 3137], [2, 56, 56, 64]];

test('forward and tf.grad equal the composite of stock ops on edge shapes', () => {
  const rng = new Rng(11);
  for (const shape of SHAPES) {
    const xs = Float32Array.from({ length: numel(shape) }, () => rng.normal() * 3);
    const ws = Float32Array.from({ length: numel(shape) }, () => rng.uniform(-1, 1));
    const run = (f) => tf.tidy(() => {
      const x = tf.tensor(xs, shape);
      const w = tf.tensor(ws, shape);
      const loss = (t) => tf.sum(tf.mul(f(t), w));
      return { y: f(x).dataSync().slice(), dx: tf.grad(loss)(x).dataSync().slice() };
    });
    const ours = run(gelu);
    const stock = run(geluComposite);
    // tfjs' Erf (Abramowitz–Stegun 7.1.26) is good to ~1.5e-7 itself
    const tol = Float32Array.from(xs, (v) => 4e-7 * (1 + Math.abs(v)));
    assertClose(ours.y, stock.y, { rtol: 0, atol: tol }, `y ${JSON.stringify(shape)}`);
    assertClose(ours.dx, stock.dx, { rtol: 0, atol: Float32Array.from(tol, (t, i) => t * 3 * Math.abs(ws[i])) }, `dx ${JSON.stringify(shape)}`);
  }
});

test('with a bias: forward and the gradients of x and bias equal the composite (x + bias, then GELU)', () => {
  const rng = new Rng(13);
  for (const shape of [[1, 1], [5, 1], [1, 7], [3, 5, 7], [2, 3, 1, 9], [6272, 64], [2, 28, 28, 256]]) {
    const C = shape[shape.length - 1];
    const xs = Float32Array.from({ length: numel(shape) }, () => rng.normal() * 3);
    const bs = Float32Array.from({ length: C }, () => rng.normal());
    const ws = Float32Array.from({ length: numel(shape) }, () => rng.uniform(-1, 1));
    const run = (f) => tf.tidy(() => {
      const [x, b, w] = [tf.tensor(xs, shape), tf.tensor1d(bs), tf.tensor(ws, shape)];
      const [dx, db] = tf.grads((x, b) => tf.sum(tf.mul(f(x, b), w)))([x, b]);
      return { y: f(x, b).dataSync().slice(), dx: dx.dataSync().slice(), db: db.dataSync().slice() };
    });
    const ours = run(gelu);
    const stock = run(geluComposite);
    const tol = Float32Array.from(xs, (v, i) => 4e-7 * (1 + Math.abs(v + bs[i % C])));
    const at = JSON.stringify(shape);
    assertClose(ours.y, stock.y, { rtol: 0, atol: tol }, `y ${at}`);
    assertClose(ours.dx, stock.dx, { rtol: 0, atol: Float32Array.from(tol, (t, i) => t * 3 * Math.abs(ws[i])) }, `dx ${at}`);
    // dbias sums numel/C such terms
    assertClose(ours.db, stock.db, { rtol: 1e-5, atol: 2e-6 * Math.sqrt(numel(shape) / C) }, `dbias ${at}`);
    // the bias add is exactly tf.add's: gelu(x, b) = gelu(x + b) bit for bit
    const plain = tf.tidy(() => gelu(tf.add(tf.tensor(xs, shape), tf.tensor1d(bs))).dataSync().slice());
    assertBitIdentical(ours.y, plain, `gelu(x, b) vs gelu(x + b) ${at}`);
  }
});

test('the same bits for 1 and 2 threads', () => {
  const rng = new Rng(5);
  const xs = Float32Array.from({ length: 300001 }, () => rng.normal() * 4);
  const bs = Float32Array.from({ length: 7 }, () => rng.normal());
  const run = () => tf.tidy(() => {
    const x = tf.tensor1d(xs);
    const [y, dx] = [gelu(x), tf.grad((t) => tf.sum(tf.mul(gelu(t), t)))(x)];
    const xb = tf.tensor(xs.subarray(0, 7 * 40000), [40000, 7]);
    const [yb, dxb] = [gelu(xb, tf.tensor1d(bs)), tf.grad((t) => tf.sum(tf.mul(gelu(t, tf.tensor1d(bs)), t)))(xb)];
    return Object.fromEntries(Object.entries({ y, dx, 'y (bias)': yb, 'dx (bias)': dxb }).map(([name, t]) => [name, t.dataSync().slice()]));
  });
  assertSameBitsForThreads(run);
});

test('a step uses the fused kernels only (no Erf, Exp; with a bias no Add), and leaks no tensor', async () => {
  const x = tf.randomNormal([3, 40]);
  const b = tf.randomNormal([40]);
  const before = tf.memory().numTensors;
  let info = await tf.profile(() => tf.tidy(() => tf.grad((t) => tf.sum(gelu(t)))(x)));
  info.result.dispose();
  assert.ok(info.kernelNames.includes(SaclGelu) && info.kernelNames.includes(SaclGeluGrad), info.kernelNames.join(', '));
  assert.not.ok(info.kernelNames.includes('Erf') || info.kernelNames.includes('Exp'), info.kernelNames.join(', '));
  info = await tf.profile(() => tf.tidy(() => tf.grads((t, c) => tf.sum(gelu(t, c)))([x, b])));
  info.result.forEach((t) => t.dispose());
  assert.ok(info.kernelNames.includes(SaclBiasGelu) && info.kernelNames.includes(SaclGeluGrad), info.kernelNames.join(', '));
  assert.not.ok(['Erf', 'Exp', 'Add'].some((k) => info.kernelNames.includes(k)), info.kernelNames.join(', '));
  assert.is(tf.memory().numTensors, before);
  tf.dispose([x, b]);
});

test('without the kernel (another backend, no addon) the composite runs, same values to rounding', () => {
  const x = tf.tensor1d([-3, -0.5, 0, 0.7, 2]);
  const b = tf.tensor1d([0.5, -1, 0, 2, 0.25]);
  const configs = [SaclGelu, SaclBiasGelu].map((name) => tf.getKernel(name, 'cpu'));
  const fused = [gelu(x).dataSync().slice(), gelu(x, b).dataSync().slice()];
  configs.forEach((c) => tf.unregisterKernel(c.kernelName, 'cpu'));
  try {
    const stock = [gelu(x).dataSync().slice(), gelu(x, b).dataSync().slice()];
    assertClose(stock[0], fused[0], { rtol: 0, atol: 1e-6 });
    assertClose(stock[1], fused[1], { rtol: 0, atol: 1e-6 });
    assert.equal(stock[0], geluComposite(x).dataSync().slice(), 'the composite itself');
    assert.equal(stock[1], geluComposite(x, b).dataSync().slice(), 'the composite itself, with the bias');
  } finally {
    configs.forEach((c) => tf.registerKernel(c));
  }
  tf.dispose([x, b]);
});

test('wasm: the same kernels, the same bits as cpu', async () => {
  const rng = new Rng(8);
  const xs = Float32Array.from({ length: 5000 }, () => rng.normal() * 3);
  const bs = Float32Array.from({ length: 100 }, () => rng.normal());
  const run = () => tf.tidy(() => {
    const [x, b] = [tf.tensor(xs, [50, 100]), tf.tensor1d(bs)];
    const [dxb, db] = tf.grads((t, c) => tf.sum(tf.mul(gelu(t, c), t)))([x, b]);
    return [gelu(x), tf.grad((t) => tf.sum(tf.mul(gelu(t), t)))(x), gelu(x, b), dxb, db].map((t) => t.dataSync().slice());
  });
  const cpu = run();
  assert.ok(await tf.setBackend('wasm'));
  try {
    assert.ok(registerFastKernels('wasm').includes(SaclGelu));
    const wasm = run();
    // dbias is a Sum, wasm's stock kernel against the native one on cpu
    ['y', 'dx', 'y (bias)', 'dx (bias)'].forEach((name, i) => assertBitIdentical(wasm[i], cpu[i], name));
    assertClose(wasm[4], cpu[4], { rtol: 1e-5, atol: 1e-5 }, 'dbias');
  } finally {
    await tf.setBackend('cpu');
  }
});

test('bad input: a clear error naming the argument', () => {
  assertThrowsWith(() => gelu([1, 2]), TypeError, [/^Expected a tf\.Tensor \(float32\) for x but received/]);
  const i = tf.tensor1d([1, 2], 'int32');
  assertThrowsWith(() => gelu(i), TypeError, [/^Expected "float32" for x\.dtype but received "int32"$/]);
  i.dispose();
  const [x, b3, b4] = [tf.zeros([2, 3]), tf.zeros([3]), tf.zeros([4])];
  assertThrowsWith(() => gelu(x, b4), RangeError, [/^Expected \[3\] \(x's last axis\) for bias\.shape but received \[4\]$/]);
  assertThrowsWith(() => gelu(x, [1, 2, 3]), TypeError, [/^Expected a tf\.Tensor \(float32\) for bias but received/]);
  assertThrowsWith(() => gelu(tf.scalar(1), b3), RangeError, [/^Expected rank ≥ 1 \[\.\.\., C\] with a bias for x\.shape but received \[\]$/]);
  tf.dispose([x, b3, b4]);
  const f = (n) => new Float32Array(n);
  assertThrowsWith(() => addon.gelu({ x: f(3), bias: null, y: f(2) }), RangeError, [/^Expected 3 \(x\.length\) for y\.length but received 2$/]);
  assertThrowsWith(() => addon.gelu({ x: f(6), bias: f(4), y: f(6) }), RangeError, [/^Expected a length ≥ 1 that divides 6 \(x\.length\) for bias\.length but received 4$/]);
  assertThrowsWith(() => addon.geluGrad({ dy: f(3), x: f(3), bias: null, dx: [0, 0, 0] }), TypeError, [/for dx but received/]);
  assertThrowsWith(() => addon.geluGrad({ dy: f(3), x: f(4), bias: null, dx: f(3) }), RangeError, [/^Expected 3 \(dy\.length\) for x\.length but received 4$/]);
  assertThrowsWith(() => addon.geluGrad({ dy: f(6), x: f(6), bias: f(0), dx: f(6) }), RangeError, [/for bias\.length but received 0$/]);
});

test.run();
