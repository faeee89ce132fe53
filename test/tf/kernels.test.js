/**
 * registerFastKernels: Conv2DBackpropFilter as a forward convolution equals tfjs' stock kernel (strides,
 * paddings, kernel sizes), leaks no tensor memory, and gives the wasm backend (which lacks the kernel)
 * the cpu backend's gradients.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels } from '../../dist/tf/index.js';
import { assertClose } from '../helpers/assert.js';

const test = suite('fast tfjs kernels');
test.before(async () => { await tf.setBackend('cpu'); });
test.after(async () => { await tf.setBackend('cpu'); });

const CASES = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 1, p: 'same' },
  { x: [2, 10, 11, 3], f: [3, 3, 3, 5], s: 2, p: 'same' },
  { x: [1, 12, 12, 2], f: [5, 5, 2, 3], s: 2, p: 'valid' },
  { x: [3, 8, 7, 4], f: [1, 1, 4, 6], s: 1, p: 'valid' },
  { x: [2, 13, 13, 3], f: [3, 3, 3, 2], s: 3, p: 'same' },
  { x: [2, 16, 16, 8], f: [4, 4, 8, 8], s: 2, p: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 7, 9, 2], f: [2, 3, 2, 1], s: [2, 1], p: 'valid' },
];

/** d/dfilter of sum(w · conv2d(x, f)) for every case, as plain arrays. */
function filterGradients() {
  return CASES.map((c, i) => tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 10 + i);
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 20 + i);
    const w = tf.randomNormal(tf.conv2d(x, f, c.s, c.p).shape, 0, 1, 'float32', 30 + i);
    const g = tf.grad((ff) => tf.sum(tf.mul(w, tf.conv2d(x, ff, c.s, c.p))))(f);
    return { shape: g.shape, data: g.dataSync().slice() };
  }));
}

test('the convolution form equals the stock cpu kernel on strides 1–3, same/valid/explicit padding', async () => {
  await tf.setBackend('cpu');
  const stock = filterGradients();
  assert.equal(registerFastKernels('cpu'), ['Conv2DBackpropFilter']);
  const registered = tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc;
  assert.equal(registerFastKernels('cpu'), ['Conv2DBackpropFilter']);
  assert.is(tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc, registered, 'registering twice must not replace the kernel');
  const fast = filterGradients();
  fast.forEach((g, i) => {
    let scale = 0;
    for (const v of stock[i].data) scale = Math.max(scale, Math.abs(v));
    assertClose(g, stock[i], { rtol: 0, atol: 1e-5 * Math.max(1, scale) }, JSON.stringify(CASES[i]));
  });
  // no tensor memory left behind by the kernel's intermediates
  const before = tf.memory().numBytes;
  filterGradients();
  assert.is(tf.memory().numBytes, before, 'the kernel leaked tensor memory');
});

test('wasm, which has no Conv2DBackpropFilter of its own, gets the same gradients', async () => {
  await tf.setBackend('cpu');
  const want = filterGradients();
  assert.ok(await tf.setBackend('wasm'));
  assert.equal(registerFastKernels('wasm'),
    ['Conv2DBackpropFilter', 'UnsortedSegmentSum', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']);
  const got = filterGradients();
  got.forEach((g, i) => assertClose(g, want[i], { rtol: 0, atol: 1e-4 }, `wasm ${JSON.stringify(CASES[i])}`));
});

test('wasm gets the gather gradient (UnsortedSegmentSum): equal to cpu, out-of-range ids dropped', async () => {
  const run = () => tf.tidy(() => {
    const x = tf.randomNormal([6, 3, 2], 0, 1, 'float32', 41);
    const idx = tf.tensor1d([0, 5, 5, 2, 0, 3, 1], 'int32');
    const w = tf.randomNormal([7, 3, 2], 0, 1, 'float32', 42);
    const g = tf.grad((a) => tf.sum(tf.mul(w, tf.gather(a, idx))))(x);
    const seg = tf.unsortedSegmentSum(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), tf.tensor1d([1, -1, 1], 'int32'), 3);
    return [g, seg].map((t) => ({ shape: t.shape, data: t.dataSync().slice() }));
  });
  await tf.setBackend('cpu');
  const want = run();
  await tf.setBackend('wasm');
  registerFastKernels('wasm');
  const got = run();
  got.forEach((g, i) => assertClose(g, want[i], { rtol: 0, atol: 1e-6 }, `output ${i}`));
  assert.equal(Array.from(got[1].data), [0, 0, 6, 8, 0, 0]);
});

const DEPTHWISE = [
  { x: [2, 9, 9, 4], f: [3, 3, 4, 1], s: 1, p: 'same', d: 1 },
  { x: [2, 10, 11, 3], f: [3, 3, 3, 2], s: 2, p: 'same', d: 1 },
  { x: [1, 16, 16, 5], f: [9, 9, 5, 1], s: 8, p: 4, d: 1 }, // EMSA's spatial reduction (sr = 8)
  { x: [2, 12, 12, 2], f: [5, 5, 2, 1], s: 2, p: 'valid', d: 1 },
  { x: [2, 11, 9, 3], f: [3, 5, 3, 1], s: 3, p: 'same', d: 1 },
  { x: [1, 7, 9, 2], f: [2, 3, 2, 3], s: [2, 1], p: 'valid', d: 1 },
];

/** d/dx and d/dfilter of sum(w · depthwiseConv2d(x, f)) for every depthwise case. */
function depthwiseGradients() {
  return DEPTHWISE.map((c, i) => tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 50 + i);
    const f = tf.randomNormal(c.f, 0, 1, 'float32', 60 + i);
    const conv = (a, b) => tf.depthwiseConv2d(a, b, c.s, c.p, 'NHWC', c.d);
    const w = tf.randomNormal(conv(x, f).shape, 0, 1, 'float32', 70 + i);
    const [gx, gf] = tf.grads((a, b) => tf.sum(tf.mul(w, conv(a, b))))([x, f]);
    return [gx, gf].map((g) => ({ shape: g.shape, data: g.dataSync().slice() }));
  }));
}

test('wasm gets the depthwise gradients (input and filter): equal to the stock cpu kernels', async () => {
  await tf.setBackend('cpu');
  const want = depthwiseGradients();
  await tf.setBackend('wasm');
  registerFastKernels('wasm');
  const before = tf.memory().numBytes;
  const got = depthwiseGradients();
  assert.is(tf.memory().numBytes, before, 'the kernels leaked tensor memory');
  got.forEach((pair, i) => pair.forEach((g, j) => {
    assertClose(g, want[i][j], { rtol: 0, atol: 1e-4 }, `${j ? 'filter' : 'input'} gradient ${JSON.stringify(DEPTHWISE[i])}`);
  }));
});

test.run();
