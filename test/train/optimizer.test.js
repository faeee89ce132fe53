/**
 * Nesterov SGD with weight decay (torch.optim.SGD semantics), worked out by hand; a parameter whose
 * gradient is all zeros in a step (its loss term masked out) gets no weight decay and no momentum step.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { NesterovSgd } from '../../dist/train/optimizer.js';

const test = suite('optimizer');
test.before(async () => { await tf.setBackend('cpu'); });

const close = (actual, expected, msg) => assert.ok(actual.every((v, i) => Math.abs(v - expected[i]) < 1e-6), `${msg}: ${Array.from(actual)} vs ${expected}`);

test('two steps by hand: d = g + wd·w, buf = μ·buf + d, w −= lr·(d + μ·buf)', () => {
  const w = tf.variable(tf.tensor1d([1, 2]));
  const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0.1, clipNorm: 0 });
  const params = new Map([['w', w]]);
  const g = tf.tensor1d([0.5, -1]);
  opt.step(params, { [w.name]: g }, 0.1);
  close(w.dataSync(), [0.886, 2.152], 'step 1'); // d = (0.6, −0.8), w −= 0.1 · 1.9 d
  opt.step(params, { [w.name]: g }, 0.1);
  close(w.dataSync(), [0.725566, 2.365912], 'step 2'); // d = (0.5886, −0.7848), buf = 0.9 (0.6, −0.8) + d
  opt.dispose();
  tf.dispose([w, g]);
});

test('an all-zero gradient is no gradient: no weight decay, no momentum, no change', () => {
  const a = tf.variable(tf.tensor1d([1, 2]));
  const b = tf.variable(tf.tensor1d([3, -4]));
  const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0.5, clipNorm: 5 });
  const params = new Map([['a', a], ['b', b]]);
  const ga = tf.tensor1d([0.5, -1]);
  const zero = tf.zeros([2]);
  // b never gets a gradient: untouched, no momentum buffer saved for it
  const norm = opt.step(params, { [a.name]: ga, [b.name]: zero }, 0.1);
  assert.ok(Math.abs(norm - Math.hypot(0.5, 1)) < 1e-6, `gradient norm ${norm}`);
  assert.equal(Array.from(b.dataSync()), [3, -4]);
  assert.equal(opt.state().map((s) => s.name), ['a']);
  // a had a gradient (and a momentum buffer); a step without one leaves it where it is
  const afterFirst = Array.from(a.dataSync());
  assert.not.equal(afterFirst, [1, 2]);
  opt.step(params, { [a.name]: zero, [b.name]: zero }, 0.1);
  assert.equal(Array.from(a.dataSync()), afterFirst);
  assert.equal(Array.from(b.dataSync()), [3, -4]);
  // a tiny but non-zero gradient still counts: weight decay applies
  const tiny = tf.tensor1d([1e-30, 0]);
  opt.step(params, { [a.name]: zero, [b.name]: tiny }, 0.1);
  assert.ok(b.dataSync()[1] > -4, 'b decayed once it had a gradient');
  opt.dispose();
  tf.dispose([a, b, ga, zero, tiny]);
});

test.run();
