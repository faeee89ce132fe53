/**
 * options.into on every op and backend: the result is written into the caller's arrays (same objects
 * returned), equals the freshly allocated result bit for bit, sync and async; wrong shapes, dtypes and
 * arrays that overlap an input are refused.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  knnGraph, knnGraphAsync, maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync, roiAlign,
  roiAlignAsync, roiAlignGrad, roiAlignGradAsync,
} from '../../dist/index.js';
import { assertBitIdentical, assertRejectsWith, assertThrowsWith } from '../helpers/assert.js';
import { availableBackends } from '../helpers/backends.js';
import { Rng, numel, randomFloat32, randomIndex } from '../helpers/random.js';

const f32 = (shape) => ({ shape, data: new Float32Array(numel(shape)).fill(Number.NaN) });
const i32 = (shape) => ({ shape, data: new Int32Array(numel(shape)).fill(-7) });

for (const backend of availableBackends) {
  const test = suite(`options.into [${backend}]`);
  const rng = new Rng(4242);
  const x = randomFloat32(rng, [2, 11, 6]);
  const y = randomFloat32(rng, [2, 13, 6]);
  const idx = randomIndex(rng, [2, 11, 4], 13);
  const selfIdx = randomIndex(rng, [2, 11, 4], 11);
  const features = randomFloat32(rng, [2, 9, 8, 5]);
  const centers = randomFloat32(rng, [2, 3, 2], 0, 8);

  test('knnGraph writes into the given Int32 array', async () => {
    const want = knnGraph(x, 4, { backend, candidates: y });
    const into = i32([2, 11, 4]);
    const got = knnGraph(x, 4, { backend, candidates: y, into });
    assert.is(got, into, 'returns the caller\'s object');
    assertBitIdentical(got, want);
    const intoAsync = i32([2, 11, 4]);
    assert.is(await knnGraphAsync(x, 4, { backend, candidates: y, into: intoAsync }), intoAsync);
    assertBitIdentical(intoAsync, want);
  });

  test('maxRelative and maxRelativeGrad write into the given arrays', async () => {
    const want = maxRelative(x, idx, { backend, candidates: y });
    const into = { out: f32([2, 11, 6]), argmax: i32([2, 11, 6]) };
    const got = maxRelative(x, idx, { backend, candidates: y, into });
    assert.is(got.out, into.out);
    assert.is(got.argmax, into.argmax);
    assertBitIdentical(got.out, want.out);
    assertBitIdentical(got.argmax, want.argmax);
    const intoAsync = { out: f32([2, 11, 6]), argmax: i32([2, 11, 6]) };
    const a = await maxRelativeAsync(x, idx, { backend, candidates: y, into: intoAsync });
    assertBitIdentical(a.out, want.out);

    const gWant = maxRelativeGrad(want.out, idx, want.argmax, { backend, candidates: y });
    const gInto = { dx: f32([2, 11, 6]), dy: f32([2, 13, 6]) };
    const g = maxRelativeGrad(want.out, idx, want.argmax, { backend, candidates: y, into: gInto });
    assert.is(g.dx, gInto.dx);
    assert.is(g.dy, gInto.dy);
    assertBitIdentical(g.dx, gWant.dx);
    assertBitIdentical(g.dy, gWant.dy);
    // without candidates the result is dx alone
    const self = maxRelative(x, selfIdx, { backend });
    const dxInto = { dx: f32([2, 11, 6]) };
    const dx = await maxRelativeGradAsync(self.out, selfIdx, self.argmax, { backend, into: dxInto });
    assert.is(dx, dxInto.dx);
    assertBitIdentical(dx, maxRelativeGrad(self.out, selfIdx, self.argmax, { backend }));
  });

  test('roiAlign and roiAlignGrad write into the given arrays', async () => {
    const want = roiAlign(features, centers, 4, { backend, step: 1.5 });
    const into = f32([2, 3, 4, 4, 5]);
    assert.is(roiAlign(features, centers, 4, { backend, step: 1.5, into }), into);
    assertBitIdentical(into, want);
    const gWant = roiAlignGrad(want, centers, [2, 9, 8, 5], { backend, step: 1.5 });
    const gInto = f32([2, 9, 8, 5]);
    assert.is(await roiAlignGradAsync(want, centers, [2, 9, 8, 5], { backend, step: 1.5, into: gInto }), gInto);
    assertBitIdentical(gInto, gWant);
    const aInto = f32([2, 3, 4, 4, 5]);
    await roiAlignAsync(features, centers, 4, { backend, step: 1.5, into: aInto });
    assertBitIdentical(aInto, want);
  });

  test('wrong shapes, dtypes and overlapping arrays are refused', async () => {
    assertThrowsWith(() => knnGraph(x, 4, { backend, into: i32([2, 11, 5]) }), RangeError,
      [/^Expected \[2, 11, 4\] \(the op's output\) for options\.into\.shape but received \[2, 11, 5\]$/]);
    assertThrowsWith(() => knnGraph(x, 4, { backend, into: f32([2, 11, 4]) }), TypeError,
      [/for options\.into\.data but received Float32Array$/]);
    assertThrowsWith(() => roiAlign(features, centers, 4, { backend, into: features }), RangeError, [/for options\.into\.shape/]);
    // an output that is a view into an input's memory
    const big = new Float32Array(numel([2, 11, 6]) * 2);
    const xv = { shape: [2, 11, 6], data: big.subarray(0, numel([2, 11, 6])) };
    xv.data.set(x.data);
    const clash = { out: { shape: [2, 11, 6], data: big.subarray(5, 5 + numel([2, 11, 6])) }, argmax: i32([2, 11, 6]) };
    assertThrowsWith(() => maxRelative(xv, selfIdx, { backend, into: clash }), RangeError,
      [/^Expected an array that shares no memory with the inputs for options\.into\.out but received one that overlaps x$/]);
    const same = f32([2, 11, 6]);
    const sharedOut = { out: same, argmax: { shape: [2, 11, 6], data: new Int32Array(same.data.buffer) } };
    assertThrowsWith(() => maxRelative(x, selfIdx, { backend, into: sharedOut }), RangeError, [/overlaps options\.into\.out$/]);
    assertThrowsWith(() => maxRelative(x, selfIdx, { backend, into: 3 }), TypeError, [/for options\.into but received 3$/]);
    assertThrowsWith(() => maxRelativeGrad(x, selfIdx, i32([2, 11, 6]).data.fill(0) && { shape: [2, 11, 6], data: new Int32Array(132) },
      { backend, into: { dx: f32([2, 11, 6]), dy: f32([2, 11, 6]) } }), TypeError, [/options\.into\.dy/]);
    await assertRejectsWith(() => roiAlignAsync(features, centers, 4, { backend, into: f32([2, 3, 4, 4, 6]) }), RangeError,
      [/options\.into\.shape/]);
  });

  test.run();
}
