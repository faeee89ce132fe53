/**
 * maxRelative / maxRelativeGrad (docs/ops.md, maxRelative) on every backend under test against a float64 oracle written
 * here from the contract in docs/ops.md (not the reference backend): random shapes (N = 1, C = 1, K = 1, K = N,
 * bipartite M ≠ N, C = 512, the SACL shape B=16 N=18 K=9 C=64…512), exact ties → the lowest slot,
 * duplicated indices, out = fround(max − x) exactly, the gradient against the oracle scatter and against
 * float64 central differences, determinism, async = sync, offset views, inputs left untouched.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync } from '../../dist/index.js';
import { assertBitIdentical, assertClose, assertEqualValues } from '../helpers/assert.js';
import { forEachBackend } from '../helpers/backends.js';
import {
  Rng, cloneTensor, distinctFloat32, f32, i32, numel, offsetView, randomFloat32, randomIndex, randomIntValued,
} from '../helpers/random.js';

/** float32 unit roundoff. */
const U = 2 ** -24;

// ---------------------------------------------------------------------------------------------------------
// The test's own oracle, straight from docs/ops.md, maxRelative, in float64. x / y may hold float64 data (finite differences).
// ---------------------------------------------------------------------------------------------------------

/**
 * out[b,i,c] = max_k y[b, idx[b,i,k], c] − x[b,i,c] (float64, unrounded) and argmax = the first slot that
 * holds the maximum (ties → the lowest slot, as torch.max).
 */
function oracleForward(x, idx, y = x) {
  const [B, N, C] = x.shape;
  const K = idx.shape[2];
  const M = y.shape[1];
  const out64 = new Float64Array(B * N * C);
  const argmax = new Int32Array(B * N * C);
  const vals = new Array(K);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      for (let c = 0; c < C; c++) {
        for (let k = 0; k < K; k++) vals[k] = y.data[(b * M + idx.data[(b * N + i) * K + k]) * C + c];
        const m = Math.max(...vals);
        const o = (b * N + i) * C + c;
        argmax[o] = vals.indexOf(m);
        out64[o] = m - x.data[o];
      }
    }
  }
  return { out64, out: f32([B, N, C], Float32Array.from(out64)), argmax: i32([B, N, C], argmax) };
}

/**
 * The backward of docs/ops.md in float64: dx −= dOut; d(neighbours)[b, idx[b,i,argmax], c] += dOut. With
 * `separate` the neighbours are candidates [B, M, C] (→ dy), otherwise x itself (dy lands in dx).
 * Also returns, per element, how many terms it sums and their |sum|, for a float32 error bound.
 */
function oracleGrad(dOut, idx, argmax, M, separate) {
  const [B, N, C] = dOut.shape;
  const K = idx.shape[2];
  const dx = new Float64Array(B * N * C);
  const absX = new Float64Array(B * N * C);
  const cntX = new Float64Array(B * N * C);
  const dy = separate ? new Float64Array(B * M * C) : dx;
  const absY = separate ? new Float64Array(B * M * C) : absX;
  const cntY = separate ? new Float64Array(B * M * C) : cntX;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      for (let c = 0; c < C; c++) {
        const o = (b * N + i) * C + c;
        const g = dOut.data[o];
        dx[o] -= g;
        absX[o] += Math.abs(g);
        cntX[o] += 1;
        const t = (b * M + idx.data[(b * N + i) * K + argmax.data[o]]) * C + c;
        dy[t] += g;
        absY[t] += Math.abs(g);
        cntY[t] += 1;
      }
    }
  }
  const pack = (v, abs, cnt, shape) => ({
    value: f32(shape, Float32Array.from(v)),
    // float32 accumulation of cnt terms in any order, then rounding: (cnt + 2)·u·Σ|terms|
    tol: abs.map((a, e) => (cnt[e] + 2) * U * a),
  });
  const gx = pack(dx, absX, cntX, [B, N, C]);
  return separate ? { dx: gx, dy: pack(dy, absY, cntY, [B, M, C]) } : { dx: gx };
}

/** Σ w ⊙ out in float64 on the oracle (for finite differences). */
function oracleLoss(x, idx, y, w) {
  const { out64 } = oracleForward(x, idx, y);
  let s = 0;
  for (let e = 0; e < out64.length; e++) s += w.data[e] * out64[e];
  return s;
}

// ---------------------------------------------------------------------------------------------------------

