/**
 * registerFastKernels: Conv2DBackpropFilter as a forward convolution equals tfjs' stock kernel (strides,
 * paddings, kernel sizes), leaks no tensor memory, and gives the wasm backend (which lacks the kernel)
 * the cpu backend's gradients.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { setNumThreads } from '../../dist/index.js';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastKernels, withStockKernels } from '../../dist/tf/index.js';
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
  const active = registerFastKernels('cpu');
  for (const k of ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad', 'BatchMatMul', 'Conv2DBackpropInput']) assert.ok(active.includes(k), k);
  const registered = tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc;
  assert.equal(registerFastKernels('cpu'), active);
  assert.is(tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc, registered, 'registering twice must not replace the kernel');
  // the stock kernels, whatever an earlier test file registered
  const stock = withStockKernels('cpu', filterGradients);
  assert.is(tf.getKernel('Conv2DBackpropFilter', 'cpu').kernelFunc, registered, 'withStockKernels restores ours');
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
    ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad', 'UnsortedSegmentSum', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter',
      'BatchMatMul', 'Conv2DBackpropInput', 'SaclLayerNorm', 'SaclLayerNormNoAffine', 'SaclLayerNormGrad',
      'SaclGelu', 'SaclBiasGelu', 'SaclGeluGrad', 'SaclBatchNorm', 'SaclBatchNormGrad',
      'SaclSgdStats', 'SaclSgdUpdate']);
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

/** float64 reference of matMul with tfjs' semantics (batch dims broadcast when one side has a single matrix). */
function matMulRef(a, b, ta, tb) {
  const [ra, rb] = [a.shape.length, b.shape.length];
  const M = ta ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = ta ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = tb ? b.shape[rb - 2] : b.shape[rb - 1];
  const ba = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const bb = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * M * N);
  for (let i = 0; i < batch; i++) {
    const ao = (ba === 1 ? 0 : i) * M * K;
    const bo = (bb === 1 ? 0 : i) * K * N;
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[ao + (ta ? k * M + m : m * K + k)] * b.data[bo + (tb ? n * K + k : k * N + n)];
      out[(i * M + m) * N + n] = s;
    }
  }
  return out;
}

const MATMULS = [
  { a: [2, 5, 7], b: [2, 7, 3] },
  { a: [2, 7, 5], b: [2, 7, 3], ta: true },
  { a: [2, 5, 7], b: [2, 3, 7], tb: true },
  { a: [3, 7, 5], b: [3, 4, 7], ta: true, tb: true },
  { a: [1, 5, 7], b: [3, 7, 4] }, // broadcast a
  { a: [3, 5, 7], b: [7, 4] }, // rank-2 b, broadcast
  { a: [1, 1], b: [1, 1] },
  { a: [50, 300], b: [300, 33] }, // past one row block (48), one depth block (256), one panel (32)
  { a: [2, 3, 97], b: [2, 70, 97], tb: true },
  { a: [4, 0], b: [0, 3] }, // empty depth: zeros
  { a: [800, 20], b: [70, 20], tb: true }, // taller than one task's row block (384)
  { a: [600, 10], b: [600, 300], ta: true }, // few rows, many panels: tasks split the columns
  // deep and narrow (a weight gradient): K split into chunks, partials summed in chunk order
  { a: [5000, 7], b: [5000, 40], ta: true },
  { a: [2, 4500, 9], b: [2, 4500, 33], ta: true },
  { a: [6, 4200], b: [5, 4200], tb: true },
  // narrow (N ≤ 16, or M ≤ 16 with B transposed, run as Cᵀ): op(B) packed once, six rows of A at a time
  { a: [301, 130], b: [130, 16] }, // N = 16, row tails, several tasks of 96 rows
  { a: [301, 130], b: [13, 130], tb: true },
  { a: [100, 50], b: [50, 1] },
  { a: [2, 11, 200], b: [2, 250, 200], tb: true }, // M = 11: transposed
  { a: [3, 40, 9], b: [9, 5] }, // narrow, b broadcast
  { a: [1, 7, 30], b: [4, 200, 30], tb: true }, // transposed, a broadcast
];

test('BatchMatMul on the native GEMM equals a float64 product (cpu and wasm; transposes, broadcast, block edges)', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    assert.ok(registerFastKernels(backend).includes('BatchMatMul'), `${backend} has the native BatchMatMul`);
    MATMULS.forEach((c, i) => {
      const a = tf.randomNormal(c.a, 0, 1, 'float32', 80 + i);
      const b = tf.randomNormal(c.b, 0, 1, 'float32', 90 + i);
      const got = tf.matMul(a, b, c.ta, c.tb);
      const want = matMulRef({ shape: c.a, data: a.dataSync() }, { shape: c.b, data: b.dataSync() }, c.ta, c.tb);
      assert.equal(got.shape, tf.matMul(a, b, c.ta, c.tb).shape);
      const K = c.ta ? c.a.at(-2) : c.a.at(-1);
      assertClose({ shape: got.shape, data: got.dataSync() }, { shape: got.shape, data: Float32Array.from(want) },
        { rtol: 1e-5, atol: 1e-5 * Math.sqrt(K + 1) }, `${backend} ${JSON.stringify(c)}`);
      tf.dispose([a, b, got]);
    });
  }
});

