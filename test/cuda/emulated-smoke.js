/**
 * Every CUDA kernel once, on small shapes with partial tiles and partial warps, checked against the
 * reference: for ThreadSanitizer runs of the emulated kernels with real threads, where the full suites
 * take too long (see docs/kernels.md, "Races"). Needs the addon given by SACL_ADDON to have CUDA.
 *   npm run test:tsan
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { backends, knnGraph, maxRelative, maxRelativeGrad, roiAlign, roiAlignGrad } from '../../dist/index.js';
import { assertClose, assertEqualValues } from '../helpers/assert.js';
import { assertKnn, knnOracle } from '../helpers/knn.js';
import { Rng, randomFloat32, randomIndex, randomIntValued } from '../helpers/random.js';

const test = suite('CUDA kernels, emulated (smoke)');
const cuda = backends().find((b) => b.name === 'cuda');

test('the cuda backend is available (an emulated or a real build)', () => {
  assert.ok(cuda?.available, `cuda backend unavailable: ${cuda?.reason}`);
});

if (cuda?.available) {
  const rng = new Rng(99);
  test('knnGraph: register lists (k·d ≤ 64, both thread layouts) and the generic kernel', () => {
    const x = randomFloat32(rng, [2, 70, 35]); // partial query and candidate tiles, partial D chunk
    for (const [k, dilation] of [[9, 1], [5, 4], [33, 2]]) {
      for (const metric of ['euclidean', 'cosine', 'manhattan']) {
        const opts = { metric, dilation, normalize: metric !== 'manhattan' };
        assertKnn(knnGraph(x, k, { ...opts, backend: 'cuda' }), x, k, opts, knnOracle(x, k, opts), undefined, `k=${k} ${metric}`);
      }
    }
    const ints = randomIntValued(rng, [1, 40, 3], 0, 2); // exact ties through the shuffle merge
    assertEqualValues(knnGraph(ints, 10, { backend: 'cuda' }), knnOracle(ints, 10).idx);
  });

  test('maxRelative and its gradient', () => {
    const x = randomFloat32(rng, [2, 7, 45]);
    const y = randomFloat32(rng, [2, 11, 45]);
    const idx = randomIndex(rng, [2, 7, 5], 11);
    const want = maxRelative(x, idx, { candidates: y, backend: 'reference' });
    const got = maxRelative(x, idx, { candidates: y, backend: 'cuda' });
    assertEqualValues(got.argmax, want.argmax);
    assertClose(got.out, want.out, { rtol: 0 });
    const gWant = maxRelativeGrad(want.out, idx, want.argmax, { candidates: y, backend: 'reference' });
    const gGot = maxRelativeGrad(want.out, idx, want.argmax, { candidates: y, backend: 'cuda' });
    assertClose(gGot.dx, gWant.dx, { rtol: 0 });
    assertClose(gGot.dy, gWant.dy, { rtol: 0 });
  });

  test('roiAlign and its gradient', () => {
    const features = randomFloat32(rng, [2, 9, 7, 13]);
    const centers = randomFloat32(rng, [2, 5, 2], -2, 10);
    const want = roiAlign(features, centers, 5, { step: 1.5, backend: 'reference' });
    assertClose(roiAlign(features, centers, 5, { step: 1.5, backend: 'cuda' }), want, { rtol: 0 });
    assertClose(roiAlignGrad(want, centers, [2, 9, 7, 13], { step: 1.5, backend: 'cuda' }),
      roiAlignGrad(want, centers, [2, 9, 7, 13], { step: 1.5, backend: 'reference' }), { rtol: 0 });
  });
}

test.run();
