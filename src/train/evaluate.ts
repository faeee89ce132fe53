/** Inference over a sample list (centre crop, BatchNorm running statistics) and the metrics of SPEC §3. */
import * as tf from '@tensorflow/tfjs';
import type { AuSample } from '../data/dataset.js';
import { batches } from '../data/loader.js';
import type { AuModel } from '../model/model.js';
import { auMetrics, type Metrics } from './metrics.js';

export interface Predictions {
  samples: AuSample[];
  /** One row of AU probabilities per sample. */
  probabilities: Float32Array[];
}

export async function predictSamples(model: AuModel, samples: AuSample[], { batchSize = 16, onProgress }:
  { batchSize?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<Predictions> {
  const S = model.config.inputSize;
  const probabilities: Float32Array[] = [];
  for await (const batch of batches(samples, { inputSize: S, batchSize, augment: false, shuffle: false, seed: 0, epoch: 0 })) {
    const values = tf.tidy(() => model.predict(tf.tensor4d(batch.images, [batch.size, S, S, 3])).probabilities.dataSync());
    for (let i = 0; i < batch.size; i++) probabilities.push(values.slice(i * model.numAus, (i + 1) * model.numAus) as Float32Array);
    onProgress?.(probabilities.length, samples.length);
  }
  return { samples, probabilities };
}

export function evaluatePredictions(aus: readonly number[], p: Predictions): Metrics {
  return auMetrics(aus, p.probabilities, p.samples.map((s) => s.labels));
}
