/**
 * The native data movement, resize and pooling tfjs kernels on the cpu backend (src/tf/kernels/movement.ts)
 * against oracles written here (index arithmetic for the copies; float64 sampling and pooling with
 * tfjs-backend-cpu's rules) and bit for bit against tfjs' stock kernels (withStockKernels): Transpose,
 * Slice, Concat, Pack, Unpack, PadV2, Tile, SplitV on float32 and int32 (rank 0 to 6, size-1 axes, odd
 * sizes, sizes spanning several thread chunks, NaN / ±∞ / −0 carried bit for bit); ResizeBilinear under
 * every alignCorners / halfPixelCenters pair, up and down; MaxPool, AvgPool and their gradients with valid,
 * same and explicit padding, overlapping windows, ties, NaN and −∞; GatherV2 (batchDims 0 and 1) and its gradient
 * UnsortedSegmentSum (float64 row-order sums, tfjs-cpu's NaN spreading); a tiny-model step's loss and
 * gradients equal to the bit with this family's stock kernels; the same bits for 1 and 2 threads; other dtypes
 * left to the stock kernels; and the raw addon refusing arguments that would reach outside its arrays.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { stockKernel, withStockKernels } from '../../dist/tf/index.js';
import { MOVEMENT_KERNELS } from '../../dist/tf/kernels/movement.js';
import { splitVByBlocks } from '../../dist/tf/kernels/split.js';
import { assertBitIdentical, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite, testFastKernelRegistration } from '../helpers/kernels.js';
import { setNumThreads } from '../../dist/index.js';
import { Rng } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('native data movement, resize and pooling tfjs kernels (cpu)');

const size = (shape) => shape.reduce((a, b) => a * b, 1);
const stridesOf = (shape) => {
  const s = new Array(shape.length);
  for (let a = shape.length - 1, n = 1; a >= 0; n *= shape[a], a--) s[a] = n;
  return s;
};
/** The multi-index of flat position f in shape. */
const loc = (shape, f) => {
  const at = new Array(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    at[a] = f % shape[a];
    f = Math.floor(f / shape[a]);
  }
  return at;
};
const flat = (shape, at) => at.reduce((o, v, a) => o * shape[a] + v, 0);

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 3.4e38, -1e-45];

/** Random float32 values with the special ones sprinkled in, or random int32 values. */
function values(rng, shape, dtype = 'float32') {
  const n = size(shape);
  if (dtype === 'int32') return Int32Array.from({ length: n }, () => rng.int(-2147483648, 2147483647));
  const v = Float32Array.from({ length: n }, () => rng.next() * 8 - 4);
  for (let i = 0; i < Math.min(n, 40); i++) v[Math.floor(rng.next() * n)] = SPECIAL[i % SPECIAL.length];
  return v;
}

/** { shape, data } of fn's tensor result (or each of an array of them), read then disposed. */
function read(fn) {
  return tf.tidy(() => {
    const r = fn();
    const one = (t) => ({ shape: t.shape, data: t.dataSync().slice() });
    return Array.isArray(r) ? r.map(one) : one(r);
  });
}

/** fn's result with the sacl-au kernels equals the oracle's and the stock kernels', bit for bit. */
function check(fn, expected, msg) {
  const got = read(fn);
  const stock = withStockKernels('cpu', () => read(fn));
  const list = (r) => (Array.isArray(r) ? r : [r]);
  const [g, s, e] = [list(got), list(stock), list(expected)];
  assert.is(g.length, e.length, `${msg}: outputs`);
  g.forEach((r, i) => {
    assertBitIdentical(r, e[i], `${msg} (oracle, output ${i})`);
    assertBitIdentical(r, s[i], `${msg} (stock, output ${i})`);
  });
}

const typed = (dtype, n) => (dtype === 'int32' ? new Int32Array(n) : new Float32Array(n));
const blank = (shape, dtype) => ({ shape, data: typed(dtype, size(shape)) });

/** out[at] = x[source(at)] over out's shape: the oracle of every copy kernel. */
function gatherOracle(x, xShape, outShape, source, dtype) {
  const out = typed(dtype, size(outShape));
  for (let f = 0; f < out.length; f++) out[f] = x[flat(xShape, source(loc(outShape, f)))];
  return { shape: outShape, data: out };
}



testFastKernelRegistration(test, addon, { what: 'movement, resize and pooling', names: [
  'Transpose', 'Slice', 'Concat', 'Pack', 'Unpack', 'PadV2', 'Tile', 'SplitV', 'GatherV2', 'UnsortedSegmentSum', 'ResizeBilinear', 'MaxPool',
  'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad'], stock: 'Transpose' });
