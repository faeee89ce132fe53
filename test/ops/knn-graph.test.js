/**
 * knnGraph (docs/ops.md, knnGraph) on every backend under test against a brute-force float64 oracle built on
 * referenceDistance: random shapes (partial tiles, N = 1, K = N, D = 1, large D, bipartite, dilation), all
 * metrics with and without normalization, exact ties on integer data, zero vectors under cosine, a large
 * common offset for euclidean, determinism and async = sync.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { knnGraph, knnGraphAsync } from '../../dist/index.js';
import { assertBitIdentical, assertEqualValues } from '../helpers/assert.js';
import { forEachBackend, isNative } from '../helpers/backends.js';
import { assertKnn, knnOracle } from '../helpers/knn.js';
import {
  Rng, cloneTensor, f32, numel, offsetView, randomFloat32, randomIntValued, randomNormal32,
} from '../helpers/random.js';

const METRICS = ['euclidean', 'cosine', 'manhattan'];

/** Random shapes: partial tiles (sizes off multiples of 8/16/32), the edge cases of the contract. */
const SHAPES = [
  { B: 1, N: 1, D: 1, k: 1, why: 'N = 1, D = 1' },
  { B: 1, N: 1, M: 1, D: 5, k: 1, why: 'N = M = 1, bipartite' },
  { B: 2, N: 5, D: 3, k: 5, why: 'K = N' },
  { B: 1, N: 17, D: 1, k: 4, why: 'D = 1' },
  { B: 3, N: 12, D: 5, k: 4, dilation: 3, why: 'k·dilation = M' },
  { B: 2, N: 33, D: 16, k: 9, why: 'partial tiles' },
  { B: 1, N: 100, D: 24, k: 9, dilation: 2, why: 'dilation 2' },
  { B: 1, N: 33, D: 4096, k: 5, why: 'large D' },
  { B: 2, N: 17, M: 600, D: 20, k: 9, dilation: 3, why: 'bipartite M ≫ N, dilation 3' },
  { B: 1, N: 5, M: 37, D: 7, k: 12, dilation: 3, why: 'bipartite, k > N' },
  { B: 2, N: 50, M: 9, D: 8, k: 9, why: 'bipartite M < N, K = M' },
  { B: 1, N: 64, D: 64, k: 64, why: 'K = N = 64' },
  { B: 3, N: 100, M: 257, D: 33, k: 16, why: 'bipartite, odd sizes' },
  { B: 5, N: 45, D: 300, k: 7, dilation: 2, why: 'self-graph, B ≥ 4: symmetric row tiles' },
  { B: 4, N: 70, D: 20, k: 40, why: 'self-graph, B ≥ 4: symmetric panels, k > 32 (heap lists)' },
];

function label(s) {
  return `B=${s.B} N=${s.N}${s.M ? ` M=${s.M}` : ''} D=${s.D} k=${s.k}${s.dilation ? ` d=${s.dilation}` : ''}`;
}

/** Input tensors of one case (x, and candidates when M is given). */
function makeInputs(seed, s, make = (rng, shape) => randomFloat32(rng, shape)) {
  const rng = new Rng(seed);
  const x = make(rng, [s.B, s.N, s.D]);
  const candidates = s.M ? make(rng, [s.B, s.M, s.D]) : undefined;
  return { x, candidates };
}

function optsOf(s, extra, candidates) {
  const o = { ...extra };
  if (s.dilation) o.dilation = s.dilation;
  if (candidates) o.candidates = candidates;
  return o;
}

/** Every element of t still equals the snapshot (the op must not normalize or reorder its inputs in place). */
function assertUnchanged(t, snapshot, what) {
  if (t) assertBitIdentical(t, snapshot, `${what} was modified by the op`);
}

