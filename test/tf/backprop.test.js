/**
 * variableGradsReleasing (src/tf/backprop.ts): the same value and the same gradient bits as tf.variableGrads,
 * on small graphs through every shape-only gradient and on a whole tiny-model loss, on cpu and wasm; a flat
 * peak of live tensor bytes along a chain; nothing left allocated; tf.variableGrads inside another tape.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { variableGradsReleasing } from '../../dist/tf/backprop.js';
import { registerFastKernels } from '../../dist/tf/index.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { PAPER_LOSS_WEIGHTS, trainingLoss } from '../../dist/train/losses.js';
import { batchTensors } from '../../dist/data/loader.js';
import { Rng } from '../helpers/random.js';

const test = suite('variableGradsReleasing');
test.after(async () => { await tf.setBackend('cpu'); });

/** Both gradient routes on f over vars: values and gradients as plain arrays, nothing left allocated. */
function bothRoutes(f, vars) {
  // one untimed forward first: the constants the model keeps (src/tf/constants.ts) are made once, here
  tf.tidy(() => { f(); });
  const run = (route) => {
    const before = tf.memory().numTensors;
    const { value, grads } = route(f, vars);
    const out = { value: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])) };
    tf.dispose([value, Object.values(grads)]);
    assert.is(tf.memory().numTensors, before, 'tensors left allocated');
    return out;
  };
  return { stock: run((g, v) => tf.variableGrads(g, v)), releasing: run(variableGradsReleasing) };
}

function assertSameBits(stock, releasing) {
  assert.is(releasing.value, stock.value, 'value');
  assert.equal(Object.keys(releasing.grads).sort(), Object.keys(stock.grads).sort(), 'variables with a gradient');
  for (const [name, g] of Object.entries(stock.grads)) {
    assert.equal(new Uint32Array(releasing.grads[name].buffer), new Uint32Array(g.buffer), `gradient of ${name}`);
  }
}

const rng = new Rng(5);
const variable = (shape, name) => tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-1, 1)), shape), true, name);

for (const backendName of ['cpu', 'wasm']) {
  test(`${backendName}: shape-only gradients (broadcast add/sub, reshape, slice, concat, sum, mean, pad), a shared input, an unused variable`, async () => {
    assert.ok(await tf.setBackend(backendName));
    registerFastKernels(backendName);
    const a = variable([3, 4], `a-${backendName}`), b = variable([4], `b-${backendName}`), c = variable([1, 4], `c-${backendName}`);
    const unused = variable([2], `unused-${backendName}`);
    const f = () => {
      const s = tf.add(a, b); // broadcast: b's gradient sums over rows
      const d = tf.sub(tf.mul(s, s), c);
      const cat = tf.concat([d, tf.slice(s, [1, 0], [2, 4]), tf.reshape(a, [3, 4])], 0);
      const padded = tf.pad(tf.reshape(cat, [8, 4]), [[1, 0], [0, 2]], 0.5);
      return tf.add(tf.sum(tf.mul(padded, padded)), tf.mean(tf.tanh(cat)));
    };
    const { stock, releasing } = bothRoutes(f, [a, b, c, unused]);
    assert.not.ok(`unused-${backendName}` in stock.grads);
    assertSameBits(stock, releasing);
    tf.dispose([a, b, c, unused]);
  });

  test(`${backendName}: a tiny-model training loss: the same loss and gradient bits as tf.variableGrads`, async () => {
    assert.ok(await tf.setBackend(backendName));
    registerFastKernels(backendName);
    const config = modelConfig('tiny', { inputSize: 48 });
    const model = new AuModel(config, 3);
    const A = model.numAus, S = config.inputSize, B = 2, r = new Rng(9);
    const fill = (n, g) => Float32Array.from({ length: n }, g);
    const batch = {
      size: B, images: fill(B * S * S * 3, () => r.uniform(-1, 1)), labels: fill(B * A, () => (r.next() < 0.3 ? 1 : 0)), mask: fill(B * A, () => 1),
      landmarks: fill(B * 98, () => (0.3 + 0.4 * r.next()) * S), interOcular: fill(B, () => 0.3 * S), hasLandmarks: fill(B, () => 1),
    };
    const { images, ...targets } = batchTensors(batch, S, 0, B);
    const weights = tf.ones([A]);
    const vars = model.store.named().filter((p) => p.trainable).map((p) => p.tensor);
    const f = () => trainingLoss(model.apply(images, { training: true }), targets, weights, PAPER_LOSS_WEIGHTS).total;
    const { stock, releasing } = bothRoutes(f, vars);
    assert.ok(Object.keys(stock.grads).length > 50);
    assertSameBits(stock, releasing);
    tf.dispose([images, Object.values(targets), weights]);
    model.dispose?.();
  });
}