if (addon) {
  test('Transpose: any permutation, rank 0 to 6, float32 and int32', () => {
    const rng = new Rng(11);
    const CASES = [
      [[], []], [[7], [0]], [[2, 3], [1, 0]], [[1, 5, 1], [2, 1, 0]], [[3, 4, 5], [0, 2, 1]], [[3, 4, 5], [2, 0, 1]],
      [[2, 3, 4, 5], [0, 3, 1, 2]], [[2, 3, 4, 5], [3, 2, 1, 0]], [[4, 33, 65, 3], [0, 3, 1, 2]], [[4, 3, 33, 65], [0, 2, 3, 1]],
      [[300, 257], [1, 0]], [[2, 1, 3, 1, 4, 5], [5, 3, 0, 4, 2, 1]], [[6, 70, 200], [1, 0, 2]], [[130000, 2], [1, 0]],
    ];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, perm] of CASES) {
        const x = values(rng, shape, dtype);
        const outShape = perm.map((p) => shape[p]);
        const want = gatherOracle(x, shape, outShape, (at) => {
          const src = new Array(shape.length);
          perm.forEach((p, i) => { src[p] = at[i]; });
          return src;
        }, dtype);
        check(() => tf.transpose(tf.tensor(x, shape, dtype), perm), want, `transpose ${dtype} ${JSON.stringify(shape)} ${perm}`);
      }
    }
  });

  test('Slice: strided and contiguous slices, size −1, float32 and int32', () => {
    const rng = new Rng(12);
    const CASES = [
      [[9], [2], [5]], [[5, 6], [1, 2], [3, 3]], [[5, 6], [2, 0], [2, -1]], [[4, 5, 6], [1, 1, 1], [2, 3, 4]],
      [[4, 5, 6], [0, 2, 0], [4, 1, 6]], [[2, 7, 9, 3], [1, 0, 4, 1], [1, -1, 5, 2]], [[1, 1, 5, 1], [0, 0, 1, 0], [1, 1, 3, 1]],
      [[3, 200, 201], [1, 3, 7], [2, 190, 190]], [[2, 3, 1, 4, 5, 3], [1, 0, 0, 2, 1, 1], [1, 2, 1, 2, 3, 1]],
      // one strided row of 210003 words: thread chunks begin and end inside it
      [[3, 70001, 2], [0, 0, 1], [3, 70001, 1]],
    ];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, begin, sz] of CASES) {
        const x = values(rng, shape, dtype);
        const outShape = sz.map((s, a) => (s === -1 ? shape[a] - begin[a] : s));
        const want = gatherOracle(x, shape, outShape, (at) => at.map((v, a) => v + begin[a]), dtype);
        check(() => tf.slice(tf.tensor(x, shape, dtype), begin, sz), want, `slice ${dtype} ${JSON.stringify([shape, begin, sz])}`);
      }
    }
  });

  test('Concat: any axis, several inputs, empty inputs skipped, float32 and int32', () => {
    const rng = new Rng(13);
    const CASES = [
      [[[3], [4]], 0], [[[2, 3], [2, 5], [2, 1]], 1], [[[2, 3], [4, 3]], 0], [[[2, 3, 4], [2, 3, 4]], -1],
      [[[2, 3, 4], [2, 1, 4], [2, 2, 4]], 1], [[[2, 0, 4], [2, 3, 4], [2, 2, 4]], 1], [[[1, 5, 1], [1, 5, 2]], 2],
      [[[4, 28, 28, 40], [4, 28, 28, 24]], 3], [[[2, 2, 1, 3, 2], [2, 2, 2, 3, 2]], 2],
      // each input one contiguous row longer than a thread chunk
      [[[70001], [140003]], 0], [[[2, 70001], [2, 3]], 1],
    ];
    for (const dtype of ['float32', 'int32']) {
      for (const [shapes, axis] of CASES) {
        const xs = shapes.map((s) => values(rng, s, dtype));
        const ax = axis < 0 ? axis + shapes[0].length : axis;
        const outShape = shapes[0].slice();
        outShape[ax] = shapes.reduce((a, s) => a + s[ax], 0);
        const want = blank(outShape, dtype);
        want.data.forEach((_, f) => {
          const at = loc(outShape, f);
          let k = 0;
          while (at[ax] >= shapes[k][ax]) at[ax] -= shapes[k++][ax];
          want.data[f] = xs[k][flat(shapes[k], at)];
        });
        check(() => tf.concat(xs.map((x, k) => tf.tensor(x, shapes[k], dtype)), axis), want, `concat ${dtype} ${JSON.stringify(shapes)} ${axis}`);
      }
    }
  });

  test('Pack and Unpack: every axis, float32 and int32', () => {
    const rng = new Rng(14);
    for (const dtype of ['float32', 'int32']) {
      for (const shape of [[5], [3, 4], [2, 1, 3], [3, 40, 700]]) {
        for (let axis = -shape.length - 1; axis <= shape.length; axis++) {
          const n = 3;
          const xs = Array.from({ length: n }, () => values(rng, shape, dtype));
          const ax = axis < 0 ? axis + shape.length + 1 : axis;
          const outShape = [...shape.slice(0, ax), n, ...shape.slice(ax)];
          const want = blank(outShape, dtype);
          want.data.forEach((_, f) => {
            const at = loc(outShape, f);
            want.data[f] = xs[at[ax]][flat(shape, at.filter((_, a) => a !== ax))];
          });
          check(() => tf.stack(xs.map((x) => tf.tensor(x, shape, dtype)), axis), want, `stack ${dtype} ${shape} ${axis}`);
          if (axis >= 0 && axis < outShape.length) {
            const pieces = Array.from({ length: n }, (_, k) => ({ shape, data: xs[k] }));
            check(() => tf.unstack(tf.tensor(want.data, outShape, dtype), axis), pieces, `unstack ${dtype} ${outShape} ${axis}`);
          }
        }
      }
    }
  });

  test('PadV2: zero and non-zero constants, negative paddings, rank 1 to 5, float32 and int32 (constant truncated)', () => {
    const rng = new Rng(15);
    const CASES = [
      [[5], [[2, 3]], 0], [[5], [[0, 0]], 1], [[3, 4], [[1, 0], [0, 2]], -2.5], [[2, 3, 4], [[0, 0], [1, 1], [2, 0]], 0],
      [[4, 28, 28, 3], [[0, 0], [3, 3], [3, 3], [0, 0]], 0], [[1, 2, 1, 3, 1], [[1, 1], [0, 1], [2, 0], [0, 0], [1, 2]], 7.75],
      // negative paddings go to the stock kernel (which crops in one dimension; beyond, it wraps rows)
      [[5], [[-1, 2]], 0],
    ];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, paddings, c] of CASES) {
        const x = values(rng, shape, dtype);
        const outShape = shape.map((n, a) => paddings[a][0] + n + paddings[a][1]);
        const fillValue = dtype === 'int32' ? Math.trunc(c) : Math.fround(c);
        const want = blank(outShape, dtype);
        want.data.forEach((_, f) => {
          const at = loc(outShape, f).map((v, a) => v - paddings[a][0]);
          want.data[f] = at.every((v, a) => v >= 0 && v < shape[a]) ? x[flat(shape, at)] : fillValue;
        });
        check(() => tf.pad(tf.tensor(x, shape, dtype), paddings, c), want, `pad ${dtype} ${JSON.stringify([shape, paddings, c])}`);
      }
    }
  });

  test('Tile: repetitions on every axis, rank 1 to 4, float32 and int32', () => {
    const rng = new Rng(16);
    const CASES = [[[5], [3]], [[2, 3], [1, 1]], [[2, 3], [3, 2]], [[1, 4, 1], [5, 1, 3]], [[2, 3, 4, 5], [1, 2, 1, 3]], [[64, 300], [2, 3]]];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, reps] of CASES) {
        const x = values(rng, shape, dtype);
        const outShape = shape.map((n, a) => n * reps[a]);
        const want = gatherOracle(x, shape, outShape, (at) => at.map((v, a) => v % shape[a]), dtype);
        check(() => tf.tile(tf.tensor(x, shape, dtype), reps), want, `tile ${dtype} ${JSON.stringify([shape, reps])}`);
      }
    }
  });

  test('SplitV: sizes and counts on every axis, float32 and int32', () => {
    const rng = new Rng(17);
    const CASES = [[[10], [3, 7], 0], [[4, 6], 3, 1], [[4, 6], [1, 0, 3], 0], [[2, 3, 8], [5, 3], -1], [[4, 28, 28, 64], [40, 24], 3]];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, split, axis] of CASES) {
        const x = values(rng, shape, dtype);
        const ax = axis < 0 ? axis + shape.length : axis;
        const sizes = Array.isArray(split) ? split : Array(split).fill(shape[ax] / split);
        let start = 0;
        const want = sizes.map((s) => {
          const outShape = shape.slice();
          outShape[ax] = s;
          const begin = start;
          start += s;
          return gatherOracle(x, shape, outShape, (at) => at.map((v, a) => (a === ax ? v + begin : v)), dtype);
        });
        check(() => tf.split(tf.tensor(x, shape, dtype), split, axis), want, `split ${dtype} ${JSON.stringify([shape, split, axis])}`);
      }
    }
  });

  test('GatherV2: any axis, batchDims 0 and 1, repeated indices, float32 and int32; out-of-range indices get tfjs\' error', () => {
    const rng = new Rng(22);
    const CASES = [
      [[5], [3], 0, 0], [[4, 6, 3], [2, 5], 1, 0], [[4, 6, 3], [7], 0, 0], [[4, 6, 3], [4], 2, 0], [[3, 7, 4], [3, 5], 1, 1],
      [[2, 9, 5], [2, 9, 4], 1, 1], [[2, 3, 9, 5], [2, 6], 2, 1], [[1, 1], [1], 1, 0], [[4, 196, 32], [4, 1764], 1, 1],
    ];
    for (const dtype of ['float32', 'int32']) {
      for (const [shape, idxShape, axis, batchDims] of CASES) {
        const x = values(rng, shape, dtype);
        const idx = Int32Array.from({ length: size(idxShape) }, () => rng.int(0, shape[axis] - 1));
        const outShape = [...shape.slice(0, axis), ...idxShape.slice(batchDims), ...shape.slice(axis + 1)];
        const want = gatherOracle(x, shape, outShape, (at) => {
          const i = at.slice(axis, axis + idxShape.length - batchDims);
          const src = [...at.slice(0, axis), idx[flat(idxShape, [...at.slice(0, batchDims), ...i])], ...at.slice(axis + i.length)];
          return src;
        }, dtype);
        check(() => tf.gather(tf.tensor(x, shape, dtype), tf.tensor(idx, idxShape, 'int32'), axis, batchDims), want,
          `gather ${dtype} ${JSON.stringify([shape, idxShape, axis, batchDims])}`);
      }
    }
    assertThrowsWith(() => tf.gather(tf.zeros([5, 2]), tf.tensor1d([1, 5], 'int32')), Error, [/GatherV2: the index value 5 is not in \[0, 4\]/]);
  });

  test('UnsortedSegmentSum: float64 sums in row order; empty segments, dropped ids; NaN spread as tfjs-cpu does', () => {
    const rng = new Rng(23);
    for (const [rows, inner, numSegments] of [[1, 1, 1], [7, 3, 4], [50, 1, 9], [200, 33, 17], [1764, 32, 196], [3000, 40, 3]]) {
      const x = Float32Array.from({ length: rows * inner }, () => rng.next() * 8 - 4);
      const ids = Int32Array.from({ length: rows }, () => rng.int(-1, numSegments));
      const acc = new Float64Array(numSegments * inner);
      ids.forEach((s, i) => {
        if (s < 0 || s >= numSegments) return;
        for (let c = 0; c < inner; c++) acc[s * inner + c] += x[i * inner + c];
      });
      const want = { shape: inner === 1 && rows === 50 ? [numSegments] : [numSegments, inner], data: Float32Array.from(acc) };
      const xShape = want.shape.length === 1 ? [rows] : [rows, inner];
      check(() => tf.unsortedSegmentSum(tf.tensor(x, xShape), tf.tensor1d(ids, 'int32'), numSegments), want,
        `unsortedSegmentSum ${rows} ${inner} ${numSegments}`);
    }
    // tfjs-cpu sums mask · x over all rows: ∞ or NaN in one segment's row makes that column NaN in every other
    const x = Float32Array.from([1, 2, Infinity, 3, NaN, 4, 5, 6, -Infinity, 7, -0, 8]);
    const ids = Int32Array.from([0, 1, 1, 2, 0, 3]);
    // (which NaN: JavaScript does not fix a NaN's bits, so only NaN-ness is compared)
    const run = () => read(() => tf.unsortedSegmentSum(tf.tensor2d(x, [6, 2]), tf.tensor1d(ids, 'int32'), 5));
    const nanText = (r) => Array.from(r.data, (v) => (Number.isNaN(v) ? 'NaN' : v));
    assert.equal(nanText(run()), nanText(withStockKernels('cpu', run)));
    assert.equal(nanText(run()), ['NaN', 9, 'NaN', 7, 'NaN', 6, 'NaN', 8, 'NaN', 0]);
    const inf = () => read(() => tf.unsortedSegmentSum(tf.tensor2d([1, Infinity, 2, 3], [2, 2]), tf.tensor1d([1, 1], 'int32'), 2));
    assert.equal(nanText(inf()), [0, 'NaN', 3, Infinity]);
    assert.equal(nanText(inf()), nanText(withStockKernels('cpu', inf)));
    const finite = read(() => tf.unsortedSegmentSum(tf.tensor2d([1, -0, 2, -0, 3, 5], [3, 2]), tf.tensor1d([1, 1, 0], 'int32'), 3));
    assertBitIdentical(finite, { shape: [3, 2], data: Float32Array.from([3, 5, 3, 0, 0, 0]) });
  });

  test('the gradient of a batched gather (the graph layers\' neighbours) equals the stock kernels\'', () => {
    const rng = new Rng(24);
    const x = values(rng, [3, 18, 16]).map((v) => (Number.isFinite(v) ? v : 1));
    const idx = Int32Array.from({ length: 3 * 18 * 9 }, () => rng.int(0, 17));
    const dy = values(rng, [3, 18, 9, 16]).map((v) => (Number.isFinite(v) ? v : 2));
    const run = () => read(() => tf.grad((v) => tf.mul(tf.gather(v, tf.tensor(idx, [3, 18, 9], 'int32'), 1, 1), tf.tensor(dy, [3, 18, 9, 16])))(tf.tensor(x, [3, 18, 16])));
    assertBitIdentical(run(), withStockKernels('cpu', run));
  });

  /** tfjs-backend-cpu's bilinear rule, written out: float64 coordinates and interpolation, one rounding. */
  function resizeOracle(x, [B, H, W, C], [oh, ow], alignCorners, halfPixelCenters) {
    const ratio = (inn, out) => (alignCorners && out > 1 ? (inn - 1) / (out - 1) : inn / out);
    const coord = (r, i, n) => {
      const at = halfPixelCenters ? r * (i + 0.5) - 0.5 : r * i;
      const lo = Math.max(0, Math.floor(at));
      return [lo, Math.min(n - 1, Math.ceil(at)), at - lo];
    };
    const out = new Float32Array(B * oh * ow * C);
    const px = (b, r, c, d) => x[((b * H + r) * W + c) * C + d];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < oh; i++) {
        const [r0, r1, fr] = coord(ratio(H, oh), i, H);
        for (let j = 0; j < ow; j++) {
          const [c0, c1, fc] = coord(ratio(W, ow), j, W);
          for (let d = 0; d < C; d++) {
            const top = px(b, r0, c0, d) + (px(b, r0, c1, d) - px(b, r0, c0, d)) * fc;
            const bottom = px(b, r1, c0, d) + (px(b, r1, c1, d) - px(b, r1, c0, d)) * fc;
            out[((b * oh + i) * ow + j) * C + d] = top + (bottom - top) * fr;
          }
        }
      }
    }
    return { shape: [B, oh, ow, C], data: out };
  }

  test('ResizeBilinear: up and down, odd sizes, 1-pixel images, every alignCorners / halfPixelCenters pair', () => {
    const rng = new Rng(18);
    const CASES = [
      [[1, 1, 1, 1], [3, 2]], [[2, 5, 7, 3], [11, 4]], [[2, 8, 8, 4], [4, 4]], [[1, 3, 4, 2], [1, 1]], [[3, 6, 1, 5], [9, 3]],
      [[4, 14, 14, 33], [28, 28]], [[2, 28, 28, 16], [56, 56]], [[1, 9, 13, 1], [5, 20]],
    ];
    for (const [shape, sz] of CASES) {
      const x = values(rng, shape);
      for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]]) {
        const want = resizeOracle(x, shape, sz, alignCorners, halfPixelCenters);
        check(() => tf.image.resizeBilinear(tf.tensor(x, shape), sz, alignCorners, halfPixelCenters), want,
          `resize ${shape} → ${sz} ${alignCorners} ${halfPixelCenters}`);
      }
    }
  });

  /** tfjs-backend-cpu's max pool written out: geometry from computePool2DInfo, strictly greater wins. */
  function poolOracle(x, shape, filter, stride, pad, rounding) {
    const info = tf.backend_util.computePool2DInfo(shape, filter, stride, 1, pad, rounding);
    const [B, H, W, C] = shape;
    const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const out = new Float32Array(B * oh * ow * C);
    const argmax = new Int32Array(out.length).fill(-1);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let d = 0; d < C; d++) {
            let best = -Infinity;
            let at = -1;
            for (let r = Math.max(0, i * sh - top); r < Math.min(H, i * sh - top + fh); r++) {
              for (let c = Math.max(0, j * sw - left); c < Math.min(W, j * sw - left + fw); c++) {
                const v = x[((b * H + r) * W + c) * C + d];
                if (v > best) { best = v; at = ((b * H + r) * W + c) * C + d; }
              }
            }
            out[((b * oh + i) * ow + j) * C + d] = best;
            argmax[((b * oh + i) * ow + j) * C + d] = at;
          }
        }
      }
    }
    // a 1×1 pool that keeps the shape is an identity in tfjs (NaN stays); the gradient's maxima are as above
    if (fh === 1 && fw === 1 && oh === H && ow === W) out.set(x);
    return { out: { shape: [B, oh, ow, C], data: out }, argmax };
  }

  /** dx: each window's dy added at its first maximum, in float64 in window order, rounded once. */
  function poolGradOracle(dy, argmax, shape) {
    const acc = new Float64Array(size(shape));
    argmax.forEach((at, o) => { if (at >= 0) acc[at] += dy[o]; });
    return { shape, data: Float32Array.from(acc) };
  }

  const POOLS = [
    [[1, 1, 1, 1], 1, 1, 'valid'], [[2, 6, 6, 3], 2, 2, 'valid'], [[2, 7, 5, 3], 3, 2, 'same'], [[2, 7, 5, 3], [3, 2], [1, 2], 'same'],
    [[1, 9, 9, 5], 3, 1, 'valid'], [[2, 8, 7, 4], 3, 2, 1], [[1, 5, 5, 2], 4, 3, 0, 'ceil'], [[1, 6, 6, 2], 1, 2, 'valid'],
    [[4, 56, 56, 24], 3, 2, 'same'], [[1, 4, 4, 70], 5, 1, 'same'],
  ];

  test('MaxPool: valid, same and explicit padding; overlapping windows; NaN never wins, −∞ and ties', () => {
    const rng = new Rng(19);
    for (const [shape, filter, stride, pad, rounding] of POOLS) {
      const x = values(rng, shape);
      // many ties: values on a coarse grid
      for (let i = 0; i < x.length; i += 3) x[i] = Math.round(x[i]);
      const { out } = poolOracle(x, shape, filter, stride, pad, rounding);
      check(() => tf.maxPool(tf.tensor(x, shape), filter, stride, pad, rounding), out, `maxPool ${JSON.stringify([shape, filter, stride, pad, rounding])}`);
    }
    // a window of NaN and −∞ only gives −∞; −0 before 0 keeps −0
    const nan = read(() => tf.maxPool(tf.tensor4d([NaN, -Infinity, NaN, NaN, -0, 0, 0, -0], [1, 4, 2, 1]), [2, 2], 2, 'valid'));
    assertBitIdentical(nan, { shape: [1, 2, 1, 1], data: Float32Array.from([-Infinity, -0]) });
  });

  test('MaxPoolGrad: the gradient goes to the first maximum of each window, summed where windows overlap', () => {
    const rng = new Rng(20);
    // tfjs' MaxPool gradient drops dimRoundingMode (its MaxPoolGrad then sees floor rounding): not a case here
    for (const [shape, filter, stride, pad] of POOLS.filter((c) => !c[4])) {
      const rounding = undefined;
      const x = values(rng, shape);
      for (let i = 0; i < x.length; i += 3) x[i] = Math.round(x[i]);
      const { out, argmax } = poolOracle(x, shape, filter, stride, pad, rounding);
      const dy = values(rng, out.shape);
      const want = poolGradOracle(dy, argmax, shape);
      const grad = () => {
        const g = tf.grad((v) => tf.mul(tf.maxPool(v, filter, stride, pad, rounding), tf.tensor(dy, out.shape)));
        return g(tf.tensor(x, shape));
      };
      check(grad, want, `maxPoolGrad ${JSON.stringify([shape, filter, stride, pad, rounding])}`);
    }
  });

  /** tfjs-backend-cpu's average pool and its gradient written out: float64 sums in window order. */
  function avgPoolOracle(x, dy, shape, filter, stride, pad, rounding) {
    const info = tf.backend_util.computePool2DInfo(shape, filter, stride, 1, pad, rounding);
    const [B, H, W, C] = shape;
    const { outHeight: oh, outWidth: ow, filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { top, left } = info.padInfo;
    const out = new Float32Array(B * oh * ow * C);
    const acc = new Float64Array(B * H * W * C);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          for (let d = 0; d < C; d++) {
            let sum = 0;
            let count = 0;
            const o = ((b * oh + i) * ow + j) * C + d;
            for (let r = Math.max(0, i * sh - top); r < Math.min(H, i * sh - top + fh); r++) {
              for (let c = Math.max(0, j * sw - left); c < Math.min(W, j * sw - left + fw); c++) {
                sum += x[((b * H + r) * W + c) * C + d];
                count++;
                if (dy) acc[((b * H + r) * W + c) * C + d] += dy[o];
              }
            }
            out[o] = sum / count;
          }
        }
      }
    }
    if (fh === 1 && fw === 1 && oh === H && ow === W) out.set(x);
    return { out: { shape: [B, oh, ow, C], data: out }, dx: { shape, data: Float32Array.from(acc, (v) => v * (1 / (fh * fw))) } };
  }

  test('AvgPool and AvgPoolGrad: float64 window sums; padded windows average fewer pixels, the gradient divides by the whole window', () => {
    const rng = new Rng(25);
    for (const [shape, filter, stride, pad, rounding] of POOLS) {
      const x = values(rng, shape);
      const { out } = avgPoolOracle(x, null, shape, filter, stride, pad, rounding);
      check(() => tf.avgPool(tf.tensor(x, shape), filter, stride, pad, rounding), out, `avgPool ${JSON.stringify([shape, filter, stride, pad, rounding])}`);
      if (rounding) continue; // (tfjs' AvgPool gradient drops dimRoundingMode, as MaxPool's does)
      const finite = x.map((v) => (Number.isFinite(v) ? v : 0.5));
      const dy = values(rng, out.shape).map((v) => (Number.isFinite(v) ? v : -0.25));
      const { dx } = avgPoolOracle(finite, dy, shape, filter, stride, pad);
      const grad = () => tf.grad((v) => tf.mul(tf.avgPool(v, filter, stride, pad), tf.tensor(dy, out.shape)))(tf.tensor(finite, shape));
      check(grad, dx, `avgPoolGrad ${JSON.stringify([shape, filter, stride, pad])}`);
    }
  });

  test('a long copy is split over the pool, one long row included (contiguous and strided)', () => {
    setNumThreads(2);
    const pooled = () => addon.info().pooledRuns;
    const CASES = [
      ['concat [1 << 17] + [1 << 17]', () => [tf.zeros([1 << 17]), tf.ones([1 << 17])], (a, b) => tf.concat([a, b])],
      ['slice of every other word of [1 << 18]', () => [tf.zeros([1 << 17, 2])], (a) => tf.slice(a, [0, 1], [-1, 1])],
    ];
    for (const [what, inputs, op] of CASES) {
      tf.tidy(() => {
        const xs = inputs();
        const before = pooled();
        op(...xs).dataSync();
        assert.ok(pooled() > before, `${what} ran on one thread`);
      });
    }
  });

  test('the same bits for 1 and 2 threads', () => {
    const rng = new Rng(21);
    const x = values(rng, [4, 56, 56, 24]);
    const run = () => read(() => {
      const t = tf.tensor(x, [4, 56, 56, 24]);
      const dx = tf.grad((v) => tf.maxPool(v, 3, 2, 'same'))(t);
      return [tf.transpose(t, [0, 3, 1, 2]), tf.slice(t, [1, 2, 3, 1], [3, 50, 40, 20]), tf.concat([t, t], 3),
        tf.image.resizeBilinear(t, [97, 31], false, true), tf.maxPool(t, 3, 2, 'same'), dx, tf.pad(t, [[0, 0], [2, 1], [1, 2], [0, 0]]),
        tf.avgPool(t, 3, 2, 'same'), tf.grad((v) => tf.avgPool(v, 3, 2, 'same'))(t),
        tf.gather(t, tf.tensor2d(Int32Array.from({ length: 4 * 200 }, (_, i) => (i * 7) % 56), [4, 200], 'int32'), 1, 1),
        tf.unsortedSegmentSum(tf.reshape(t, [224, 1344]), tf.tensor1d(Int32Array.from({ length: 224 }, (_, i) => (i * 5) % 17), 'int32'), 17)];
    });
    assertSameBitsForThreads(run, 'output');
  });

  test('a tiny-model training step: the same loss and gradients, bit for bit, as with the stock kernels in their place', () => {
    const config = modelConfig('tiny');
    const model = new AuModel(config, 1);
    const s = config.inputSize;
    const step = () => tf.tidy(() => {
      const images = tf.randomNormal([2, s, s, 3], 0, 1, 'float32', 5);
      const labels = tf.cast(tf.greater(tf.randomUniform([2, model.numAus], 0, 1, 'float32', 6), 0.7), 'float32');
      const landmarks = tf.randomUniform([2, 49, 2], 0.3 * s, 0.7 * s, 'float32', 7);
      const { value, grads } = tf.variableGrads(() => {
        const out = model.apply(images, { training: true });
        return tf.add(tf.losses.sigmoidCrossEntropy(labels, out.logits), tf.mul(tf.losses.meanSquaredError(landmarks, out.landmarks), 1e-3));
      }, model.trainableVariables());
      return [value, ...Object.keys(grads).sort().map((k) => grads[k])].map((t) => ({ shape: t.shape, data: t.dataSync().slice() }));
    });
    const ours = step();
    // only this family's kernels go back to stock (SplitV to the earlier JavaScript block copy)
    const saved = Object.keys(MOVEMENT_KERNELS).map((name) => tf.getKernel(name, 'cpu'));
    for (const name of Object.keys(MOVEMENT_KERNELS)) {
      tf.unregisterKernel(name, 'cpu');
      const stock = stockKernel(name, 'cpu');
      tf.registerKernel(name === tf.SplitV ? { ...stock, kernelFunc: splitVByBlocks(stock.kernelFunc) } : stock);
    }
    let theirs;
    try {
      theirs = step();
    } finally {
      for (const k of saved) {
        tf.unregisterKernel(k.kernelName, 'cpu');
        tf.registerKernel(k);
      }
    }
    assert.ok(ours.length > 100, `${ours.length} arrays`);
    ours.forEach((r, i) => assertBitIdentical(r, theirs[i], `array ${i}`));
  });

  test('bool and complex tensors and the zero-copy cases go to the stock kernels', () => {
    const b = tf.tensor2d([true, false, true, true, false, false], [2, 3], 'bool');
    const r = read(() => [tf.transpose(b), tf.slice(b, [0, 1], [2, 2]), tf.concat([b, b], 1), tf.tile(b, [2, 1]), tf.pad(b, [[1, 0], [0, 1]])]);
    assert.equal(Array.from(r[0].data), [1, 1, 0, 0, 1, 0]);
    assert.equal(Array.from(r[1].data), [0, 1, 0, 0]);
    assert.equal(Array.from(r[2].data), [1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0]);
    assert.equal(r[3].shape, [4, 3]);
    assert.equal(Array.from(r[4].data), [0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0]);
    b.dispose();
    const c = tf.complex([1, 2, 3, 4], [5, 6, 7, 8]);
    const ct = tf.transpose(tf.reshape(c, [2, 2]));
    assert.equal(Array.from(ct.dataSync()), [1, 5, 3, 7, 2, 6, 4, 8]);
    tf.dispose([c, ct]);
    // a leading-axis slice stays a view of its input's memory, as in tfjs
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const s = tf.slice(x, [1, 0], [1, 2]);
    assert.equal(Array.from(s.dataSync()), [3, 4]);
    tf.dispose([x, s]);
  });

  test('the raw addon refuses arguments that would reach outside its arrays', () => {
    const a = new Float32Array(12);
    const copy = (changes) => () => addon.copyStrided({ src: a, srcOffset: 0, srcStrides: [4, 1], dst: a.slice(), dstOffset: 0, dstStrides: [4, 1],
      shape: [3, 4], ...changes });
    assertThrowsWith(copy({ dst: new Float32Array(11) }), RangeError,
      [/^Expected more than 11 \(the last word the copy reaches\) for dst\.length but received 11$/]);
    assertThrowsWith(copy({ srcOffset: 1 }), RangeError, [/for src\.length/]);
    assertThrowsWith(copy({ srcStrides: [4, -1] }), RangeError, [/for srcStrides\[1\]/]);
    assertThrowsWith(copy({ srcStrides: [4] }), RangeError, [/for srcStrides\.length/]);
    assertThrowsWith(copy({ dst: new Int32Array(12) }), TypeError, [/Float32Array for dst/]);
    assertThrowsWith(copy({ dstOffset: -1 }), RangeError, [/^Expected an integer between 0 and 2147483647 for dstOffset but received -1$/]);
    assertThrowsWith(copy({ srcStrides: Array(17).fill(0), dstStrides: Array(17).fill(0), shape: Array(17).fill(1) }), RangeError,
      [/for srcStrides\.length/]);
    copy({ dst: new Float32Array(0), shape: [0, 4] })(); // nothing to copy
    const gather = (changes) => () => addon.gather({ x: a, indices: Int32Array.from([0, 3]), batch: 1, outer: 1, dimSize: 4, slice: 3, count: 2,
      out: new Float32Array(6), ...changes });
    assertThrowsWith(gather({ indices: Int32Array.from([0, 4]) }), RangeError,
      [/^Expected an index in \[0, 4\) \(dimSize\) for indices\[0, 1\] but received 4$/]);
    assertThrowsWith(gather({ out: new Float32Array(5) }), RangeError, [/for out\.length/]);
    assertThrowsWith(gather({ slice: 4, out: new Float32Array(8) }), RangeError, [/for x\.length/]);
    assertThrowsWith(gather({ indices: [0, 3] }), TypeError, [/^Expected a Int32Array for indices but received array$/]);
    const segmentSum = (changes) => () => addon.unsortedSegmentSum({ x: a, segmentIds: new Int32Array(4), rows: 4, inner: 3, numSegments: 2,
      out: new Float32Array(6), ...changes });
    assertThrowsWith(segmentSum({ segmentIds: new Int32Array(5) }), RangeError, [/for segmentIds\.length/]);
    assertThrowsWith(segmentSum({ out: new Float32Array(5) }), RangeError, [/for out\.length/]);
    const resize = (changes) => () => addon.resizeBilinear({ x: a, batch: 1, inHeight: 2, inWidth: 3, channels: 2, outHeight: 4, outWidth: 4,
      alignCorners: false, halfPixelCenters: false, out: new Float32Array(32), ...changes });
    assertThrowsWith(resize({ out: new Float32Array(31) }), RangeError, [/for out\.length/]);
    assertThrowsWith(resize({ channels: 3, out: new Float32Array(48) }), RangeError, [/for x\.length/]);
    assertThrowsWith(resize({ outHeight: 0, out: a }), RangeError, [/for outHeight/]);
    assertThrowsWith(resize({ alignCorners: 'no' }), TypeError, [/^Expected a boolean for alignCorners but received "no"$/]);
    const pool = { batch: 1, inHeight: 2, inWidth: 3, channels: 2, outHeight: 1, outWidth: 1, filterHeight: 2, filterWidth: 2, strideHeight: 2,
      strideWidth: 2, padTop: 0, padLeft: 0 };
    assertThrowsWith(() => addon.maxPool({ ...pool, padTop: -1, x: a, out: new Float32Array(2) }), RangeError, [/for padTop/]);
    assertThrowsWith(() => addon.maxPool({ ...pool, outWidth: 2, x: a, out: new Float32Array(2) }), RangeError, [/for out\.length/]);
    assertThrowsWith(() => addon.avgPool({ ...pool, x: a, out: new Float32Array(3) }), RangeError, [/for out\.length/]);
    assertThrowsWith(() => addon.avgPoolGrad({ ...pool, dy: new Float32Array(2), dx: new Float32Array(13) }), RangeError, [/for dx\.length/]);
    assertThrowsWith(() => addon.maxPoolGrad({ ...pool, strideHeight: 0, dy: new Float32Array(2), x: a, dx: a.slice() }), RangeError,
      [/for strideHeight/]);
    assertThrowsWith(() => addon.maxPoolGrad({ ...pool, dy: new Float32Array(2), x: a, dx: new Float32Array(11) }), RangeError,
      [/for dx\.length/]);
  });
}

