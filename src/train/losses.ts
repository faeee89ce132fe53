/**
 * The training losses (paper eq. 4–7; docs/training.md), all masked where a label or landmark set is unknown:
 * weighted asymmetric loss on probabilities, weighted dice loss, landmark loss normalized by the
 * ground-truth inter-ocular distance; total = λ1·L_wa + λ2·L_dice + λ3·L_land with λ = (1, 1, 0.5).
 */
import * as tf from '@tensorflow/tfjs';
import { constantScalar as c } from '../tf/constants.js';

const EPS = 1e-8;

// The numbers below are kept scalars (c, tf/constants.ts): tf.mul(x, 2) would make a new scalar tensor per
// call, and each one is a forced young-generation GC in the middle of a step on the cpu backend.

/** x in the forward pass, no gradient in the backward pass (PyTorch's .detach()). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((t: tf.Tensor) => ({ value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (f as unknown as (t: tf.Tensor) => T)(x);
}

/**
 * L_wa = −(1/n) Σ w_c [y log max(p, 1e−8) + (1 − y) · p̄ · log max(1 − p, 1e−8)], p̄ = p detached; the sum
 * and n run over the known labels (mask = 1). probs, labels, mask: [B, C]; weights: [C].
 */
export function weightedAsymmetricLoss(probs: tf.Tensor2D, labels: tf.Tensor2D, mask: tf.Tensor2D, weights: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const pos = tf.mul(labels, tf.log(tf.maximum(probs, c(EPS))));
    const neg = tf.mul(tf.mul(tf.sub(c(1), labels), stopGradient(probs)), tf.log(tf.maximum(tf.sub(c(1), probs), c(EPS))));
    const terms = tf.mul(tf.mul(tf.add(pos, neg), weights), mask);
    return tf.neg(tf.div(tf.sum(terms), tf.maximum(tf.sum(mask), c(1)))) as tf.Scalar;
  });
}

/**
 * Weighted dice loss per sample (eq. 5, ε = 1): (1/C) Σ_c w_c (1 − (2 y p + ε) / (y² + p² + ε)) over the
 * known labels, averaged over the batch. (Per sample as the paper writes it; JAA-Net's code pools the
 * dice over the batch instead.)
 */
export function weightedDiceLoss(probs: tf.Tensor2D, labels: tf.Tensor2D, mask: tf.Tensor2D, weights: tf.Tensor1D, smooth = 1): tf.Scalar {
  return tf.tidy(() => {
    const dice = tf.div(tf.add(tf.mul(c(2), tf.mul(labels, probs)), c(smooth)), tf.add(tf.add(tf.square(labels), tf.square(probs)), c(smooth)));
    const terms = tf.mul(tf.mul(tf.sub(c(1), dice), weights), mask);
    return tf.div(tf.sum(terms), tf.maximum(tf.sum(mask), c(1))) as tf.Scalar;
  });
}

/**
 * Landmark loss (eq. 6): per sample Σ_k ((x̂ − x)² + (ŷ − y)²) / (2 d_o²), averaged over the samples
 * that have landmarks. pred, target: [B, 49, 2]; interOcular: [B] (d_o of the ground truth); has: [B].
 */
export function landmarkLoss(pred: tf.Tensor3D, target: tf.Tensor3D, interOcular: tf.Tensor1D, has: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const perSample = tf.div(tf.sum(tf.squaredDifference(pred, target), [1, 2]), tf.mul(c(2), tf.square(tf.maximum(interOcular, c(1e-3)))));
    return tf.div(tf.sum(tf.mul(perSample, has)), tf.maximum(tf.sum(has), c(1))) as tf.Scalar;
  });
}

export interface LossWeights {
  asymmetric: number;
  dice: number;
  landmarks: number;
}

export const PAPER_LOSS_WEIGHTS: LossWeights = { asymmetric: 1, dice: 1, landmarks: 0.5 };

/** A batch's targets as tensors ({@link batchTensors} in data/loader.ts makes them). */
export interface LossTargets {
  /** [B, C] 0/1 and the mask of known labels. */
  labels: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** [B, 49, 2] in input pixels; [B] inter-ocular distances; [B] 1 where the sample has landmarks. */
  landmarks: tf.Tensor3D;
  interOcular: tf.Tensor1D;
  hasLandmarks: tf.Tensor1D;
}

/**
 * The training loss (eq. 7) and its parts for the model's output: λ1·L_wa + λ2·L_dice + λ3·L_land, the
 * landmark part 0 for a model without a landmark predictor. `weights`: per-AU class weights [C].
 */
export function trainingLoss(out: { logits: tf.Tensor2D; landmarks: tf.Tensor3D | null }, t: LossTargets, weights: tf.Tensor1D, lw: LossWeights)
  : { total: tf.Scalar; asymmetric: tf.Scalar; dice: tf.Scalar; landmarks: tf.Scalar } {
  const probs = tf.sigmoid(out.logits);
  const asymmetric = weightedAsymmetricLoss(probs, t.labels, t.mask, weights);
  const dice = weightedDiceLoss(probs, t.labels, t.mask, weights);
  const landmarks = out.landmarks ? landmarkLoss(out.landmarks, t.landmarks, t.interOcular, t.hasLandmarks) : tf.scalar(0);
  const total = tf.addN([tf.mul(asymmetric, lw.asymmetric), tf.mul(dice, lw.dice), tf.mul(landmarks, lw.landmarks)]) as tf.Scalar;
  return { total, asymmetric, dice, landmarks };
}
