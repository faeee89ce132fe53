/**
 * The kernel families of bench/train-step.js: names land in the right family, the optimizer phase owns
 * its kernels, the per-family sums and the time outside kernels add up (custom ops not counted twice), and
 * every kernel a real training step of the tiny model dispatches (on both cpu and wasm) belongs to a named
 * family.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { CUSTOM_OP, FAMILIES, groupProfile, kernelFamily } from '../../bench/kernel-families.js';
import { initTf } from '../../dist/tf/engine.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { PAPER_TRAINING, batchGradients } from '../../dist/train/trainer.js';
import { NesterovSgd } from '../../dist/train/optimizer.js';

const test = suite('bench kernel families');
test.after(async () => { await tf.setBackend('cpu'); });

test('names map to their family; fused and custom kernels by pattern; unknown names are other', () => {
  const cases = {
    Conv2D: 'conv', Conv2DBackpropFilter: 'conv', DepthwiseConv2dNativeBackpropInput: 'conv', BatchMatMul: 'matmul',
    _FusedMatMul: 'matmul', Add: 'elementwise', Sigmoid: 'elementwise', Cast: 'elementwise', Sum: 'reduction', Mean: 'reduction',
    FusedBatchNorm: 'normalisation', Softmax: 'normalisation', Transpose: 'movement', SplitV: 'movement', GatherV2: 'movement',
    UnsortedSegmentSum: 'movement', ResizeBilinearGrad: 'pooling/resize', AvgPool: 'pooling/resize', KnnGraph: 'graph ops',
    MaxRelativeGrad: 'graph ops', RoiAlign: 'graph ops', SaclLayerNormGrad: 'normalisation', SaclBiasGelu: 'elementwise',
    SaclSgdNesterovUpdate: 'optimizer', FFT: 'other',
  };
  for (const [name, family] of Object.entries(cases)) assert.is(kernelFamily(name), family, name);
  assert.is(kernelFamily('Conv2D', 'optimizer'), 'optimizer');
  for (const family of Object.values(cases)) assert.ok(FAMILIES.includes(family), family);
});

test('groupProfile sums per family and per kernel, keeps the optimizer phase apart, and the rest is outside kernels', () => {
  const g = groupProfile([
    { phase: 'gradients', wallMs: 20, kernels: [{ name: 'Conv2D', kernelTimeMs: 5 }, { name: 'Add', kernelTimeMs: 1 }, { name: 'Conv2D', kernelTimeMs: 3 },
      { name: CUSTOM_OP, kernelTimeMs: 7 }] }, // a custom op: its 7 ms include the Add above
    { phase: 'optimizer', wallMs: 4, kernels: [{ name: 'Add', kernelTimeMs: 2 }, { name: 'Multiply', kernelTimeMs: 0.5 }] },
  ]);
  assert.is(g.families.conv, 8);
  assert.is(g.families.elementwise, 1);
  assert.is(g.families.optimizer, 2.5);
  assert.is(g.kernelMs, 11.5);
  assert.is(g.wallMs, 24);
  assert.is(g.outsideMs, 12.5);
  assert.is(g.customOps, 1);
  assert.not.ok(CUSTOM_OP in g.byKernel);
  assert.equal(g.byKernel.Conv2D, { ms: 8, calls: 2, family: 'conv' });
  assert.equal(g.byKernel['Add (optimizer)'], { ms: 2, calls: 1, family: 'optimizer' });
  assert.is(Object.values(g.families).reduce((a, b) => a + b, 0), g.kernelMs);
});

for (const backend of ['cpu', 'wasm']) {
  test(`every kernel of a tiny-model training step on ${backend} has a family`, async () => {
    await initTf({ prefer: backend, force: true });
    const config = modelConfig('tiny');
    const model = new AuModel(config, 1);
    const S = config.inputSize;
    const A = model.numAus;
    const batch = { size: 2, images: new Float32Array(2 * S * S * 3).map((_, i) => Math.sin(i)), labels: new Float32Array(2 * A).map((_, i) => i % 3 === 0),
      mask: new Float32Array(2 * A).fill(1), landmarks: new Float32Array(2 * 98).map((_, i) => (0.3 + 0.4 * ((i * 7) % 10) / 10) * S),
      interOcular: new Float32Array(2).fill(0.3 * S), hasLandmarks: new Float32Array(2).fill(1) };
    const optimizer = new NesterovSgd({ momentum: 0.9, weightDecay: 5e-4, clipNorm: 5 });
    const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
    const weights = tf.ones([A]);
    const ctx = { model, optimizer, params, weights, lossWeights: PAPER_TRAINING.lossWeights, microBatch: 0 };
    try {
      const prof = await tf.profile(() => batchGradients(ctx, batch));
      const names = [...new Set(prof.kernels.map((k) => k.name))];
      const { grads, parts } = prof.result;
      tf.dispose([...Object.values(grads), ...parts]);
      assert.ok(names.includes('Conv2DBackpropFilter'), 'the profile holds the backward pass');
      assert.equal(names.filter((n) => n !== CUSTOM_OP && kernelFamily(n) === 'other'), [], 'kernels without a family');
    } finally {
      weights.dispose();
      optimizer.dispose();
      model.dispose();
    }
  });
}

test.run();