const SHAPES = [
  { B: 1, N: 1, C: 1, K: 1, why: 'N = C = K = 1' },
  { B: 3, N: 1, C: 7, K: 1, why: 'N = 1, K = 1' },
  { B: 2, N: 6, C: 1, K: 3, why: 'C = 1' },
  { B: 2, N: 9, C: 5, K: 1, why: 'K = 1' },
  { B: 2, N: 9, C: 12, K: 9, why: 'K = N' },
  { B: 1, N: 33, C: 17, K: 5, why: 'odd sizes' },
  { B: 3, N: 20, C: 8, K: 20, why: 'K = N = 20' },
  { B: 2, N: 5, M: 13, C: 8, K: 4, why: 'bipartite M > N' },
  { B: 2, N: 20, M: 3, C: 7, K: 6, why: 'bipartite K > M (repeats forced)' },
  { B: 1, N: 1, M: 50, C: 3, K: 50, why: 'bipartite N = 1, K = M' },
  { B: 1, N: 10, C: 512, K: 4, why: 'C = 512' },
  { B: 3, N: 7, C: 81, K: 5, why: 'C = 64 + 16 + 1: each width of the channel loop' },
  { B: 5, N: 7, C: 200, K: 9, why: 'row chunks that start inside a batch item' },
  { B: 2, N: 7, M: 11, C: 512, K: 9, why: 'bipartite, C = 512' },
  { B: 16, N: 18, C: 64, K: 9, why: 'SACL shape' },
  { B: 16, N: 18, C: 128, K: 9, why: 'SACL shape' },
  { B: 16, N: 18, C: 256, K: 9, why: 'SACL shape' },
  { B: 16, N: 18, C: 512, K: 9, why: 'SACL shape' },
  { B: 16, N: 18, M: 49, C: 64, K: 9, why: 'SACL shape, bipartite (49 landmarks)' },
  { B: 1, N: 3, M: 300, C: 5, K: 256, why: 'K = 256: the largest byte-wide slot on CUDA' },
  { B: 2, N: 3, M: 300, C: 5, K: 260, why: 'K > 256: int32 slots on CUDA' },
];

function label(s) {
  return `B=${s.B} N=${s.N}${s.M ? ` M=${s.M}` : ''} C=${s.C} K=${s.K}`;
}

/** idx [B, N, K] into M rows: distinct per row (a knnGraph-like graph) when K ≤ M and asked, else with repeats. */
function makeIdx(rng, B, N, K, M, distinct) {
  if (!distinct || K > M) return randomIndex(rng, [B, N, K], M);
  const data = new Int32Array(B * N * K);
  const all = Array.from({ length: M }, (_, j) => j);
  for (let r = 0; r < B * N; r++) data.set(rng.shuffle(all).slice(0, K), r * K);
  return i32([B, N, K], data);
}

/** Random dOut with |values| in [0.25, 1) (no near-zero terms that could hide a missing contribution). */
function randomGrad(rng, shape) {
  const data = new Float32Array(numel(shape));
  for (let e = 0; e < data.length; e++) data[e] = (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.25, 1);
  return f32(shape, data);
}

/** Small integers (exact float32 sums in any order). */
function integerGrad(rng, shape) {
  return randomIntValued(rng, shape, -8, 8);
}

function assertGradClose(actual, expected, what) {
  assertClose(actual, expected.value, { rtol: 0, atol: expected.tol }, what);
}

