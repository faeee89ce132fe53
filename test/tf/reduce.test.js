/**
 * The native reduction tfjs kernels on the cpu backend (src/tf/kernels/reduce.ts): Sum, Mean, Prod against
 * a float64 oracle written here with a tolerance that scales with the number of terms; Max, Min, ArgMax,
 * ArgMin and their NaN / ±0 rules bit for bit against the oracle and tfjs' stock kernels; Softmax against
 * both; any axes set (none, all, non-contiguous, size-1 axes, negative, keepDims) on shapes from rank 0 to
 * rank 6 and sizes that span several thread chunks; the same bits for 1 and 2 threads; other dtypes left
 * to the stock kernels; the raw addon refusing bad arguments.
 */
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { withStockKernels } from '../../dist/tf/index.js';
import { assertBitIdentical, assertClose, assertEqualValues, assertThrowsWith, assertUlps, ulpDistance } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { assertSameBitsForThreads, cpuKernelSuite, testFastKernelRegistration } from '../helpers/kernels.js';
import { Rng, numel } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = cpuKernelSuite('native reduction tfjs kernels (cpu)');

const U32 = 2 ** -24; // float32 unit roundoff
const U64 = 2 ** -53; // float64 unit roundoff

/** [shape, axis attribute] pairs; null = all axes. */
const CASES = [
  [[], null], [[], []], [[7], null], [[7], 0], [[1], 0], [[5, 7], 0], [[5, 7], 1], [[5, 7], -1], [[5, 7], []],
  [[3, 4, 5], [0, 2]], [[3, 4, 5], [1]], [[3, 4, 5], [0, 1]], [[3, 4, 5], [1, 2]], [[4, 1, 6], [1]], [[4, 1, 6], [0, 1]],
  [[2, 3, 1, 5], [1, 2]], [[1, 1, 9], [0, 1]], [[2, 3, 4, 5, 3, 2], [0, 2, 4]], [[2, 3, 4, 5, 3, 2], [1, 3, 5]],
  [[4, 14, 14, 33], [0, 1, 2]], [[4, 7, 7, 64], [3]], [[300, 257], 1], [[600, 1030], 0],
  // few outputs and many terms: the reduced range is cut into chunks
  [[3, 70001], 1], [[70001], null], [[50001, 3], 0], [[4, 802, 240], [0, 1]], [[9, 4099, 5], [0, 1]], [[20, 3000, 2], [0, 2]],
];

const axesOf = (axis, shape) => (axis === null ? shape.map((_, i) => i) : [axis].flat().map((a) => (a < 0 ? a + shape.length : a)));

/**
 * For every output (kept axes in order), the inputs it reduces in memory order, as flat indices.
 */
function groups(shape, axis) {
  const axes = axesOf(axis, shape);
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const red = shape.map((_, i) => i).filter((i) => axes.includes(i));
  const strides = shape.map((_, i) => numel(shape.slice(i + 1)));
  const walk = (dims) => {
    const out = [];
    const n = numel(dims.map((d) => shape[d]));
    for (let f = 0; f < n; f++) {
      let rest = f;
      let off = 0;
      for (let i = dims.length - 1; i >= 0; i--) {
        off += (rest % shape[dims[i]]) * strides[dims[i]];
        rest = Math.floor(rest / shape[dims[i]]);
      }
      out.push(off);
    }
    return out;
  };
  const inner = walk(red);
  return { outShape: kept.map((i) => shape[i]), axes, members: walk(kept).map((base) => inner.map((o) => base + o)) };
}

