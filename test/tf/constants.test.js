/**
 * Kept scalar constants (src/tf/constants.ts): one tensor per backend and value, made once, outliving the
 * tidy scope that first asked for it, made again if something disposed it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { constantScalar } from '../../dist/tf/constants.js';

const test = suite('kept scalar constants');

test.before(async () => {
  await tf.setBackend('cpu');
});

test('the same tensor for the same value, kept past the tidy that made it; another for another value', () => {
  let first;
  tf.tidy(() => {
    first = constantScalar(0.9);
    assert.equal(Array.from(tf.mul(tf.ones([2]), first).dataSync()), [Math.fround(0.9), Math.fround(0.9)]);
  });
  assert.not.ok(first.isDisposed, 'outlives the tidy');
  assert.is(constantScalar(0.9), first);
  const other = constantScalar(0.1);
  assert.is.not(other, first);
  assert.is(other.dtype, 'float32');
  assert.equal(Array.from(other.dataSync()), [Math.fround(0.1)]);
});

test('a second call makes no tensor', () => {
  constantScalar(0.25);
  const before = tf.memory().numTensors;
  tf.tidy(() => tf.mul(tf.ones([3]), constantScalar(0.25)).dataSync());
  constantScalar(0.25);
  assert.is(tf.memory().numTensors, before);
});

test('made again when something disposed it', () => {
  const c = constantScalar(0.75);
  c.dispose();
  const again = constantScalar(0.75);
  assert.not.ok(again.isDisposed);
  assert.equal(Array.from(again.dataSync()), [0.75]);
});

test.run();