forEachBackend((name) => {
  const test = suite(`maxRelative [${name}]`);
  const on = { backend: name };

  /** forward on the backend: out equals fround(max − x) exactly and argmax equals the oracle's. */
  function checkForward(x, idx, y, what) {
    const opts = y ? { ...on, candidates: y } : on;
    const got = maxRelative(x, idx, opts);
    const want = oracleForward(x, idx, y ?? x);
    assertEqualValues(got.argmax, want.argmax, `${what}: argmax`);
    assertEqualValues(got.out, want.out, `${what}: out is not fround(max − x)`);
    assert.ok(got.out.data instanceof Float32Array, `${what}: out must be a Float32Array`);
    assert.ok(got.argmax.data instanceof Int32Array, `${what}: argmax must be an Int32Array`);
    return got;
  }

  /** backward on the backend against the oracle scatter (returns the backend's answer). */
  function checkGrad(dOut, idx, argmax, y, what) {
    const M = y ? y.shape[1] : dOut.shape[1];
    const want = oracleGrad(dOut, idx, argmax, M, Boolean(y));
    if (y) {
      const got = maxRelativeGrad(dOut, idx, argmax, { ...on, candidates: y });
      assert.ok(got && got.dx && got.dy, `${what}: with candidates the gradient is { dx, dy }`);
      assertGradClose(got.dx, want.dx, `${what}: dx`);
      assertGradClose(got.dy, want.dy, `${what}: dy`);
      return got;
    }
    const got = maxRelativeGrad(dOut, idx, argmax, on);
    assert.ok(got.data instanceof Float32Array && !('dy' in got), `${what}: without candidates the gradient is one tensor`);
    assertGradClose(got, want.dx, `${what}: dx`);
    return got;
  }

  let seed = 2000;
  for (const s of SHAPES) {
    const caseSeed = seed++;
    const what = `${label(s)} (${s.why}; seed ${caseSeed})`;
    test(`random ${what}: forward exact, backward = oracle scatter`, () => {
      const rng = new Rng(caseSeed);
      const x = randomFloat32(rng, [s.B, s.N, s.C]);
      const y = s.M ? randomFloat32(rng, [s.B, s.M, s.C]) : undefined;
      const M = s.M ?? s.N;
      for (const distinct of [true, false]) {
        const idx = makeIdx(rng, s.B, s.N, s.K, M, distinct);
        const w = `${what}${distinct ? ' distinct idx' : ' idx with repeats'}`;
        const fwd = checkForward(x, idx, y, w);
        const dOut = randomGrad(rng, [s.B, s.N, s.C]);
        checkGrad(dOut, idx, fwd.argmax, y, w);
        // the gradient op takes any argmax in [0, K), not only the forward's
        checkGrad(dOut, idx, randomIndex(rng, [s.B, s.N, s.C], s.K), y, `${w}, arbitrary argmax`);
        // integer dOut: every sum is exact in float32, so the answer is exact on every backend
        const dInt = integerGrad(rng, [s.B, s.N, s.C]);
        const exact = oracleGrad(dInt, idx, fwd.argmax, M, Boolean(y));
        const got = maxRelativeGrad(dInt, idx, fwd.argmax, y ? { ...on, candidates: y } : on);
        assertEqualValues(y ? got.dx : got, exact.dx.value, `${w}: integer dOut, dx`);
        if (y) assertEqualValues(got.dy, exact.dy.value, `${w}: integer dOut, dy`);
      }
    });
  }

  test('hand-computed case (B=1, N=3, C=2, K=2, neighbours are x)', () => {
    const x = f32([1, 3, 2], [1, 5, 2, 3, 0, 9]);
    const idx = i32([1, 3, 2], [1, 2, 0, 0, 2, 1]);
    const { out, argmax } = maxRelative(x, idx, on);
    // i=0: rows 1 [2, 3], 2 [0, 9] → max [2 (slot 0), 9 (slot 1)] − [1, 5]
    // i=1: rows 0, 0 → [1, 5] − [2, 3] (tie between the same row: slot 0)
    // i=2: rows 2 [0, 9], 1 [2, 3] → max [2 (slot 1), 9 (slot 0)] − [0, 9]
    assert.equal(Array.from(out.data), [1, 4, -1, 2, 2, 0]);
    assert.equal(Array.from(argmax.data), [0, 1, 0, 0, 1, 0]);
    assert.equal(out.shape, [1, 3, 2]);
    assert.equal(argmax.shape, [1, 3, 2]);
    const dOut = f32([1, 3, 2], [1, 10, 100, 1000, 10000, 100000]);
    const dx = maxRelativeGrad(dOut, idx, argmax, on);
    // −dOut, then row 1 c0 += 1, row 2 c1 += 10, row 0 += [100, 1000], row 1 c0 += 10000, row 2 c1 += 100000
    assert.equal(Array.from(dx.data), [99, 990, 9901, -1000, -10000, 10]);
    assert.equal(dx.shape, [1, 3, 2]);
  });

  test('hand-computed bipartite case: tie → lowest slot, dy scattered to the winning row', () => {
    const x = f32([1, 2, 1], [0, 1]);
    const y = f32([1, 3, 1], [5, 7, 7]);
    const idx = i32([1, 2, 3], [0, 2, 1, 1, 2, 0]);
    const { out, argmax } = maxRelative(x, idx, { ...on, candidates: y });
    // row 0: 5, 7, 7 → 7 at slot 1 (not 2); row 1: 7, 7, 5 → slot 0
    assert.equal(Array.from(argmax.data), [1, 0]);
    assert.equal(Array.from(out.data), [7, 6]);
    const g = maxRelativeGrad(f32([1, 2, 1], [2, 3]), idx, argmax, { ...on, candidates: y });
    assert.equal(Array.from(g.dx.data), [-2, -3]);
    assert.equal(Array.from(g.dy.data), [0, 3, 2]);
    assert.equal(g.dy.shape, [1, 3, 1]);
  });

  // ---- exact ties: integer-valued data, so many slots hold the same maximum ----
  const TIES = [
    { B: 2, N: 12, C: 6, K: 5, lo: 0, hi: 1, why: 'binary values' },
    { B: 3, N: 9, C: 16, K: 9, lo: -2, hi: 2, why: 'values −2…2, K = N' },
    { B: 2, N: 10, M: 4, C: 8, K: 7, lo: 0, hi: 2, why: 'bipartite K > M' },
    { B: 16, N: 18, C: 64, K: 9, lo: -1, hi: 1, why: 'SACL shape, values −1…1' },
  ];
  for (const s of TIES) {
    const caseSeed = seed++;
    const what = `${label(s)} integer data ${s.why} (seed ${caseSeed})`;
    test(`exact ties go to the lowest slot: ${what}`, () => {
      const rng = new Rng(caseSeed);
      const x = randomIntValued(rng, [s.B, s.N, s.C], s.lo, s.hi);
      const y = s.M ? randomIntValued(rng, [s.B, s.M, s.C], s.lo, s.hi) : undefined;
      const idx = randomIndex(rng, [s.B, s.N, s.K], s.M ?? s.N);
      const got = checkForward(x, idx, y, what);
      // a test that can tell "lowest slot" from "highest slot": some winners sit below a later equal slot
      const src = y ?? x;
      const M = s.M ?? s.N;
      let tiedLater = 0;
      for (let o = 0; o < got.argmax.data.length; o++) {
        const row = Math.floor(o / s.C);
        const c = o % s.C;
        const b = Math.floor(row / s.N);
        const win = src.data[(b * M + idx.data[row * s.K + got.argmax.data[o]]) * s.C + c];
        for (let k = got.argmax.data[o] + 1; k < s.K; k++) {
          if (src.data[(b * M + idx.data[row * s.K + k]) * s.C + c] === win) tiedLater++;
        }
      }
      assert.ok(tiedLater > 0, 'the case has no ties after the winner; it tests nothing');
      const dOut = integerGrad(rng, [s.B, s.N, s.C]);
      const exact = oracleGrad(dOut, idx, got.argmax, M, Boolean(y));
      const g = maxRelativeGrad(dOut, idx, got.argmax, y ? { ...on, candidates: y } : on);
      assertEqualValues(y ? g.dx : g, exact.dx.value, `${what}: dx`);
      if (y) assertEqualValues(g.dy, exact.dy.value, `${what}: dy`);
    });
  }

  test('constant data: argmax 0 and out 0 everywhere; every slot of a row the same index (seed 31)', () => {
    const rng = new Rng(31);
    const x = f32([2, 7, 5], new Float32Array(70).fill(3.25));
    const idx = randomIndex(rng, [2, 7, 4], 7);
    const { out, argmax } = maxRelative(x, idx, on);
    assert.ok(argmax.data.every((v) => v === 0), 'ties must go to slot 0');
    assert.ok(out.data.every((v) => v === 0), 'max − x must be 0');
    // duplicated indices: all K slots point at the same row → slot 0, value of that row
    const y = randomFloat32(rng, [2, 6, 5]);
    const same = i32([2, 7, 4], new Int32Array(56));
    for (let r = 0; r < 14; r++) same.data.fill(r % 6, r * 4, r * 4 + 4);
    const z = randomFloat32(rng, [2, 7, 5]);
    const res = checkForward(z, same, y, 'all slots the same row');
    assert.ok(res.argmax.data.every((v) => v === 0), 'repeated index: slot 0 must win');
  });

  test('duplicated indices in idx (half the slots repeat an earlier one; seed 33)', () => {
    const rng = new Rng(33);
    const x = randomFloat32(rng, [4, 18, 32]);
    const idx = randomIndex(rng, [4, 18, 9], 18);
    for (let r = 0; r < 4 * 18; r++) {
      for (let k = 1; k < 9; k++) if (rng.next() < 0.5) idx.data[r * 9 + k] = idx.data[r * 9 + rng.int(0, k - 1)];
    }
    const got = checkForward(x, idx, undefined, 'repeated indices');
    checkGrad(randomGrad(rng, [4, 18, 32]), idx, got.argmax, undefined, 'repeated indices');
    const y = randomFloat32(rng, [4, 5, 32]);
    const idxY = randomIndex(rng, [4, 18, 9], 5);
    const gotY = checkForward(x, idxY, y, 'repeated indices, bipartite');
    checkGrad(randomGrad(rng, [4, 18, 32]), idxY, gotY.argmax, y, 'repeated indices, bipartite');
  });

  test('out is max − x rounded once to float32, even where max − x is not representable (seed 35)', () => {
    const rng = new Rng(35);
    // values of very different magnitudes: the float32 difference must be the correctly rounded one
    const x = f32([1, 6, 8], new Float32Array(48));
    for (let e = 0; e < 48; e++) x.data[e] = rng.uniform(-1, 1) * 10 ** rng.int(-6, 6);
    const idx = makeIdx(rng, 1, 6, 3, 6, true);
    const { out, argmax } = maxRelative(x, idx, on);
    let inexact = 0;
    for (let e = 0; e < 48; e++) {
      const row = Math.floor(e / 8);
      const max = x.data[idx.data[row * 3 + argmax.data[e]] * 8 + (e % 8)];
      assert.is(out.data[e], Math.fround(max - x.data[e]), `element ${e}`);
      if (Math.fround(max - x.data[e]) !== max - x.data[e]) inexact++;
    }
    assert.ok(inexact > 0, 'no difference needed rounding; the case tests nothing');
    checkForward(x, idx, undefined, 'mixed magnitudes');
  });

  // ---- gradient against central finite differences of Σ w ⊙ out, on the float64 formula ----
  const FD = [
    { B: 2, N: 6, C: 4, K: 3, why: 'neighbours are x (self and repeats allowed)' },
    { B: 1, N: 5, C: 3, K: 5, why: 'K = N' },
    { B: 2, N: 5, M: 7, C: 3, K: 4, why: 'bipartite' },
    { B: 1, N: 4, M: 2, C: 5, K: 3, why: 'bipartite K > M' },
  ];
  for (const s of FD) {
    const caseSeed = seed++;
    const what = `${label(s)} ${s.why} (seed ${caseSeed})`;
    test(`gradient = central finite differences of Σ w ⊙ out: ${what}`, () => {
      const rng = new Rng(caseSeed);
      const M = s.M ?? s.N;
      // distinct values at least ~0.0075 apart: a step of 1e-3 never changes any maximum
      const x = distinctFloat32(rng, [s.B, s.N, s.C]);
      const y = s.M ? distinctFloat32(rng, [s.B, s.M, s.C]) : undefined;
      const idx = randomIndex(rng, [s.B, s.N, s.K], M);
      const w = randomGrad(rng, [s.B, s.N, s.C]);
      const { argmax } = checkForward(x, idx, y, what);
      const grad = maxRelativeGrad(w, idx, argmax, y ? { ...on, candidates: y } : on);
      const h = 1e-3;
      const x64 = { shape: x.shape, data: Float64Array.from(x.data) };
      const y64 = y ? { shape: y.shape, data: Float64Array.from(y.data) } : x64;
      const fd = (t) => {
        const g = new Float64Array(t.data.length);
        for (let e = 0; e < t.data.length; e++) {
          const keep = t.data[e];
          t.data[e] = keep + h;
          const up = oracleLoss(x64, idx, y64, w);
          t.data[e] = keep - h;
          const down = oracleLoss(x64, idx, y64, w);
          t.data[e] = keep;
          g[e] = (up - down) / (2 * h);
        }
        return { shape: t.shape, data: g };
      };
      const tol = { rtol: 1e-5, atol: 1e-5 };
      if (y) {
        assertClose(grad.dx, fd(x64), tol, `${what}: dx vs finite differences`);
        assertClose(grad.dy, fd(y64), tol, `${what}: dy vs finite differences`);
      } else {
        assertClose(grad, fd(x64), tol, `${what}: dx vs finite differences`);
      }
    });
  }

  test('explicit candidates = x: dx + dy equals the gradient with the neighbours taken from x (seed 41)', () => {
    const rng = new Rng(41);
    const x = randomFloat32(rng, [3, 11, 6]);
    const idx = makeIdx(rng, 3, 11, 5, 11, true);
    const a = maxRelative(x, idx, on);
    const b = maxRelative(x, idx, { ...on, candidates: x });
    assertBitIdentical(b.out, a.out, 'out');
    assertEqualValues(b.argmax, a.argmax, 'argmax');
    const dOut = integerGrad(rng, [3, 11, 6]);
    const joint = maxRelativeGrad(dOut, idx, a.argmax, on);
    const split = maxRelativeGrad(dOut, idx, a.argmax, { ...on, candidates: x });
    assertEqualValues(split.dx, f32(dOut.shape, dOut.data.map((v) => -v)), 'dx with candidates is −dOut');
    assertEqualValues(f32(joint.shape, split.dx.data.map((v, e) => v + split.dy.data[e])), joint, 'dx + dy');
  });

  test('deterministic: repeated runs are bit-identical, including heavy scatter collisions (seed 51)', () => {
    const rng = new Rng(51);
    const x = randomFloat32(rng, [4, 256, 64]);
    const y = randomFloat32(rng, [4, 8, 64]);
    const idxY = randomIndex(rng, [4, 256, 16], 8); // 8 rows receive every gradient
    const idxX = randomIndex(rng, [4, 256, 16], 4); // rows 0…3 of each batch receive every gradient
    const dOut = randomNormalish(rng, [4, 256, 64]);
    for (const [idx, y0, what] of [[idxX, undefined, 'neighbours are x'], [idxY, y, 'bipartite']]) {
      const opts = y0 ? { ...on, candidates: y0 } : on;
      const first = maxRelative(x, idx, opts);
      const g1 = maxRelativeGrad(dOut, idx, first.argmax, opts);
      for (let run = 2; run <= 3; run++) {
        const again = maxRelative(x, idx, opts);
        assertBitIdentical(again.out, first.out, `${what}: out, run ${run}`);
        assertBitIdentical(again.argmax, first.argmax, `${what}: argmax, run ${run}`);
        const g = maxRelativeGrad(dOut, idx, first.argmax, opts);
        if (y0) {
          assertBitIdentical(g.dx, g1.dx, `${what}: dx, run ${run}`);
          assertBitIdentical(g.dy, g1.dy, `${what}: dy, run ${run}`);
        } else {
          assertBitIdentical(g, g1, `${what}: dx, run ${run}`);
        }
      }
    }
  });

  test('async = sync, bit-identical (also several calls in flight at once; seed 61)', async () => {
    const rng = new Rng(61);
    const cases = [];
    for (const s of [{ B: 2, N: 18, C: 64, K: 9 }, { B: 3, N: 7, M: 12, C: 33, K: 5 }, { B: 16, N: 18, C: 128, K: 9 }]) {
      const x = randomFloat32(rng, [s.B, s.N, s.C]);
      const y = s.M ? randomFloat32(rng, [s.B, s.M, s.C]) : undefined;
      const idx = randomIndex(rng, [s.B, s.N, s.K], s.M ?? s.N);
      const dOut = randomGrad(rng, [s.B, s.N, s.C]);
      cases.push({ x, idx, dOut, opts: y ? { ...on, candidates: y } : on, y });
    }
    for (const c of cases) {
      const sync = maxRelative(c.x, c.idx, c.opts);
      const pending = maxRelativeAsync(c.x, c.idx, c.opts);
      assert.ok(pending instanceof Promise, 'maxRelativeAsync must return a Promise');
      const got = await pending;
      assertBitIdentical(got.out, sync.out, 'async out');
      assertBitIdentical(got.argmax, sync.argmax, 'async argmax');
      const gSync = maxRelativeGrad(c.dOut, c.idx, sync.argmax, c.opts);
      const gPending = maxRelativeGradAsync(c.dOut, c.idx, sync.argmax, c.opts);
      assert.ok(gPending instanceof Promise, 'maxRelativeGradAsync must return a Promise');
      const g = await gPending;
      if (c.y) {
        assertBitIdentical(g.dx, gSync.dx, 'async dx');
        assertBitIdentical(g.dy, gSync.dy, 'async dy');
      } else {
        assertBitIdentical(g, gSync, 'async dx');
      }
      c.sync = sync;
      c.gSync = gSync;
    }
    const fwd = await Promise.all(cases.map((c) => maxRelativeAsync(c.x, c.idx, c.opts)));
    const bwd = await Promise.all(cases.map((c) => maxRelativeGradAsync(c.dOut, c.idx, c.sync.argmax, c.opts)));
    cases.forEach((c, i) => {
      assertBitIdentical(fwd[i].out, c.sync.out, `concurrent forward ${i}`);
      assertBitIdentical(fwd[i].argmax, c.sync.argmax, `concurrent argmax ${i}`);
      assertBitIdentical(c.y ? bwd[i].dy : bwd[i], c.y ? c.gSync.dy : c.gSync, `concurrent backward ${i}`);
    });
  });

  test('typed-array views at a byte offset give the same answer (seed 71)', () => {
    const rng = new Rng(71);
    const x = randomFloat32(rng, [2, 13, 9]);
    const y = randomFloat32(rng, [2, 17, 9]);
    for (const y0 of [undefined, y]) {
      const idx = randomIndex(rng, [2, 13, 5], y0 ? 17 : 13);
      const opts = y0 ? { ...on, candidates: y0 } : on;
      const optsView = y0 ? { ...on, candidates: offsetView(y0) } : on;
      const want = maxRelative(x, idx, opts);
      const got = maxRelative(offsetView(x), offsetView(idx), optsView);
      assertBitIdentical(got.out, want.out, 'out with offset views');
      assertEqualValues(got.argmax, want.argmax, 'argmax with offset views');
      const dOut = randomGrad(rng, [2, 13, 9]);
      const gWant = maxRelativeGrad(dOut, idx, want.argmax, opts);
      const gGot = maxRelativeGrad(offsetView(dOut), offsetView(idx), offsetView(want.argmax), optsView);
      if (y0) {
        assertBitIdentical(gGot.dx, gWant.dx, 'dx with offset views');
        assertBitIdentical(gGot.dy, gWant.dy, 'dy with offset views');
      } else {
        assertBitIdentical(gGot, gWant, 'dx with offset views');
      }
    }
  });

  test('inputs are not modified; outputs never share memory with inputs or each other (seed 81)', () => {
    const rng = new Rng(81);
    const x = randomFloat32(rng, [2, 10, 6]);
    const y = randomFloat32(rng, [2, 4, 6]);
    const idx = randomIndex(rng, [2, 10, 3], 4);
    const dOut = randomGrad(rng, [2, 10, 6]);
    const snap = [x, y, idx, dOut].map(cloneTensor);
    const a = maxRelative(x, idx, { ...on, candidates: y });
    const am = cloneTensor(a.argmax);
    const ga = maxRelativeGrad(dOut, idx, a.argmax, { ...on, candidates: y });
    const idxSelf = randomIndex(rng, [2, 10, 3], 10);
    const idxSnap = cloneTensor(idxSelf);
    const b = maxRelative(x, idxSelf, on);
    const gb = maxRelativeGrad(dOut, idxSelf, b.argmax, on);
    [x, y, idx, dOut].forEach((t, i) => assertBitIdentical(t, snap[i], `input ${['x', 'candidates', 'idx', 'dOut'][i]} was modified`));
    assertBitIdentical(idxSelf, idxSnap, 'idx was modified');
    assertBitIdentical(a.argmax, am, 'argmax was modified by maxRelativeGrad');
    const outs = [a.out.data, a.argmax.data, ga.dx.data, ga.dy.data, b.out.data, b.argmax.data, gb.data];
    outs.forEach((arr, i) => {
      assert.ok(![x.data, y.data, idx.data, dOut.data, idxSelf.data].some((inp) => overlaps(inp, arr)), `output ${i} aliases an input`);
      outs.forEach((other, j) => assert.ok(i === j || !overlaps(arr, other), `outputs ${i} and ${j} share memory`));
    });
  });

  test.run();
});

/** Whether two typed arrays share any bytes. */
function overlaps(a, b) {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** Standard-normal-ish float32 data (sum of uniforms): many distinct magnitudes for the collision test. */
function randomNormalish(rng, shape) {
  const data = new Float32Array(numel(shape));
  for (let e = 0; e < data.length; e++) data[e] = rng.uniform(-1, 1) + rng.uniform(-1, 1) + rng.uniform(-1, 1);
  return f32(shape, data);
}
