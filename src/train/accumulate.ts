/**
 * Gradient accumulation: a batch split into micro-batches whose gradients are summed before one optimizer
 * step, so a batch whose activations do not fit (the full model at batch 16 on wasm's 32-bit heap) still
 * trains at its batch size. Each micro-batch's loss is weighted by its share of the batch, so for a loss
 * that is a mean over samples the sum is the whole batch's gradient. BatchNorm statistics and the dice
 * loss (a ratio over the batch) come from each micro-batch instead: close to, not equal to, one pass.
 */
import * as tf from '@tensorflow/tfjs';

/** [start, size] of each micro-batch of a batch of `batch` samples, at most `micro` each (0: one). */
export function microBatches(batch: number, micro = 0): [start: number, size: number][] {
  const m = micro > 0 ? Math.min(micro, batch) : batch;
  const out: [number, number][] = [];
  for (let start = 0; start < batch; start += m) out.push([start, Math.min(m, batch - start)]);
  return out;
}

/**
 * The sum over `chunks` of `gradsOf(start, size, share)`, where `share` = size / batch is the weight the
 * micro-batch's loss must carry. Each call's gradients are disposed once added; the caller disposes the sum.
 */
export function accumulateGradients(chunks: readonly [number, number][],
  gradsOf: (start: number, size: number, share: number) => tf.NamedTensorMap): tf.NamedTensorMap {
  const batch = chunks.reduce((n, [, size]) => n + size, 0);
  let sum: tf.NamedTensorMap | null = null;
  for (const [start, size] of chunks) {
    const grads = gradsOf(start, size, size / batch);
    if (!sum) {
      sum = grads;
      continue;
    }
    const prev: tf.NamedTensorMap = sum;
    const names = new Set([...Object.keys(prev), ...Object.keys(grads)]);
    sum = tf.tidy(() => Object.fromEntries([...names].map((name) => {
      const [a, b] = [prev[name], grads[name]];
      return [name, a && b ? tf.add(a, b) : (a ?? b)!.clone()];
    })));
    tf.dispose([...Object.values(prev), ...Object.values(grads)]);
  }
  if (!sum) throw new RangeError('accumulateGradients: no micro-batches');
  return sum;
}