/** Peak bytes of live tensors while route(f, vars) runs, beyond what was allocated before it. */
async function peakBytes(route, f, vars) {
  let out;
  const base = tf.memory().numBytes; // peakBytes counts what earlier tests left allocated too
  const info = await tf.profile(() => { out = route(f, vars); });
  tf.dispose([out.value, Object.values(out.grads)]);
  return info.peakBytes - base;
}

test("activation gradients are released as the walk passes them: a chain's peak stays flat", async () => {
  await tf.setBackend('cpu');
  const w = variable([4096], 'chain-w');
  // Neg saves nothing and each link is disposed once used, so the forward holds two links at a time; the
  // stock walk then keeps all 32 links' gradients until it ends, this one at most a few
  const f = () => {
    let x = tf.mul(w, 2);
    for (let i = 0; i < 32; i++) {
      const next = tf.neg(x);
      x.dispose();
      x = next;
    }
    return tf.sum(x);
  };
  const stock = await peakBytes((g, v) => tf.variableGrads(g, v), f, [w]);
  const releasing = await peakBytes(variableGradsReleasing, f, [w]);
  assert.ok(releasing < 0.3 * stock, `peak ${releasing} B, tf.variableGrads ${stock} B`);
  w.dispose();
});

test('zeros for outputs no gradient reaches (the unused part of each split) are released as the walk passes them', async () => {
  await tf.setBackend('cpu');
  const w = variable([8192], 'split-w');
  // per link: split off 64 of 8192 values, negate them (Neg saves nothing, so the split's input can go),
  // tile them back up (Tile keeps only its 64 inputs); the backward hands each split 32 kB of zeros for
  // the part it dropped: kept to the end of the walk, the 32 links' zeros were 1 MB
  const f = () => {
    let x = tf.mul(w, 2);
    for (let i = 0; i < 32; i++) {
      const [used, unused] = tf.split(x, [64, 8128]);
      const small = tf.neg(used);
      tf.dispose([x, used, unused]);
      x = tf.tile(small, [128]);
      small.dispose();
    }
    return tf.sum(x);
  };
  const peak = await peakBytes(variableGradsReleasing, f, [w]);
  assert.ok(peak < 8 * 32768, `peak ${peak} B`);
  w.dispose();
});

test('inside another tape it is tf.variableGrads (the outer gradient still sees the inner ops)', async () => {
  await tf.setBackend('cpu');
  const v = variable([3], 'nested-v');
  const outer = tf.grad((x) => {
    const { value, grads } = variableGradsReleasing(() => tf.sum(tf.mul(v, v)), [v]);
    tf.dispose(Object.values(grads));
    return tf.mul(x, value);
  });
  const expected = tf.sum(tf.mul(v, v)).dataSync()[0];
  assert.is(outer(tf.scalar(2)).dataSync()[0], expected);
  v.dispose();
});

test('errors: a non-scalar result, no trainable variable, no connected variable', async () => {
  await tf.setBackend('cpu');
  const v = variable([2], 'err-v');
  const frozen = tf.variable(tf.zeros([2]), false, 'err-frozen');
  assert.throws(() => variableGradsReleasing(() => tf.mul(v, 2), [v]), /scalar.*rank-1/);
  assert.throws(() => variableGradsReleasing(() => tf.sum(frozen), [frozen]), /trainable/);
  assert.throws(() => variableGradsReleasing(() => tf.sum(tf.ones([2])), [v]), /no variable is connected/);
  tf.dispose([v, frozen]);
});

test.run();
