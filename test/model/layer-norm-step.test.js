/**
 * The model's LayerNorms and the attention's instance norm on the fused kernels (src/tf/fused.ts): a
 * small full-variant and a tiny-variant step (the trainer's batchGradients: its losses on one batch) gives
 * the same loss and gradients as the stock-op composite path (the kernels unregistered), to rounding, on
 * cpu and wasm; the fused step's profile lists the three fused kernels, the composite's none.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { AuModel } from '../../dist/model/index.js';
import { registerFastKernels } from '../../dist/tf/index.js';
import { PAPER_TRAINING, batchGradients } from '../../dist/train/trainer.js';
import { NesterovSgd } from '../../dist/train/optimizer.js';
import { loadRawAddon } from '../helpers/backends.js';
import { smallConfig } from './helpers.js';

const { addon } = loadRawAddon();
const test = suite('model step: fused LayerNorm vs the composite');

const FUSED = ['SaclLayerNorm', 'SaclLayerNormNoAffine', 'SaclLayerNormGrad'];

/** Runs fn with the fused kernels unregistered on a backend (the op then computes with stock ops). */
async function withoutFused(backend, fn) {
  const saved = FUSED.map((name) => tf.getKernel(name, backend)).filter(Boolean);
  for (const k of saved) tf.unregisterKernel(k.kernelName, backend);
  try {
    return await fn();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

/** A batch as the loader gives it, from a seeded generator. */
function makeBatch(config, numAus, B) {
  let s = 7;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const fill = (n, f) => Float32Array.from({ length: n }, f);
  const S = config.inputSize;
  return {
    size: B, images: fill(B * S * S * 3, () => rand() * 2 - 1), labels: fill(B * numAus, () => (rand() < 0.3 ? 1 : 0)),
    mask: fill(B * numAus, () => 1), landmarks: fill(B * 98, () => (0.3 + 0.4 * rand()) * S), interOcular: fill(B, () => 0.3 * S),
    hasLandmarks: fill(B, () => 1),
  };
}

/** The loss parts and every gradient of one batch, as host arrays, with the kernels used. */
async function step(model, batch) {
  const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
  const ctx = { model, optimizer: new NesterovSgd({ momentum: 0.9 }), params, weights: tf.ones([model.numAus]),
    lossWeights: PAPER_TRAINING.lossWeights, microBatch: 0 };
  let out;
  const profile = await tf.profile(() => {
    const { grads, parts } = batchGradients(ctx, batch);
    out = { loss: parts.map((t) => t.dataSync()[0]), grads: Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, t.dataSync().slice()])) };
    tf.dispose([...Object.values(grads), ...parts]);
  });
  ctx.weights.dispose();
  return { ...out, kernels: new Set(profile.kernelNames) };
}

for (const variant of ['full', 'tiny']) {
  test(`${variant} (small): the same loss and gradients with the fused kernels as without, cpu and wasm`, async () => {
    if (!addon) return;
    const config = smallConfig(variant);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      registerFastKernels(backend);
      const model = new AuModel(config, 5);
      const batch = makeBatch(config, model.numAus, 2);
      const fused = await step(model, batch);
      const composite = await withoutFused(backend, () => step(model, batch));
      for (const k of ['SaclLayerNorm', 'SaclLayerNormNoAffine', 'SaclLayerNormGrad']) assert.ok(fused.kernels.has(k), `${backend}: ${k} ran`);
      for (const k of FUSED) assert.not.ok(composite.kernels.has(k), `${backend}: ${k} not in the composite run`);
      fused.loss.forEach((v, i) => assert.ok(Math.abs(v - composite.loss[i]) <= 1e-5 * Math.abs(composite.loss[i]) + 1e-7,
        `${backend} loss part ${i}: ${v} vs ${composite.loss[i]}`));
      // each gradient within 1e-4 of its largest magnitude (a whole backward pass of float32 rounding), plus
      // 1e-7 of the largest of all: some are zero but for rounding (the key bias shifts softmax rows evenly)
      const largest = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const overall = Math.max(...Object.values(composite.grads).map(largest));
      let checked = 0;
      for (const [name, want] of Object.entries(composite.grads)) {
        const got = fused.grads[name];
        const scale = largest(want);
        for (let i = 0; i < want.length; i++) {
          if (!(Math.abs(got[i] - want[i]) <= 1e-4 * scale + 1e-7 * overall)) {
            assert.unreachable(`${backend} ${name}[${i}]: ${got[i]} vs ${want[i]} (largest |grad| ${scale})`);
          }
        }
        checked++;
      }
      assert.ok(checked > 20, `${backend}: ${checked} gradients compared`);
      model.store.dispose?.();
    }
    await tf.setBackend('cpu');
  });
}

test.run();