/** Neumaier's compensated float64 sum: exact to ~1e-16 relative for these sizes. */
function exactSum(values) {
  let s = 0;
  let c = 0;
  for (const v of values) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

/** tfjs' rule: the first element, replaced by any later NaN or strictly larger (smaller) value. */
function extreme(values, larger) {
  let m = values[0];
  for (const v of values) if (Number.isNaN(v) || (larger ? v > m : v < m)) m = v;
  return m;
}

const sizeOf = (shape) => numel(shape);

function run(fn, shape, data) {
  return tf.tidy(() => {
    const r = fn(tf.tensor(data, shape, 'float32'));
    return { shape: r.shape, data: r.dataSync().slice(), dtype: r.dtype };
  });
}

function randomData(rng, n, lo = -2, hi = 2) {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

const OPS = {
  sum: (x, axis, keepDims) => tf.sum(x, axis, keepDims),
  mean: (x, axis, keepDims) => tf.mean(x, axis, keepDims),
  prod: (x, axis, keepDims) => tf.prod(x, axis, keepDims),
  max: (x, axis, keepDims) => tf.max(x, axis, keepDims),
  min: (x, axis, keepDims) => tf.min(x, axis, keepDims),
};


testFastKernelRegistration(test, addon, { what: 'reduction', names: ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'Softmax', 'ArgMax', 'ArgMin'], stock: 'Sum' });
if (addon) {
  // Sum and Mean add in double and round once. Any order of n − 1 double additions is within
  // (n − 1)·u64·Σ|x| of the exact sum, and the rounding to float32 adds u32·|sum|: the tolerance is that
  // bound (a float32 accumulator, off by up to (n − 1)·u32·Σ|x|, fails it on the large cases).
  for (const name of ['sum', 'mean']) {
    test(`${name}: every axes set within the double-accumulation bound of the exact ${name}`, () => {
      const rng = new Rng(name.length * 31337);
      for (const [shape, axis] of CASES) {
        for (const keepDims of [false, true]) {
          const data = randomData(rng, sizeOf(shape));
          const { outShape, axes, members } = groups(shape, axis);
          const want = new Float64Array(members.length);
          const tol = new Float64Array(members.length);
          members.forEach((m, o) => {
            const n = m.length;
            const div = name === 'mean' ? n : 1;
            want[o] = exactSum(m.map((i) => data[i])) / div;
            tol[o] = 1.0001 * (U32 * Math.abs(want[o]) + (n + 1) * U64 * exactSum(m.map((i) => Math.abs(data[i]))) / div);
          });
          const got = run((x) => OPS[name](x, axis, keepDims), shape, data);
          const shapeWant = keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : outShape;
          const msg = `${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
          assert.equal(got.shape, shapeWant, msg);
          assertClose(got.data, want, { rtol: 0, atol: tol }, msg);
        }
      }
    });
  }

  test('prod: within n·u64 relative of the float64 product, rounded once; overflow, 0·∞ and NaN as IEEE', () => {
    const rng = new Rng(4242);
    for (const [shape, axis] of CASES) {
      const data = randomData(rng, sizeOf(shape), 0.999, 1.001);
      for (let i = 0; i < data.length; i += 97) data[i] = -data[i];
      const { members } = groups(shape, axis);
      const want = Float64Array.from(members, (m) => m.reduce((p, i) => p * data[i], 1));
      const tol = Float64Array.from(members, (m, o) => 1.0001 * (U32 + 2 * (m.length + 1) * U64) * Math.abs(want[o]));
      assertClose(run((x) => tf.prod(x, axis), shape, data).data, want, { rtol: 0, atol: tol }, `prod ${JSON.stringify(shape)}`);
    }
    const special = run((x) => tf.prod(x, 1), [4, 3], Float32Array.from([1e30, 1e30, -1e30, 0, Infinity, 2, NaN, 1, 1, 1e-30, 1e-30, 1e-30]));
    assert.equal(Array.from(special.data.slice(0, 1)), [-Infinity]);
    assert.ok(Number.isNaN(special.data[1]) && Number.isNaN(special.data[2]), '0·∞ and NaN give NaN');
    assert.is(special.data[3], 0);
  });

  for (const name of ['max', 'min']) {
    test(`${name}: every axes set bit-identical to the oracle and to tfjs' stock kernel`, () => {
      const rng = new Rng(name.length * 7);
      for (const [shape, axis] of CASES) {
        // few distinct values, so ties are common
        const data = Float32Array.from({ length: sizeOf(shape) }, () => Math.round(rng.next() * 40 - 20) / 4);
        const { members } = groups(shape, axis);
        const want = Float32Array.from(members, (m) => extreme(m.map((i) => data[i]), name === 'max'));
        for (const keepDims of [false, true]) {
          const msg = `${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims}`;
          const got = run((x) => OPS[name](x, axis, keepDims), shape, data);
          assertBitIdentical(got.data, want, msg);
          assertBitIdentical(got, withStockKernels('cpu', () => run((x) => OPS[name](x, axis, keepDims), shape, data)), `${msg} vs stock`);
        }
      }
    });
  }

  test('max and min: NaN anywhere gives NaN; ±0 ties keep the first in memory order, as the stock kernels', () => {
    const rows = [
      [-0, 0, -1, -2, -3, -4, -5, -6, -7], [0, -0, -1, -2, -3, -4, -5, -6, -7], [-5, -0, -5, -5, -5, -5, -5, -5, 0],
      [-5, 0, -5, -5, -5, -5, -5, -5, -0], [NaN, 1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, NaN],
      [1, 2, 3, 4, NaN, -Infinity, Infinity, 7, 8], [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [5, 0, 5, 5, 5, 5, 5, 5, -0], [5, -0, 5, 5, 5, 5, 5, 5, 0],
    ];
    const data = Float32Array.from(rows.flat());
    for (const [name, shape, axis] of [['max', [10, 9], 1], ['min', [10, 9], 1], ['max', [10, 9], 0], ['min', [10, 9], 0], ['max', [90], 0]]) {
      const got = run((x) => OPS[name](x, axis), shape, data);
      const stock = withStockKernels('cpu', () => run((x) => OPS[name](x, axis), shape, data));
      assertBitIdentical(got, stock, `${name} ${JSON.stringify(shape)} axis ${axis}`);
    }
    // a long row: zeros far apart, spread over chunks and lanes
    const long = new Float32Array(100003).fill(-1);
    long[70001] = -0;
    long[90001] = 0;
    for (const shape of [[100003], [1, 100003]]) {
      const got = run((x) => tf.max(x, -1), shape, long);
      assert.ok(Object.is(got.data[0], -0), `max of a long row is the first zero, −0 (shape ${JSON.stringify(shape)})`);
    }
  });

  test('sum: ±∞ and NaN propagate as in IEEE arithmetic; -0 alone sums to 0 as tfjs (it starts at 0)', () => {
    const data = Float32Array.from([Infinity, 1, 2, -Infinity, 1, 2, Infinity, -Infinity, 3, NaN, 1, 2, 3.4e38, 3.4e38, -3.4e38, -0, -0, -0]);
    const got = run((x) => tf.sum(x, 1), [6, 3], data);
    const stock = withStockKernels('cpu', () => run((x) => tf.sum(x, 1), [6, 3], data));
    assertBitIdentical(got, stock);
    assert.equal(Array.from(got.data.slice(0, 2)), [Infinity, -Infinity]);
    assert.ok(Number.isNaN(got.data[2]) && Number.isNaN(got.data[3]));
    assert.is(got.data[4], Math.fround(3.4e38), 'the double sum does not overflow on the way');
    assert.ok(Object.is(got.data[5], 0), '−0 + −0 + −0 from a start of 0 is +0');
  });

  test('sum, mean, prod: against the stock kernels (which sum sequentially in float64; Mean divides first)', () => {
    const rng = new Rng(99);
    let worst = { sum: 0, mean: 0, prod: 0 };
    for (const [shape, axis] of CASES) {
      const data = randomData(rng, sizeOf(shape), 0.5, 1.5);
      for (const name of ['sum', 'mean', 'prod']) {
        const got = run((x) => OPS[name](x, axis), shape, data);
        const stock = withStockKernels('cpu', () => run((x) => OPS[name](x, axis), shape, data));
        assert.equal(got.shape, stock.shape);
        for (let i = 0; i < got.data.length; i++) worst[name] = Math.max(worst[name], ulpDistance(got.data[i], stock.data[i]));
      }
    }
    // sum: both round a double sum once; mean: tfjs rounds every x/n to float32 before adding, up to
    // u32·Σ|x|/n away, a few ulps of the mean for positive data; prod: both round one double product
    assert.ok(worst.sum <= 1, `sum ${worst.sum} ulps from stock`);
    assert.ok(worst.mean <= 4, `mean ${worst.mean} ulps from stock`);
    assert.ok(worst.prod <= 1, `prod ${worst.prod} ulps from stock`);
    // mixed signs: stock Mean's float32 rounding of every x/n moves it by up to u32·Σ|x|/n, and each side
    // rounds its result once (u32·|mean| ≤ u32·Σ|x|/n each)
    for (const [shape, axis] of CASES) {
      const data = randomData(rng, sizeOf(shape));
      const { members } = groups(shape, axis);
      const tol = Float64Array.from(members, (m) => 3.0001 * U32 * exactSum(m.map((i) => Math.abs(data[i]))) / m.length);
      const got = run((x) => tf.mean(x, axis), shape, data);
      const stock = withStockKernels('cpu', () => run((x) => tf.mean(x, axis), shape, data));
      assertClose(got.data, stock.data, { rtol: 0, atol: tol }, `mean ${JSON.stringify(shape)} vs stock`);
    }
  });

  /** float64 softmax rows rounded once. */
  function softmaxOracle(data, n) {
    const out = new Float32Array(data.length);
    for (let r = 0; r < data.length / n; r++) {
      const row = Array.from(data.subarray(r * n, (r + 1) * n));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = exactSum(e);
      e.forEach((v, j) => { out[r * n + j] = v / s; });
    }
    return out;
  }

  test('softmax: within the rounding of tfjs\' chain of float64, and 2 ulps of the stock kernel, any rank, rows over several chunks', () => {
    const rng = new Rng(5150);
    let worstStock = 0;
    for (const shape of [[1], [7], [5, 1], [3, 7], [4, 12, 802], [4, 1, 196, 16], [2, 3, 2, 2, 5], [70, 1000]]) {
      const data = randomData(rng, sizeOf(shape), -20, 20);
      const got = run((x) => tf.softmax(x), shape, data);
      assert.equal(got.shape, shape);
      // the stock chain rounds x − max (relative u32, so exp(·) moves by up to |x − max|·u32 relative),
      // then exp(·), the sum and the quotient (u32 each, relative)
      const n = shape[shape.length - 1];
      const want = softmaxOracle(data, n);
      const tol = want.map((w, i) => {
        const row = Math.floor(i / n) * n;
        const m = Math.max(...data.subarray(row, row + n));
        return 1.0001 * (Math.abs(data[i] - m) + 4) * U32 * w;
      });
      assertClose(got.data, want, { rtol: 0, atol: Float64Array.from(tol) }, `softmax ${JSON.stringify(shape)}`);
      const stock = withStockKernels('cpu', () => run((x) => tf.softmax(x), shape, data));
      for (let i = 0; i < got.data.length; i++) worstStock = Math.max(worstStock, ulpDistance(got.data[i], stock.data[i]));
    }
    // exp(·) and the row sum may each round 1 ulp apart from JavaScript's (a few elements in 10⁴)
    assert.ok(worstStock <= 2, `softmax ${worstStock} ulps from stock`);
  });

  test('softmax: huge, infinite and NaN logits as the stock kernel (NaN rows where it gives NaN)', () => {
    const rows = [[1e30, 1e30, -1e30, 0], [-Infinity, 0, 1, 2], [Infinity, 0, 1, 2], [NaN, 0, 1, 2], [-88, -89, -100, -200], [3.4e38, -3.4e38, 0, 1]];
    const data = Float32Array.from(rows.flat());
    const got = run((x) => tf.softmax(x), [6, 4], data);
    const stock = withStockKernels('cpu', () => run((x) => tf.softmax(x), [6, 4], data));
    for (let i = 0; i < data.length; i++) {
      assert.is(Number.isNaN(got.data[i]), Number.isNaN(stock.data[i]), `NaN-ness at ${i}`);
      if (!Number.isNaN(stock.data[i])) assert.ok(ulpDistance(got.data[i], stock.data[i]) <= 1, `at ${i}: ${got.data[i]} vs ${stock.data[i]}`);
    }
    assert.equal(Array.from(got.data.slice(0, 4)), [0.5, 0.5, 0, 0]);
  });

  test('argMax and argMin: first extreme index along any axis, NaN never chosen after the first element, as stock', () => {
    const rng = new Rng(777);
    for (const [shape, axis] of [[[7], 0], [[1], 0], [[5, 7], 0], [[5, 7], 1], [[3, 4, 5], 1], [[3, 4, 5], -1], [[2, 700, 3], 1], [[600, 1030], 0], [[4, 1, 6], 1]]) {
      const data = Float32Array.from({ length: sizeOf(shape) }, () => Math.round(rng.next() * 8));
      for (let i = 3; i < data.length; i += 11) data[i] = NaN;
      const a = axis < 0 ? axis + shape.length : axis;
      const outer = numel(shape.slice(0, a));
      const inner = numel(shape.slice(a + 1));
      for (const [name, larger] of [['argMax', true], ['argMin', false]]) {
        const want = new Int32Array(outer * inner);
        for (let o = 0; o < outer; o++) {
          for (let i = 0; i < inner; i++) {
            let best = data[o * shape[a] * inner + i];
            for (let j = 1; j < shape[a]; j++) {
              const v = data[(o * shape[a] + j) * inner + i];
              if (larger ? v > best : v < best) { best = v; want[o * inner + i] = j; }
            }
          }
        }
        const got = run((x) => tf[name](x, axis), shape, data);
        assert.is(got.dtype, 'int32');
        assertEqualValues(got.data, want, `${name} ${JSON.stringify(shape)} axis ${axis}`);
        const stock = withStockKernels('cpu', () => run((x) => tf[name](x, axis), shape, data));
        assert.equal(got.shape, stock.shape);
        assertEqualValues(got.data, stock.data, `${name} vs stock`);
      }
    }
  });

  test('the same bits for 1 and 2 threads (chunked and unchunked plans, softmax, arg-reductions)', () => {
    const rng = new Rng(1);
    const cases = [[[3, 70001], 1], [[70001], null], [[50001, 3], 0], [[4, 802, 240], [0, 1]], [[300, 257], 1], [[600, 1030], 0], [[20, 3000, 2], [0, 2]]];
    // ill-conditioned sums: large values cancelling in pairs far apart, among small ones, so that the
    // double partial sums lose bits in an order-dependent way and any change of grouping shows
    const inputs = cases.map(([shape]) => {
      const n = sizeOf(shape);
      const data = randomData(rng, n);
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (let i = 0; i + 1 < n / 2; i += 2) {
        data[order[i]] = Math.fround((rng.next() - 0.5) * 2 ** rng.int(20, 40));
        data[order[i + 1]] = -data[order[i]];
      }
      return data;
    });
    const all = () => cases.flatMap(([shape, axis], k) => [
      ...['sum', 'mean', 'prod', 'max', 'min'].map((name) => run((x) => OPS[name](x, axis), shape, inputs[k]).data),
      run((x) => tf.softmax(tf.reshape(x, [-1, shape[shape.length - 1]])), shape, inputs[k]).data,
      Float32Array.from(run((x) => tf.argMax(x, 0), shape, inputs[k]).data),
    ]);
    assertSameBitsForThreads(all, 'output');
  });

  test('int32, bool, empty tensors, repeated axes and a softmax over another axis go to the stock kernels', () => {
    const big = tf.tidy(() => tf.sum(tf.tensor1d([2147483000, 600, -5], 'int32')).dataSync()[0]);
    assert.is(big, 2147483595);
    assert.equal(Array.from(tf.tidy(() => tf.sum(tf.tensor1d([true, true, false], 'bool')).dataSync())), [2]);
    assert.equal(Array.from(tf.tidy(() => tf.max(tf.tensor1d([3, 9, 4], 'int32')).dataSync())), [9]);
    assert.equal(Array.from(tf.tidy(() => tf.sum(tf.zeros([0, 3]), 0).dataSync())), [0, 0, 0]);
    assert.equal(Array.from(tf.tidy(() => tf.argMax(tf.tensor1d([1, 5, 2], 'int32')).dataSync())), [1]);
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    assertThrowsWith(() => tf.softmax(x, 0), Error, [/non-last dimension/]);
    x.dispose();
  });

  test('the raw addon refuses bad arguments with the shared message shape', () => {
    const x = new Float32Array(6);
    const reduce = (changes) => () => addon.reduce({ op: 0, x, shape: [2, 3], axes: [0], out: new Float32Array(3), ...changes });
    assertThrowsWith(reduce({ op: 9 }), RangeError, [/^Expected .* for op but received 9$/]);
    assertThrowsWith(reduce({ shape: [2, 0, 3] }), RangeError, [/for shape\[1\]/]);
    assertThrowsWith(reduce({ axes: [2] }), RangeError, [/^Expected an axis of shape for axes\[0\] but received 2$/]);
    assertThrowsWith(reduce({ axes: [1, 1], out: new Float32Array(2) }), RangeError, [/for axes\[1\]/]);
    assertThrowsWith(reduce({ out: new Float32Array(2) }), RangeError, [/^Expected 3 \(the product of the kept sizes\) for out\.length but received 2$/]);
    assertThrowsWith(reduce({ x: new Float32Array(5) }), RangeError, [/for x\.length/]);
    assertThrowsWith(reduce({ shape: [1, 1, 1, 1, 1, 1, 1, 1, 6], out: x }), RangeError, [/for shape\.length/]);
    assertThrowsWith(reduce({ shape: [65536, 65536], out: new Float32Array(65536) }), RangeError, [/for shape/]);
    assertThrowsWith(reduce({ shape: 6, out: new Float32Array(1) }), TypeError, [/for shape/]);
    assertThrowsWith(reduce({ x: new Int32Array(6), shape: [6], out: new Float32Array(1) }), TypeError, [/Float32Array for x/]);
    assertThrowsWith(() => addon.softmax({ x, y: new Float32Array(5), rows: 2, n: 3 }), RangeError,
      [/^Expected 6 \(the product of \[2, 3\]\) for y\.length but received 5$/]);
    assertThrowsWith(() => addon.softmax({ x, y: x, rows: 65536, n: 65536 }), RangeError, [/^Expected rows·n ≤ 2147483647 for x but received \[65536, 65536\]$/]);
    assertThrowsWith(() => addon.softmax({ x, y: x, rows: 2, n: 4 }), RangeError, [/for x\.length/]);
    assertThrowsWith(() => addon.softmax({ x, y: x, rows: 0, n: 6 }), RangeError, [/for rows/]);
    assertThrowsWith(() => addon.softmax({ x, y: x, rows: 2, m: 3 }), TypeError, [/^Expected an integer for n but received undefined$/]);
    const argReduce = (changes) => () => addon.argReduce({ isMax: true, x, outer: 2, n: 3, inner: 1, out: new Int32Array(2), ...changes });
    assertThrowsWith(argReduce({ out: new Float32Array(2) }), TypeError, [/^Expected a Int32Array for out but received Float32Array$/]);
    assertThrowsWith(argReduce({ out: new Int32Array(3) }), RangeError, [/for out\.length/]);
    assertThrowsWith(argReduce({ isMax: 1 }), TypeError, [/^Expected a boolean for isMax but received 1$/]);
    assertThrowsWith(argReduce({ outer: 65536, n: 65536, out: new Int32Array(65536) }), RangeError,
      [/^Expected outer·n·inner ≤ 2147483647 for x but received \[65536, 65536, 1\]$/]);
  });
}

test.run();
