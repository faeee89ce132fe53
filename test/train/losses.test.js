/** Losses, metrics and the schedule against hand-computed values. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { PAPER_LOSS_WEIGHTS, landmarkLoss, stopGradient, trainingLoss, weightedAsymmetricLoss, weightedDiceLoss } from '../../dist/train/losses.js';
import { auMetrics } from '../../dist/train/metrics.js';
import { learningRate } from '../../dist/train/schedule.js';
import { classWeights } from '../../dist/data/dataset.js';

const test = suite('losses, metrics, schedule');
test.before(async () => { await tf.setBackend('cpu'); });
const close = (a, b, msg, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);

test('weighted asymmetric loss: −(1/n) Σ w [y log p + (1−y) p log(1−p)], unknowns masked', () => {
  const p = tf.tensor2d([[0.8, 0.3]]);
  const y = tf.tensor2d([[1, 0]]);
  const w = tf.tensor1d([1, 2]);
  // −½ [log 0.8 + 2 · 0.3 · log 0.7]
  close(weightedAsymmetricLoss(p, y, tf.tensor2d([[1, 1]]), w).dataSync()[0], -0.5 * (Math.log(0.8) + 2 * 0.3 * Math.log(0.7)), 'both known');
  close(weightedAsymmetricLoss(p, y, tf.tensor2d([[1, 0]]), w).dataSync()[0], -Math.log(0.8), 'second unknown');
  // p̄ is detached: d/dp of the negative term is −w · p̄ / (1 − p) · (−1)… only through log(1 − p)
  const g = tf.grad((q) => weightedAsymmetricLoss(q, tf.tensor2d([[0]]), tf.tensor2d([[1]]), tf.tensor1d([1])))(tf.tensor2d([[0.3]]));
  close(g.dataSync()[0], 0.3 / 0.7, 'gradient with p̄ constant');
});

test('weighted dice loss per sample (ε = 1)', () => {
  const p = tf.tensor2d([[0.8, 0.3]]);
  const y = tf.tensor2d([[1, 0]]);
  const want = ((1 - 2.6 / 2.64) * 1 + (1 - 1 / 1.09) * 2) / 2;
  close(weightedDiceLoss(p, y, tf.tensor2d([[1, 1]]), tf.tensor1d([1, 2])).dataSync()[0], want, 'dice');
});

test('landmark loss: Σ squared error / (2 d_o²), samples without landmarks left out', () => {
  const target = tf.zeros([2, 49, 2]);
  const pred = tf.concat([tf.stack([tf.ones([49]), tf.zeros([49])], 1).expandDims(0), tf.fill([1, 49, 2], 100)]);
  const v = landmarkLoss(pred, target, tf.tensor1d([10, 10]), tf.tensor1d([1, 0])).dataSync()[0];
  close(v, 49 / 200, 'landmarks');
});

test('stopGradient passes values and blocks gradients', () => {
  const g = tf.grad((x) => tf.sum(tf.mul(x, stopGradient(x))))(tf.tensor1d([3]));
  close(g.dataSync()[0], 3, 'd(x · sg(x))/dx = sg(x)');
});

test('metrics from known counts; unknown labels left out; always-present F1', () => {
  const probs = [[0.9, 0.1], [0.6, 0.7], [0.2, 0.4], [0.4, 0.8], [0.7, 0.2]];
  const labels = [[1, 0], [0, 1], [0, 0], [1, -1], [1, 1]];
  const m = auMetrics([1, 2], probs, labels);
  // AU1: TP 2 (rows 0, 4), FP 1 (row 1), FN 1 (row 3), TN 1 (row 2) → F1 = 4/6
  assert.equal([m.perAu[0].tp, m.perAu[0].fp, m.perAu[0].fn, m.perAu[0].tn], [2, 1, 1, 1]);
  close(m.perAu[0].f1, 4 / 6, 'F1 AU1');
  close(m.perAu[0].accuracy, 3 / 5, 'accuracy AU1');
  close(m.perAu[0].alwaysPresentF1, (2 * 3) / (2 * 3 + 2), 'always-present AU1');
  // AU2: row 3 unknown; TP 1 (row 1), FN 1 (row 4), TN 2 → F1 = 2/3
  assert.equal([m.perAu[1].tp, m.perAu[1].fp, m.perAu[1].fn, m.perAu[1].tn], [1, 0, 1, 2]);
  close(m.meanF1, (4 / 6 + 2 / 3) / 2, 'mean F1');
});

test('class weights w_c = C (1/r_c) / Σ 1/r_j', () => {
  const s = (labels) => ({ labels: Int8Array.from(labels) });
  const w = classWeights([s([1, 1]), s([0, 1]), s([0, 1]), s([0, -1])], 2);
  // r = (1/4, 3/3): 1/r = (4, 1) → w = 2 · (4, 1) / 5
  close(w[0], 1.6, 'w AU1');
  close(w[1], 0.4, 'w AU2');
});

test('schedule: linear warm-up, then cosine to zero', () => {
  const s = { peak: 1, totalSteps: 10, warmupSteps: 2 };
  close(learningRate(0, s), 0.5, 'step 0');
  close(learningRate(1, s), 1, 'step 1');
  close(learningRate(2, s), 1, 'step 2');
  close(learningRate(6, s), 0.5, 'step 6');
  close(learningRate(10, s), 0, 'end');
});

test('trainingLoss: λ1·L_wa + λ2·L_dice + λ3·L_land of the parts; no landmark predictor, no landmark part', () => {
  tf.tidy(() => {
    const logits = tf.tensor2d([[0.3, -1.2, 2], [-0.5, 0.1, 0.7]]);
    const t = {
      labels: tf.tensor2d([[1, 0, 1], [0, 0, 1]]), mask: tf.tensor2d([[1, 1, 0], [1, 1, 1]]),
      landmarks: tf.randomUniform([2, 49, 2], 0, 40, 'float32', 3), interOcular: tf.tensor1d([20, 25]), hasLandmarks: tf.tensor1d([1, 0]),
    };
    const pred = tf.randomUniform([2, 49, 2], 0, 40, 'float32', 4);
    const w = tf.tensor1d([1, 2, 0.5]);
    const probs = tf.sigmoid(logits);
    const wa = weightedAsymmetricLoss(probs, t.labels, t.mask, w).dataSync()[0];
    const dice = weightedDiceLoss(probs, t.labels, t.mask, w).dataSync()[0];
    const land = landmarkLoss(pred, t.landmarks, t.interOcular, t.hasLandmarks).dataSync()[0];
    const r = trainingLoss({ logits, landmarks: pred }, t, w, PAPER_LOSS_WEIGHTS);
    assert.equal([r.asymmetric, r.dice, r.landmarks].map((x) => x.dataSync()[0]), [wa, dice, land]);
    assert.ok(Math.abs(r.total.dataSync()[0] - (wa + dice + 0.5 * land)) < 1e-6);
    const none = trainingLoss({ logits, landmarks: null }, t, w, { asymmetric: 1, dice: 0, landmarks: 5 });
    assert.is(none.landmarks.dataSync()[0], 0);
    assert.ok(Math.abs(none.total.dataSync()[0] - wa) < 1e-6);
  });
});

test.run();
