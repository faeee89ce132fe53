/** Inference over a sample list (centre crop, BatchNorm running statistics) and the metrics of paper §4.1 (docs/training.md, Evaluation). */
import * as tf from '@tensorflow/tfjs';
import type { AuSample } from '../data/dataset.js';
import { batches } from '../data/loader.js';
import type { AuModel } from '../model/model.js';
import type { GraphRecord } from '../model/params.js';
import { auMetrics, type Metrics } from './metrics.js';

export interface Predictions {
  samples: AuSample[];
  /** One row of AU probabilities per sample. */
  probabilities: Float32Array[];
}

/** Predictions per sample; with onBadImage, unreadable images are reported and left out of the result. */
export async function predictSamples(model: AuModel, samples: AuSample[], { batchSize = 16, onProgress, onBadImage }:
  { batchSize?: number; onProgress?: (done: number, total: number) => void; onBadImage?: (file: string, reason: string) => void } = {}): Promise<Predictions> {
  const bad = new Set<string>();
  const report = onBadImage && ((file: string, reason: string) => { bad.add(file); onBadImage(file, reason); });
  const S = model.config.inputSize;
  const probabilities: Float32Array[] = [];
  for await (const batch of batches(samples, { inputSize: S, batchSize, augment: false, shuffle: false, seed: 0, epoch: 0, ...(report && { onBadImage: report }) })) {
    const values = tf.tidy(() => model.predict(tf.tensor4d(batch.images, [batch.size, S, S, 3])).probabilities.dataSync());
    for (let i = 0; i < batch.size; i++) probabilities.push(values.slice(i * model.numAus, (i + 1) * model.numAus) as Float32Array);
    onProgress?.(probabilities.length, samples.length);
  }
  if (bad.size === 0) return { samples, probabilities };
  const keep = samples.map((s) => !bad.has(s.imagePath));
  return { samples: samples.filter((_, i) => keep[i]), probabilities: probabilities.filter((_, i) => keep[i]) };
}

export function evaluatePredictions(aus: readonly number[], p: Predictions): Metrics {
  return auMetrics(aus, p.probabilities, p.samples.map((s) => s.labels));
}

/** SACL's graphs on a few samples (one batch, centre crop), for the correlation figures. */
export async function graphsOnSamples(model: AuModel, samples: AuSample[], onBadImage?: (file: string, reason: string) => void): Promise<GraphRecord[]> {
  const S = model.config.inputSize;
  for await (const batch of batches(samples, { inputSize: S, batchSize: samples.length, augment: false, shuffle: false, seed: 0, epoch: 0, ...(onBadImage && { onBadImage }) })) {
    const images = tf.tensor4d(batch.images, [batch.size, S, S, 3]);
    try {
      return model.graphs(images);
    } finally {
      images.dispose();
    }
  }
  return [];
}
