/**
 * Whole-model gradient check: tfjs' gradient of the `tiny` model's output with respect to backbone
 * parameters of stages 2–4, which reach the loss only through MSFL's bilinear up-sampling (paper eq. 1),
 * against central finite differences. With tfjs 4.22's stock ResizeBilinearGrad the check fails.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { stockKernel } from '../../dist/tf/index.js';
import { withKernel } from '../helpers/kernels.js';
import { randomBatch, useWasm } from './helpers.js';

const test = suite('whole-model gradient check');
test.before(useWasm);

/** Backbone parameters upstream of MSFL's up-sampling only (stage 1's map is not resized). */
const PARAMS = [
  'backbone.stage2.0.mlp.fc2.weight',
  'backbone.patch_embed_3.conv.weight',
  'backbone.stage3.0.mlp.fc2.weight',
  'backbone.stage4.0.attn.q.weight',
  'backbone.stage4.0.mlp.fc2.weight',
];

/**
 * Central differences along one random direction v per parameter: (L(θ + h·v) − L(θ − h·v)) / 2h with
 * h = 1e-3. On this model h = 1e-2 left curvature errors up to 15 % and h = 5e-4 float32 noise near 1 %;
 * at 1e-3 the directional derivatives agree within 0.2 % here, and the stock kernel's are 12 % to 270 %
 * off. Tolerance: 2 % of the derivative plus 2e-3.
 */
const H = 1e-3;
const RTOL = 0.02;
const ATOL = 2e-3;

test('tfjs\' gradient of the tiny model equals central finite differences on stage 2–4 parameters; the stock kernel\'s does not', () => {
  const config = modelConfig('tiny');
  const model = new AuModel(config, 3);
  const batch = randomBatch(config, 2, 17);
  const { images } = batch;
  const w = tf.randomNormal([2, 12], 0, 1, 'float32', 18);
  const loss = () => tf.sum(tf.mul(w, model.apply(images, { training: false }).logits));
  const byName = new Map(model.store.named().map((e) => [e.name, e.tensor]));
  const vars = PARAMS.map((name) => byName.get(name));
  assert.ok(vars.every(Boolean), 'every checked parameter exists');
  const dirs = vars.map((v, i) => tf.randomNormal(v.shape, 0, 1, 'float32', 40 + i));
  /** g·v per parameter from tfjs' backward pass. */
  const directional = () => tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, vars);
    return vars.map((v, i) => tf.sum(tf.mul(grads[v.name], dirs[i])).dataSync()[0]);
  });
  const ours = directional();
  const stock = withKernel(stockKernel('ResizeBilinearGrad', 'wasm'), directional);
  const fd = vars.map((v, i) => {
    const at = (step) => {
      const original = v.clone();
      v.assign(tf.tidy(() => tf.add(original, tf.mul(dirs[i], step))));
      const value = tf.tidy(() => loss().dataSync()[0]);
      v.assign(original);
      original.dispose();
      return value;
    };
    return (at(H) - at(-H)) / (2 * H);
  });
  const off = (g) => PARAMS.filter((_, i) => Math.abs(g[i] - fd[i]) > RTOL * Math.abs(fd[i]) + ATOL);
  const table = (g) => PARAMS.map((p, i) => `${p}: ${g[i].toPrecision(5)} vs ${fd[i].toPrecision(5)}`).join('; ');
  assert.equal(off(ours), [], `gradient vs finite differences: ${table(ours)}`);
  assert.ok(off(stock).length >= 3, `the stock kernel should fail the check: ${table(stock)}`);
  tf.dispose([batch, w, ...dirs]);
  model.dispose();
});

test.run();