forEachBackend((name) => {
  const native = isNative(name);
  const test = suite(`knnGraph [${name}]`);

  /**
   * Runs the backend and compares with the oracle: exactly (indices and order) on the reference, which
   * computes the same float64 distances; with the FAISS-style tolerance rule on native backends, or
   * exactly there too when `exact` is set (integer data: all distances exact in float32).
   */
  function check(x, k, opts, what, { exact = false } = {}) {
    const xs = cloneTensor(x);
    const ys = opts.candidates && cloneTensor(opts.candidates);
    const expected = knnOracle(x, k, opts);
    const actual = knnGraph(x, k, { ...opts, backend: name });
    assertUnchanged(x, xs, 'x');
    assertUnchanged(opts.candidates, ys, 'options.candidates');
    if (exact || !native) assertEqualValues(actual, expected.idx, `${what}: indices differ from the oracle`);
    assertKnn(actual, x, k, opts, expected, undefined, what);
    return actual;
  }

  let seed = 1000;
  for (const s of SHAPES) {
    for (const metric of METRICS) {
      for (const normalize of [false, true]) {
        const caseSeed = seed++;
        const what = `${label(s)} ${metric}${normalize ? ' normalized' : ''} (${s.why}; seed ${caseSeed})`;
        test(`random ${what}`, () => {
          const { x, candidates } = makeInputs(caseSeed, s);
          check(x, s.k, optsOf(s, { metric, normalize }, candidates), what);
        });
      }
    }
  }

  test('a larger batch (B=4, N=200, D=40) on every metric (threads and full tiles)', () => {
    const rng = new Rng(77);
    const x = randomNormal32(rng, [4, 200, 40]);
    for (const metric of METRICS) check(x, 10, { metric }, `B=4 N=200 D=40 k=10 ${metric}`);
  });

  test('default options are euclidean, un-normalized, dilation 1, candidates = x', () => {
    const rng = new Rng(5);
    const x = randomFloat32(rng, [2, 21, 6]);
    x.data[7] *= 40; // make normalization matter
    const a = knnGraph(x, 6, { backend: name });
    const b = knnGraph(x, 6, { backend: name, metric: 'euclidean', normalize: false, dilation: 1, candidates: x });
    assertEqualValues(a, b, 'defaults differ from the explicit options');
    check(x, 6, {}, 'defaults');
    assert.equal(a.shape, [2, 21, 6]);
    assert.ok(a.data instanceof Int32Array);
  });

  test('self is the first neighbour when y = x (distinct rows, every metric)', () => {
    const rng = new Rng(11);
    const x = randomFloat32(rng, [2, 29, 7]);
    for (const metric of METRICS) {
      for (const normalize of [false, true]) {
        const idx = knnGraph(x, 3, { metric, normalize, backend: name });
        for (let r = 0; r < 2 * 29; r++) {
          assert.is(idx.data[r * 3], r % 29, `${metric}${normalize ? ' normalized' : ''}: row ${r % 29} of batch ${Math.floor(r / 29)} is not its own nearest`);
        }
      }
    }
  });

  // ---- exact ties: small integers make every euclidean / manhattan distance exact in float32 ----
  const TIES = [
    { B: 2, N: 33, D: 3, k: 9, lo: 0, hi: 2, why: 'values 0…2' },
    { B: 1, N: 40, D: 1, k: 10, lo: 0, hi: 3, why: 'D = 1, values 0…3' },
    { B: 1, N: 20, M: 70, D: 2, k: 12, dilation: 2, lo: -1, hi: 1, why: 'bipartite, dilation 2' },
    { B: 2, N: 70, D: 16, k: 17, lo: -50, hi: 50, why: 'values −50…50' },
    { B: 1, N: 35, M: 35, D: 4, k: 35, lo: 0, hi: 1, why: 'binary, K = M: full order' },
    { B: 4, N: 51, D: 3, k: 9, lo: 0, hi: 2, why: 'self-graph, B ≥ 4: ties across transposed pairs' },
    { B: 4, N: 40, D: 260, k: 12, lo: 0, hi: 1, why: 'self-graph, wide binary rows: symmetric row tiles' },
  ];
  for (const s of TIES) {
    for (const metric of ['euclidean', 'manhattan']) {
      const caseSeed = seed++;
      const what = `${label(s)} ${metric} integer data ${s.why} (seed ${caseSeed})`;
      test(`exact ties go to the lower index: ${what}`, () => {
        const { x, candidates } = makeInputs(caseSeed, s, (rng, shape) => randomIntValued(rng, shape, s.lo, s.hi));
        check(x, s.k, optsOf(s, { metric }, candidates), what, { exact: true });
      });
    }
  }

  test('duplicated rows: exact tie order on integer data (euclidean, manhattan)', () => {
    const rng = new Rng(21);
    const base = randomIntValued(rng, [1, 4, 5], -3, 3);
    const N = 24;
    const x = f32([1, N, 5], new Float32Array(N * 5));
    for (let i = 0; i < N; i++) x.data.set(base.data.subarray((i % 4) * 5, (i % 4) * 5 + 5), i * 5);
    for (const metric of ['euclidean', 'manhattan']) {
      const idx = check(x, N, { metric }, `duplicated rows ${metric}`, { exact: true });
      // row i's first neighbours are its own copies, in ascending index order
      for (let i = 0; i < N; i++) {
        const copies = Array.from({ length: N / 4 }, (_, t) => (i % 4) + 4 * t);
        assert.equal(Array.from(idx.data.subarray(i * N, i * N + N / 4)), copies, `row ${i}`);
      }
    }
  });

  test('duplicated rows with random float values (every metric, normalized or not)', () => {
    const rng = new Rng(22);
    const base = randomFloat32(rng, [2, 6, 9]);
    const pick = (B, R) => {
      const t = f32([B, R, 9], new Float32Array(B * R * 9));
      for (let b = 0; b < B; b++) {
        for (let r = 0; r < R; r++) {
          const src = (b * 6 + rng.int(0, 5)) * 9;
          t.data.set(base.data.subarray(src, src + 9), (b * R + r) * 9);
        }
      }
      return t;
    };
    const x = pick(2, 30);
    const y = pick(2, 45);
    for (const metric of METRICS) {
      for (const normalize of [false, true]) {
        check(x, 10, { metric, normalize }, `dup rows ${metric} ${normalize}`);
        check(x, 13, { metric, normalize, candidates: y, dilation: 3 }, `dup rows bipartite ${metric} ${normalize}`);
      }
    }
  });

  test('cosine: a zero vector is at distance 1 from everything (its neighbours are 0, 1, …, k−1)', () => {
    const rng = new Rng(31);
    const x = randomFloat32(rng, [2, 12, 6]);
    const zeros = [0, 3, 7, 11];
    for (const b of [0, 1]) for (const r of zeros) x.data.fill(0, (b * 12 + r) * 6, (b * 12 + r + 1) * 6);
    for (const normalize of [false, true]) {
      const idx = check(x, 5, { metric: 'cosine', normalize }, `cosine with zero rows, normalize ${normalize}`);
      for (const b of [0, 1]) {
        for (const r of zeros) {
          assert.equal(Array.from(idx.data.subarray((b * 12 + r) * 5, (b * 12 + r + 1) * 5)), [0, 1, 2, 3, 4],
            `zero row (${b}, ${r})`);
        }
      }
    }
    // bipartite: zero candidates sit at distance 1 from every row
    const y = randomFloat32(rng, [2, 20, 6]);
    for (const r of [0, 1, 5, 19]) y.data.fill(0, r * 6, (r + 1) * 6);
    for (const normalize of [false, true]) {
      check(x, 20, { metric: 'cosine', normalize, candidates: y }, `cosine bipartite with zero candidates, K = M, normalize ${normalize}`);
    }
    // all zero: distance 1 everywhere → 0, 1, …, k−1 for every row, on every metric that keeps zeros at 0
    const z = f32([1, 9, 4], new Float32Array(36));
    const all = knnGraph(z, 9, { metric: 'cosine', backend: name });
    for (let i = 0; i < 9; i++) assert.equal(Array.from(all.data.subarray(i * 9, i * 9 + 9)), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const metric of ['euclidean', 'manhattan']) {
      check(x, 6, { metric, normalize: true }, `zero rows with ${metric}, normalized (zero stays zero)`);
    }
  });

  test('euclidean rows with a large common offset (1000 + noise): no ‖x‖²−2xy+‖y‖² cancellation', () => {
    const rng = new Rng(41);
    const offset = (shape, base) => {
      const t = randomFloat32(rng, shape);
      for (let i = 0; i < t.data.length; i++) t.data[i] = base + t.data[i];
      return t;
    };
    const x = offset([2, 40, 32], 1000);
    check(x, 8, { metric: 'euclidean' }, 'offset 1000, D = 32');
    const y = offset([2, 90, 32], 1000);
    check(x, 9, { metric: 'euclidean', candidates: y }, 'offset 1000, bipartite');
    const wide = offset([1, 33, 300], -500);
    check(wide, 7, { metric: 'euclidean', dilation: 2 }, 'offset −500, D = 300, dilation 2');
    check(wide, 7, { metric: 'manhattan' }, 'offset −500 manhattan');
  });

  test('extreme magnitudes (rows near 1e±19 and past them, and mixed per row under cosine) give the float64 answer', () => {
    const rng = new Rng(43);
    const scaled = (shape, scale) => {
      const t = randomFloat32(rng, shape);
      for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
      return t;
    };
    for (const scale of [1e19, 1e25, 3e37, 1e-19, 1e-25, 1e-35]) {
      const x = scaled([2, 30, 64], scale);
      for (const metric of METRICS) check(x, 6, { metric }, `scale ${scale}, ${metric}`);
      check(x, 6, { metric: 'cosine', normalize: true }, `scale ${scale}, cosine normalized`);
      check(x, 5, { metric: 'euclidean', candidates: scaled([2, 41, 64], scale) }, `scale ${scale}, bipartite`);
    }
    // cosine is invariant to each row's scale: rows at 1e30 and 1e-30 in one batch
    const mixed = randomFloat32(rng, [1, 40, 32]);
    for (let r = 0; r < 40; r++) for (let d = 0; d < 32; d++) mixed.data[r * 32 + d] *= r % 2 ? 1e30 : 1e-30;
    check(mixed, 7, { metric: 'cosine' }, 'cosine, rows at 1e30 and 1e-30');
    check(mixed, 7, { metric: 'euclidean', normalize: true }, 'normalized euclidean, rows at 1e30 and 1e-30');
  });

  test('dilation keeps positions 0, d, 2d, … of the undilated order (integer data, exact)', () => {
    const rng = new Rng(51);
    const x = randomIntValued(rng, [2, 40, 3], -4, 4);
    const y = randomIntValued(rng, [2, 53, 3], -4, 4);
    for (const metric of ['euclidean', 'manhattan']) {
      for (const d of [2, 3]) {
        const k = 7;
        const full = knnGraph(x, k * d, { metric, candidates: y, backend: name });
        const dil = knnGraph(x, k, { metric, candidates: y, dilation: d, backend: name });
        for (let r = 0; r < 80; r++) {
          for (let t = 0; t < k; t++) {
            assert.is(dil.data[r * k + t], full.data[r * k * d + t * d], `${metric} d=${d} row ${r} slot ${t}`);
          }
        }
      }
    }
  });

  test('typed-array views at a byte offset give the same answer', () => {
    const rng = new Rng(61);
    const x = randomFloat32(rng, [2, 19, 11]);
    const y = randomFloat32(rng, [2, 23, 11]);
    for (const metric of METRICS) {
      const want = knnGraph(x, 5, { metric, candidates: y, dilation: 2, backend: name });
      const got = knnGraph(offsetView(x), 5, { metric, candidates: offsetView(y), dilation: 2, backend: name });
      assertEqualValues(got, want, `${metric} with offset views`);
      const self = knnGraph(offsetView(x), 4, { metric, normalize: true, backend: name });
      assertEqualValues(self, knnGraph(x, 4, { metric, normalize: true, backend: name }), `${metric} self, offset view`);
    }
  });

  test('deterministic: repeated runs are bit-identical', () => {
    const rng = new Rng(71);
    const x = randomFloat32(rng, [2, 150, 24]);
    const y = randomFloat32(rng, [2, 170, 24]);
    for (const metric of METRICS) {
      for (const normalize of [false, true]) {
        const opts = { metric, normalize, backend: name };
        const first = knnGraph(x, 9, opts);
        for (let run = 0; run < 2; run++) assertBitIdentical(knnGraph(x, 9, opts), first, `${metric} run ${run + 2}`);
        const bi = knnGraph(x, 9, { ...opts, candidates: y, dilation: 2 });
        assertBitIdentical(knnGraph(x, 9, { ...opts, candidates: y, dilation: 2 }), bi, `${metric} bipartite`);
      }
    }
  });

  test('async = sync, bit-identical (also several calls in flight at once)', async () => {
    const rng = new Rng(81);
    const cases = [];
    for (const metric of METRICS) {
      const x = randomFloat32(rng, [2, 37, 13]);
      const y = randomFloat32(rng, [2, 41, 13]);
      cases.push({ x, k: 6, opts: { metric, backend: name } });
      cases.push({ x, k: 5, opts: { metric, normalize: true, dilation: 2, candidates: y, backend: name } });
    }
    for (const c of cases) {
      const sync = knnGraph(c.x, c.k, c.opts);
      const pending = knnGraphAsync(c.x, c.k, c.opts);
      assert.ok(pending instanceof Promise, 'knnGraphAsync must return a Promise');
      assertBitIdentical(await pending, sync, `${c.opts.metric} async`);
    }
    const all = await Promise.all(cases.map((c) => knnGraphAsync(c.x, c.k, c.opts)));
    all.forEach((r, i) => assertBitIdentical(r, knnGraph(cases[i].x, cases[i].k, cases[i].opts), `concurrent call ${i}`));
  });

  if (native) {
    test('async work runs off the event loop (an immediate fires before a long call settles)', async () => {
      const rng = new Rng(91);
      const x = randomFloat32(rng, [8, 1024, 64]);
      let ticked = false;
      setImmediate(() => { ticked = true; });
      const idx = await knnGraphAsync(x, 9, { backend: name });
      assert.ok(ticked, 'the event loop was blocked until the async KNN finished');
      assert.equal(idx.shape, [8, 1024, 9]);
    });
  }

  test.run();
});
