/**
 * The test helpers must be able to fail: each comparator is shown a deliberately wrong answer here.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  assertBitIdentical, assertClose, assertEqualValues, assertRejectsWith, assertThrowsWith, assertUlps, ulpDistance,
} from './assert.js';
import { assertSameBitsForThreads } from './kernels.js';
import { checkKnn, knnOracle } from './knn.js';
import { Rng, f32, i32, mulberry32, randomFloat32 } from './random.js';

const helpers = suite('test helpers');

/** Runs fn, which must throw an uvu Assertion whose message matches re. */
function mustFail(fn, re) {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, 'the helper accepted a wrong answer');
  assert.is(err.name, 'Assertion', `unexpected error from the helper: ${err && err.stack}`);
  if (re) assert.match(err.message, re);
}

helpers('mulberry32 is deterministic per seed and uniform-ish', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  let same = 0;
  let sum = 0;
  for (let i = 0; i < 1000; i++) {
    const va = a();
    assert.is(va, b());
    if (va === c()) same++;
    assert.ok(va >= 0 && va < 1);
    sum += va;
  }
  assert.ok(same < 5, 'different seeds should give different streams');
  assert.ok(Math.abs(sum / 1000 - 0.5) < 0.05, `mean ${sum / 1000}`);
});

helpers('assertClose accepts within tolerance and names the first bad position', () => {
  const e = f32([2, 2, 3], Array.from({ length: 12 }, (_, i) => i));
  const a = f32([2, 2, 3], e.data.map((v) => v * (1 + 1e-7)));
  assertClose(a, e, { rtol: 1e-6 });
  const wrong = f32([2, 2, 3], e.data.slice());
  wrong.data[8] += 0.01; // flat 8 = [1, 0, 2]
  wrong.data[11] += 1;
  mustFail(() => assertClose(wrong, e, { rtol: 1e-5, atol: 1e-6 }), /\[1, 0, 2\].*2 of 12 elements differ/);
  mustFail(() => assertClose(f32([3], [1, 2, Number.NaN]), f32([3], [1, 2, 3])), /\[2\]/);
  mustFail(() => assertClose(f32([2, 3], new Float32Array(6)), f32([3, 2], new Float32Array(6))), /shape/);
  // per-element atol
  assertClose(f32([2], [1.5, 0]), f32([2], [1, 0]), { rtol: 0, atol: [0.5, 0] });
  mustFail(() => assertClose(f32([2], [1, 0.1]), f32([2], [1, 0]), { rtol: 0, atol: [0.5, 0.05] }), /\[1\]/);
});

helpers('assertEqualValues / assertBitIdentical / assertUlps reject differences', () => {
  assertEqualValues(i32([3], [1, 2, 3]), i32([3], [1, 2, 3]));
  mustFail(() => assertEqualValues(i32([3], [1, 2, 4]), i32([3], [1, 2, 3])), /\[2\]/);
  assertBitIdentical(f32([2], [1, 2]), f32([2], [1, 2]));
  mustFail(() => assertBitIdentical(f32([2], [1, -0]), f32([2], [1, 0])), /\[1\]/);
  assert.is(ulpDistance(1, 1), 0);
  assert.is(ulpDistance(0, -0), 0);
  assert.is(ulpDistance(1, 1 + 2 ** -23), 1);
  assert.is(ulpDistance(-(2 ** -149), 2 ** -149), 2);
  assertUlps(f32([2], [1 + 2 ** -23, 3]), f32([2], [1, 3]), 1);
  mustFail(() => assertUlps(f32([2], [1 + 2 ** -22, 3]), f32([2], [1, 3]), 1), /2 ulps/);
});

helpers('assertThrowsWith / assertRejectsWith check the exact class, the message and sync-vs-async', async () => {
  assertThrowsWith(() => { throw new RangeError('Expected x for k but received 0'); }, RangeError, [/\bk\b/]);
  mustFail(() => assertThrowsWith(() => { throw new TypeError('k'); }, RangeError), /TypeError instead of RangeError/);
  mustFail(() => assertThrowsWith(() => { throw new Error('k'); }, RangeError), /Error instead of RangeError/);
  mustFail(() => assertThrowsWith(() => {}, RangeError), /nothing was thrown/);
  mustFail(() => assertThrowsWith(() => { throw new RangeError('size'); }, RangeError, [/\bk\b/]), /does not match/);
  await assertRejectsWith(async () => { throw new RangeError('k'); }, RangeError, [/k/]);
  let err;
  try {
    await assertRejectsWith(() => { throw new RangeError('k'); }, RangeError);
  } catch (e) {
    err = e;
  }
  assert.ok(err && /synchronously/.test(err.message), 'a synchronous throw must not count as a rejection');
  err = undefined;
  try {
    await assertRejectsWith(async () => 1, RangeError);
  } catch (e) {
    err = e;
  }
  assert.ok(err && /resolved/.test(err.message), 'a resolved Promise must not count as a rejection');
});

