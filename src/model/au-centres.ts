/**
 * AU centres on tensors (paper Table 2): landmarks [B, 49, 2] in image pixels → ROI centres
 * [B, R, 2] on the stem map (× η). The same table as src/face/au.ts's auCentres, which tests compare.
 * No gradient reaches the landmarks through the crops: roiAlign sends none to its centres.
 */
import * as tf from '@tensorflow/tfjs';
import { INNER_EYE_CORNERS, roisOf, type AuSet } from '../face/au.js';
import { constantScalar, constantTensor } from '../tf/constants.js';

export function auCentresTensor(landmarks: tf.Tensor3D, set: AuSet, eta: number): tf.Tensor3D {
  const rois = roisOf(set);
  return tf.tidy(() => {
    const x = tf.squeeze(tf.slice(landmarks, [0, 0, 0], [-1, -1, 1]), [2]); // [B, 49]
    const r = tf.abs(tf.sub(tf.slice(x, [0, INNER_EYE_CORNERS[0]], [-1, 1]), tf.slice(x, [0, INNER_EYE_CORNERS[1]], [-1, 1]))); // [B, 1]
    const landmark = rois.map((roi) => roi.landmark);
    const pairDy = rois.map((roi) => roi.pair.dy);
    const points = tf.gather(landmarks, constantTensor(`au-landmarks:${landmark}`, () => tf.tensor1d(landmark, 'int32')), 1); // [B, R, 2]
    const dy = constantTensor(`au-dy:${pairDy}`, () => tf.tensor1d(pairDy));
    const offset = tf.stack([tf.zerosLike(tf.mul(r, dy)), tf.mul(r, dy)], 2); // [B, R, 2]
    return tf.mul(tf.add(points, offset), constantScalar(eta)) as tf.Tensor3D;
  });
}