test('BatchMatMul on the native GEMM gives the same bits for any thread count (the task split follows the threads)', async () => {
  await tf.setBackend('cpu');
  registerFastKernels('cpu');
  const cases = [MATMULS[7], MATMULS[10], MATMULS[11], MATMULS[12], MATMULS[13], { a: [5, 61, 300], b: [5, 300, 45] },
    { a: [4, 500, 64], b: [4, 12, 64], tb: true }, { a: [3, 12, 64], b: [3, 700, 64], tb: true }];
  try {
    cases.forEach((c, i) => {
      const a = tf.randomNormal(c.a, 0, 1, 'float32', 180 + i);
      const b = tf.randomNormal(c.b, 0, 1, 'float32', 190 + i);
      const bits = [1, 2, 3, 7].map((n) => {
        setNumThreads(n);
        const y = tf.matMul(a, b, c.ta, c.tb);
        const out = new Uint32Array(y.dataSync().slice().buffer);
        y.dispose();
        return out;
      });
      for (const other of bits.slice(1)) assert.equal(other, bits[0], JSON.stringify(c));
      tf.dispose([a, b]);
    });
  } finally {
    setNumThreads(2);
  }
});

/** float64 input gradient of conv2d: dx[b, ih, iw, ci] = Σ w[kh, kw, ci, co] · dy[b, oh, ow, co]. */
function convInputGradRef(xShape, f, dy, s, padTop, padLeft) {
  const [B, H, W, Ci] = xShape;
  const [KH, KW, , Co] = f.shape;
  const [, OH, OW] = dy.shape;
  const dx = new Float64Array(B * H * W * Ci);
  for (let b = 0; b < B; b++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const ih = oh * s[0] - padTop + kh;
      const iw = ow * s[1] - padLeft + kw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      for (let ci = 0; ci < Ci; ci++) for (let co = 0; co < Co; co++) {
        dx[((b * H + ih) * W + iw) * Ci + ci] += f.data[((kh * KW + kw) * Ci + ci) * Co + co] * dy.data[((b * OH + oh) * OW + ow) * Co + co];
      }
    }
  }
  return dx;
}

test('Conv2DBackpropInput as GEMM + col2im equals the float64 input gradient (cpu and wasm)', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    assert.ok(registerFastKernels(backend).includes('Conv2DBackpropInput'));
    CASES.forEach((c, i) => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 100 + i);
      const f = tf.randomNormal(c.f, 0, 1, 'float32', 110 + i);
      const y = tf.conv2d(x, f, c.s, c.p);
      const w = tf.randomNormal(y.shape, 0, 1, 'float32', 120 + i);
      const g = tf.grad((a) => tf.sum(tf.mul(w, tf.conv2d(a, f, c.s, c.p))))(x);
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.p);
      const want = convInputGradRef(c.x, { shape: c.f, data: f.dataSync() }, { shape: y.shape, data: w.dataSync() },
        [info.strideHeight, info.strideWidth], info.padInfo.top, info.padInfo.left);
      assertClose({ shape: g.shape, data: g.dataSync() }, { shape: g.shape, data: Float32Array.from(want) }, { rtol: 1e-4, atol: 1e-4 },
        `${backend} ${JSON.stringify(c)}`);
      tf.dispose([x, f, y, w, g]);
    });
  }
  await tf.setBackend('cpu');
});

test('SplitV as block copies equals slicing, on every axis, even and uneven splits (cpu and wasm)', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    assert.ok(registerFastKernels(backend).includes('SplitV'));
    const x = tf.randomNormal([2, 3, 6, 7], 0, 1, 'float32', 130);
    for (const [axis, splits] of [[0, 2], [1, [1, 2]], [2, 3], [2, [1, -1, 2]], [3, [3, 4]], [-1, [2, 2, 3]]]) {
      const parts = tf.split(x, splits, axis);
      const ax = axis < 0 ? 4 + axis : axis;
      let begin = 0;
      for (const p of parts) {
        const start = x.shape.map((_, i) => (i === ax ? begin : 0));
        const want = tf.slice(x, start, p.shape);
        assert.equal(Array.from(p.dataSync()), Array.from(want.dataSync()), `${backend} axis ${axis} splits ${JSON.stringify(splits)}`);
        begin += p.shape[ax];
        tf.dispose([p, want]);
      }
    }
    // the gradient of a concat runs SplitV
    const a = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 131);
    const b = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 132);
    const w = tf.randomNormal([2, 3, 9], 0, 1, 'float32', 133);
    const [ga, gb] = tf.grads((p, q) => tf.sum(tf.mul(w, tf.concat([p, q], 2))))([a, b]);
    assert.equal(Array.from(ga.dataSync()), Array.from(tf.slice(w, [0, 0, 0], [2, 3, 4]).dataSync()));
    assert.equal(Array.from(gb.dataSync()), Array.from(tf.slice(w, [0, 0, 4], [2, 3, 5]).dataSync()));
    tf.dispose([x, a, b, w, ga, gb]);
  }
  await tf.setBackend('cpu');
});

test.run();