helpers('KNN comparator: accepts the oracle and exact-tie swaps, rejects wrong answers', () => {
  const rng = new Rng(7);
  const x = randomFloat32(rng, [2, 12, 4]);
  const k = 4;
  const opts = { metric: 'euclidean' };
  const expected = knnOracle(x, k, opts);
  assert.is(checkKnn(expected.idx, x, k, opts, expected), null);
  // sanity of the oracle: self first at distance 0
  for (let r = 0; r < 24; r++) {
    assert.is(expected.idx.data[r * k], r % 12);
    assert.is(expected.dist[r * k], 0);
  }
  const mutate = (f) => {
    const t = { shape: [2, 12, k], data: expected.idx.data.slice() };
    f(t.data);
    return t;
  };
  // the last neighbour of row (1, 5) replaced by the row's farthest candidate
  const far = knnOracle(x, 12, opts).idx.data[(12 + 5) * 12 + 11];
  const wrong = mutate((d) => { d[(12 + 5) * k + 3] = far; });
  assert.match(checkKnn(wrong, x, k, opts, expected) ?? '', /row \(b=1, i=5\).*multisets differ/);
  assert.match(checkKnn(mutate((d) => { d[3] = d[2]; }), x, k, opts, expected) ?? '', /appears twice/);
  assert.match(checkKnn(mutate((d) => { d[7] = 12; }), x, k, opts, expected) ?? '', /outside \[0, 12\)/);
  assert.match(checkKnn(mutate((d) => { d[7] = -1; }), x, k, opts, expected) ?? '', /outside/);
  assert.match(checkKnn(mutate((d) => { [d[4], d[6]] = [d[6], d[4]]; }), x, k, opts, expected) ?? '', /not sorted/);
  assert.match(checkKnn({ shape: [2, 12, 3], data: new Int32Array(72) }, x, k, opts, expected) ?? '', /shape/);
  assert.match(checkKnn({ shape: [2, 12, k], data: new Float32Array(96) }, x, k, opts, expected) ?? '', /Int32/);

  // exact ties may swap under this comparator (the exact tie rule is checked separately on integer data)
  const line = f32([1, 4, 1], [0, -1, 1, 5]);
  const tie = knnOracle(line, 3, opts);
  assert.equal(Array.from(tie.idx.data.subarray(0, 3)), [0, 1, 2], 'tie rule: lower index first');
  const swapped = { shape: [1, 4, 3], data: tie.idx.data.slice() };
  [swapped.data[1], swapped.data[2]] = [swapped.data[2], swapped.data[1]];
  assert.is(checkKnn(swapped, line, 3, opts, tie), null);

  // near-ties within 1e-5 relative may swap; a 1e-3 gap may not
  const near = f32([1, 3, 1], [0, 1, -(1 + 1e-7)]);
  const nearExp = knnOracle(near, 2, opts);
  assert.equal(Array.from(nearExp.idx.data.subarray(0, 2)), [0, 1]);
  assert.is(checkKnn({ shape: [1, 3, 2], data: Int32Array.from([0, 2, 1, 0, 2, 0]) }, near, 2, opts, nearExp), null);
  const apart = f32([1, 3, 1], [0, 1, -1.001]);
  const apartExp = knnOracle(apart, 2, opts);
  assert.match(checkKnn({ shape: [1, 3, 2], data: Int32Array.from([0, 2, 1, 0, 2, 0]) }, apart, 2, opts, apartExp) ?? '',
    /row \(b=0, i=0\)/);
});

helpers('KNN oracle honours dilation, candidates and the metrics', () => {
  const x = f32([1, 1, 2], [0, 0]);
  const y = f32([1, 6, 2], [3, 0, 1, 0, 5, 0, 2, 0, 4, 0, 0, 0]);
  // distances from the origin: 9, 1, 25, 4, 16, 0 (euclidean) → order 5, 1, 3, 0, 4, 2
  const all = knnOracle(x, 6, { candidates: y });
  assert.equal(Array.from(all.idx.data), [5, 1, 3, 0, 4, 2]);
  assert.equal(Array.from(all.dist), [0, 1, 4, 9, 16, 25]);
  const dil = knnOracle(x, 3, { candidates: y, dilation: 2 });
  assert.equal(Array.from(dil.idx.data), [5, 3, 4]);
  const man = knnOracle(x, 2, { candidates: y, metric: 'manhattan' });
  assert.equal(Array.from(man.dist), [0, 1]);
  // cosine: the origin is at distance 1 from everything → the lowest indices in order
  const cos = knnOracle(x, 3, { candidates: y, metric: 'cosine' });
  assert.equal(Array.from(cos.idx.data), [0, 1, 2]);
  assert.equal(Array.from(cos.dist), [1, 1, 1]);
});

helpers('assertSameBitsForThreads rejects outputs whose bits change with the thread count', () => {
  let calls = 0;
  const differs = () => Float32Array.of(1, calls++ === 0 ? 0 : -0);
  mustFail(() => assertSameBitsForThreads(differs, 'one'), /one: 2 threads vs 1: not bit-identical at \[1\]/);
  calls = 0;
  mustFail(() => assertSameBitsForThreads(() => ({ a: Float32Array.of(1), b: differs() }), 'pair'), /pair b: 2 threads vs 1/);
  const same = assertSameBitsForThreads(() => [Float32Array.of(NaN, -0)]);
  assert.is(Object.is(same[0][1], -0), true);
});

helpers.run();
