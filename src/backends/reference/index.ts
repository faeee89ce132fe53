/**
 * The pure-TS backend: the oracle. An async call computes at once and settles after the current tick, so
 * that, like the native backends, it reads its inputs as they were when it was called.
 */
import type { OpsBackend } from '../backend.js';
import { knnGraphReference } from './knn-graph.js';
import { maxRelativeGradReference, maxRelativeReference } from './max-relative.js';
import { roiAlignGradReference, roiAlignReference } from './roi-align.js';

function run(work: () => void, async: boolean): void | Promise<void> {
  if (!async) return work();
  let error: unknown = null;
  try {
    work();
  } catch (e) {
    error = e ?? new Error('the reference kernel threw');
  }
  return new Promise((resolve, reject) => setImmediate(() => (error === null ? resolve() : reject(error))));
}

export const referenceBackend: OpsBackend = {
  name: 'reference',
  checksFinite: false,
  checksIndices: false,
  knnGraph: (a, out, async) => run(() => knnGraphReference(a, out), async),
  maxRelative: (a, out, argmax, async) => run(() => maxRelativeReference(a, out, argmax), async),
  maxRelativeGrad: (a, dx, dy, async) => run(() => maxRelativeGradReference(a, dx, dy), async),
  roiAlign: (a, out, async) => run(() => roiAlignReference(a, out), async),
  roiAlignGrad: (a, dF, async) => run(() => roiAlignGradReference(a, dF), async),
};

export { knnGraphReference, referenceDistance } from './knn-graph.js';
export { maxRelativeReference, maxRelativeGradReference } from './max-relative.js';
export { roiAlignReference, roiAlignGradReference, bilinearTaps } from './roi-align.js';
