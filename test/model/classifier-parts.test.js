/**
 * AuClassifier on the token set in parts (paper §3.5: C = A′ ∪ B, src/model/classifier.ts): the same logits
 * and parameter gradients as on the concatenated tokens, for attention pooling and mean pooling, on the
 * cpu backend with our kernels, to float32 rounding.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { AuClassifier } from '../../dist/model/classifier.js';
import { ParamStore } from '../../dist/model/params.js';
import { registerFastKernels } from '../../dist/tf/index.js';
import { Rng } from '../helpers/random.js';

const test = suite('classifier on token parts');

const rng = new Rng(11);
const tensor = (shape) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-2, 2)), shape);

for (const config of [{ pooling: 'attention', hidden: 8 }, { pooling: 'attention', hidden: 0 }, { pooling: 'mean', hidden: 0 }]) {
  test(`${config.pooling} pooling, hidden ${config.hidden}: parts [40 + 7 tokens] = their concatenation`, async () => {
    await tf.setBackend('cpu');
    registerFastKernels('cpu');
    const store = new ParamStore(3);
    const head = new AuClassifier(store, 'classifier', config, 5, 24);
    const vars = store.trainable();
    const a = tensor([2, 40, 24]);
    const b = tensor([2, 7, 24]);
    const loss = (logits) => tf.sum(tf.mul(logits, tf.linspace(-1, 1, 10).reshape([2, 5])));
    const run = (f) => {
      const { value, grads } = tf.variableGrads(() => loss(f()), vars);
      const out = { value: value.dataSync()[0], grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, g.dataSync().slice()])) };
      tf.dispose([value, Object.values(grads)]);
      return out;
    };
    const whole = run(() => head.apply([tf.concat([a, b], 1)], {}));
    const parts = run(() => head.apply([a, b], {}));
    assert.ok(Math.abs(parts.value - whole.value) <= 1e-5 * (1 + Math.abs(whole.value)), `loss ${parts.value} vs ${whole.value}`);
    for (const [name, g] of Object.entries(whole.grads)) {
      const got = parts.grads[name];
      const scale = 1 + Math.max(...g.map(Math.abs));
      const worst = Math.max(...g.map((v, i) => Math.abs(v - got[i])));
      assert.ok(worst <= 2e-5 * scale, `gradient of ${name}: off by ${worst}`);
    }
    tf.dispose([a, b]);
    vars.forEach((v) => v.dispose());
  });
}

test.run();
