/**
 * Constants made once and kept, one per (backend, value), for the ops a training step runs with a
 * number operand that does not depend on the data (the BatchNorm update's momentum terms and unbiased-
 * variance factors, attention scales, the losses' numbers, the AU table). Kept for the life of the
 * process, at most MAX_KEPT of them: a value that changed with every batch would otherwise pile them up.
 *
 * Why: tf.mul(x, 0.9) makes a new scalar tensor per call, on-heap in V8 (typed arrays of 64 bytes or
 * less live in the JS heap). The cpu backend's storage reads each new value's `.buffer`
 * (kernels/release.ts counts which tensors hold our outputs), which makes V8 give the scalar a backing
 * store of its own; and V8 runs a young-generation GC before allocating a backing store while 32 MB of
 * young ones are alive, which a step's large outputs always are: ~40 scavenges of ~1 ms each a step
 * (full model, batch 16), serial work on the main thread, ~25 with the constants kept, ~7 since the
 * losses', the AU table's and the variance factor's were kept too (docs/training.md, "Memory").
 */
import * as tf from '@tensorflow/tfjs';

/** Distinct values kept at most; past this, a fresh scalar per call (still correct, just not kept). */
const MAX_KEPT = 256;
const kept = new Map<string, tf.Tensor>();

/** A float32 scalar of `value`, the same tensor on every call with the same backend and value; never dispose it. */
export function constantScalar(value: number): tf.Scalar {
  return constantTensor(`scalar ${value}`, () => tf.scalar(value, 'float32'));
}

/**
 * A constant tensor made by `make` once per (backend, key) and kept, for the constants a step would
 * otherwise make on every call (the AU table's landmark indices and offsets): each new one off the JS
 * heap is a forced scavenge mid-step (see above). `key` must name the values; never dispose the result.
 */
export function constantTensor<T extends tf.Tensor>(key: string, make: () => T): T {
  const k = `${tf.getBackend()}|${key}`;
  const t = kept.get(k) as T | undefined;
  if (t !== undefined && !t.isDisposed) return t;
  const made = make();
  if (kept.size >= MAX_KEPT && t === undefined) return made;
  kept.set(k, tf.keep(made));
  return made;
}