test('float32 tensors the cpu backend keeps in an Int32Array or Uint8Array (a cast from int32 or bool shares it) are copied as numbers', () => {
  // tfjs-cpu's Cast to a wider type is an identity: the float32 result keeps the int32 or bool storage
  const ints = tf.tensor([[3, -7, 21], [0, 1024, -1]], [2, 3], 'int32');
  const asFloat = tf.cast(ints, 'float32');
  const fromBool = tf.cast(tf.tensor([[1, 0, 1], [0, 0, 1]], [2, 3], 'bool'), 'float32');
  const plain = tf.tensor([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]);
  const cases = [
    () => tf.concat([asFloat, plain], 0), () => tf.concat([plain, fromBool], 1), () => tf.transpose(asFloat),
    () => tf.stack([asFloat, fromBool]), () => tf.pad(asFloat, [[1, 0], [0, 2]], 9), () => tf.tile(fromBool, [2, 1]),
    () => tf.gather(asFloat, tf.tensor1d([1, 0, 1], 'int32')), () => tf.slice(asFloat, [0, 1], [2, 2]),
  ];
  for (const [i, make] of cases.entries()) {
    const got = make();
    const want = withStockKernels('cpu', make);
    assert.is(got.dtype, 'float32');
    assert.equal(Array.from(got.dataSync()), Array.from(want.dataSync()), `case ${i}`);
  }
});

test.run();
