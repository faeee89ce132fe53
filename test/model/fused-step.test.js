/**
 * The model on the fused GELU (+bias) and BatchNorm(+ReLU) kernels (src/tf/fused.ts): a tiny-model training
 * step's loss and every parameter gradient (trainer.ts batchGradients) equal, to rounding, those of the
 * same step on the stock-op composite (the fused kernels unregistered), on cpu and on wasm; the fused
 * step does dispatch the fused kernels.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { registerFastKernels } from '../../dist/tf/index.js';
import { SaclBatchNorm, SaclBatchNormGrad, SaclBiasGelu, SaclGelu, SaclGeluGrad } from '../../dist/tf/kernel-names.js';
import { PAPER_TRAINING, batchGradients } from '../../dist/train/trainer.js';
import { NesterovSgd } from '../../dist/train/optimizer.js';
import { assertClose } from '../helpers/assert.js';
import { Rng } from '../helpers/random.js';

const test = suite('model step on the fused kernels');
test.after(async () => { await tf.setBackend('cpu'); });

const FUSED = [SaclGelu, SaclBiasGelu, SaclGeluGrad, SaclBatchNorm, SaclBatchNormGrad];

/** Runs fn with the fused kernels unregistered on a backend (the op functions then compose stock ops). */
function withoutFused(backendName, fn) {
  const saved = FUSED.map((name) => tf.getKernel(name, backendName));
  FUSED.forEach((name) => tf.unregisterKernel(name, backendName));
  try {
    return fn();
  } finally {
    saved.forEach((config) => tf.registerKernel(config));
  }
}

function stepOf(model, batch) {
  const o = PAPER_TRAINING;
  const A = model.numAus;
  const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
  const ctx = {
    model, params, weights: tf.ones([A]), lossWeights: o.lossWeights, microBatch: 0,
    optimizer: new NesterovSgd({ momentum: o.momentum, weightDecay: o.weightDecay, clipNorm: o.clipNorm }),
  };
  const { grads, parts } = batchGradients(ctx, batch);
  const out = {
    loss: parts.reduce((s, p) => s + p.dataSync()[0], 0),
    grads: Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, g.dataSync().slice()])),
  };
  tf.dispose([ctx.weights, parts, Object.values(grads)]);
  return out;
}

function batchOf(config, A, B) {
  const rng = new Rng(21);
  const S = config.inputSize;
  const fill = (n, f) => Float32Array.from({ length: n }, f);
  return {
    size: B, images: fill(B * S * S * 3, () => rng.uniform(-1, 1)), labels: fill(B * A, () => (rng.next() < 0.3 ? 1 : 0)),
    mask: fill(B * A, () => 1), landmarks: fill(B * 98, () => (0.3 + 0.4 * rng.next()) * S), interOcular: fill(B, () => 0.3 * S),
    hasLandmarks: fill(B, () => 1),
  };
}

for (const backendName of ['cpu', 'wasm']) {
  test(`${backendName}: tiny-model loss and gradients equal the composite path's to rounding`, async () => {
    assert.ok(await tf.setBackend(backendName));
    const active = registerFastKernels(backendName);
    FUSED.forEach((name) => assert.ok(active.includes(name), `${name} on ${backendName}`));
    const config = modelConfig('tiny', { inputSize: 48 });
    const model = new AuModel(config, 1);
    const batch = batchOf(config, model.numAus, 3);
    const profile = await tf.profile(() => { stepOf(model, batch); });
    for (const name of FUSED) assert.ok(profile.kernelNames.includes(name), `${name} dispatched on ${backendName}`);
    const fused = stepOf(model, batch);
    const stock = withoutFused(backendName, () => stepOf(model, batch));
    assertClose(Float64Array.of(fused.loss), Float64Array.of(stock.loss), { rtol: 1e-5 }, 'loss');
    const names = Object.keys(stock.grads);
    assert.equal(Object.keys(fused.grads).sort(), names.slice().sort());
    for (const name of names) {
      const ref = stock.grads[name];
      const mag = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertClose(fused.grads[name], ref, { rtol: 1e-4, atol: 1e-4 * mag + 1e-9 }, `${backendName} ${name}`);
    }
    model.store.dispose?.();
  });
}

test.run();
