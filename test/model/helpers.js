/** Small model configs for tests: every variant's structure, narrowed to run in well under a second. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { modelConfig } from '../../dist/model/index.js';
import { registerFastKernels } from '../../dist/tf/index.js';

/** Switches to wasm (with the sacl-au kernels it needs to train). */
export async function useWasm() {
  await tf.setBackend('wasm');
  registerFastKernels('wasm');
}

/** The variant at 64 px with narrow widths; the variant's own switches (MSFL, graph, fusion…) kept. */
export function smallConfig(variant, extra = {}) {
  const base = modelConfig(variant);
  const overrides = {
    inputSize: 64,
    backbone: { dims: [8, 16, 24, 32], heads: [1, 2, 2, 4], depths: [1, 1, 1, 1], srRatios: [8, 4, 2, 1], mlpRatio: 2 },
    roiSize: 3,
    ...(base.landmarks && { landmarks: [8, 8, 8] }),
    ...(base.sacl && { sacl: base.sacl.layer === 'transformer' ? { widths: [16], depths: [2], heads: 2, k: 5 } : { widths: [8, 16], depths: [2, 1], k: 5, groups: 2, ffnRatio: 2 } }),
    ...(base.classifier.hidden && { classifier: { hidden: 8 } }),
    ...extra,
  };
  return modelConfig(variant, overrides);
}

export function randomBatch(config, batch, seed) {
  const s = config.inputSize;
  return tf.tidy(() => ({
    images: tf.randomNormal([batch, s, s, 3], 0, 1, 'float32', seed),
    labels: tf.cast(tf.greater(tf.randomUniform([batch, config.auSet === 'bp4d' ? 12 : 8], 0, 1, 'float32', seed + 1), 0.5), 'float32'),
    landmarks: tf.add(tf.mul(tf.reshape(tf.tensor1d([...Array(98)].map((_, i) => (i % 2 ? 0.5 : 0.45))), [1, 49, 2]), s),
      tf.randomNormal([batch, 49, 2], 0, 2, 'float32', seed + 2)),
  }));
}

/** A training loss that reaches every part: AU cross-entropy plus landmark MSE (normalized by size²). */
export function lossOf(model, batch, training = true) {
  const { logits, landmarks } = model.apply(batch.images, { training });
  let loss = tf.losses.sigmoidCrossEntropy(batch.labels, logits);
  if (landmarks) loss = tf.add(loss, tf.div(tf.losses.meanSquaredError(batch.landmarks, landmarks), model.config.inputSize ** 2 / 100));
  return loss;
}
