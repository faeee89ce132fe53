/**
 * The movement, resize and pooling kernels that take their output uninitialised (src/tf/kernels/movement.ts,
 * zero = false) write every element: run right after a same-sized NaN-filled output of ours was freed
 * (its memory is then what the allocator hands out), each result equals the stock kernel's to the bit.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { registerFastKernels, withStockKernels } from '../../dist/tf/index.js';
import { Rng } from '../helpers/random.js';

const test = suite('uninitialised kernel outputs are fully written');

test.before(async () => {
  await tf.setBackend('cpu');
  registerFastKernels('cpu');
});

/** Frees a NaN-filled float32 output of ours of n elements (an element-wise kernel's), so the next output of that size likely lands on it. */
function poison(n) {
  const nan = tf.fill([n], NaN);
  tf.dispose(tf.add(nan, nan));
  nan.dispose();
}

const rng = new Rng(3);
const input = (shape, dtype = 'float32') => (dtype === 'int32'
  ? tf.tensor(Int32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(-1000, 1000)), shape, 'int32')
  : tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-2, 2)), shape));

const CASES = [
  ['Transpose', () => [input([3, 5, 7, 2])], ([x]) => tf.transpose(x, [2, 0, 3, 1])],
  ['Slice', () => [input([6, 9, 5])], ([x]) => tf.slice(x, [1, 2, 1], [4, 5, 3])],
  ['Concat', () => [input([4, 3, 5]), input([4, 6, 5])], ([a, b]) => tf.concat([a, b], 1)],
  ['Pack', () => [input([5, 7]), input([5, 7])], ([a, b]) => tf.stack([a, b], 1)],
  ['Unpack', () => [input([5, 3, 7])], ([x]) => tf.unstack(x, 1)],
  ['Tile', () => [input([3, 4, 2])], ([x]) => tf.tile(x, [2, 1, 3])],
  ['SplitV', () => [input([4, 11, 3])], ([x]) => tf.split(x, [3, 8], 1)],
  ['GatherV2', () => [input([9, 6]), tf.tensor1d([8, 0, 3, 3, 5], 'int32')], ([x, i]) => tf.gather(x, i, 0)],
  ['ResizeBilinear', () => [input([2, 5, 7, 3])], ([x]) => tf.image.resizeBilinear(x, [9, 4])],
  ['MaxPool', () => [input([2, 9, 8, 3])], ([x]) => tf.maxPool(x, 3, 2, 'same')],
  ['AvgPool', () => [input([2, 9, 8, 3])], ([x]) => tf.avgPool(x, [2, 3], [2, 1], 'valid')],
  ['Transpose int32', () => [input([4, 6, 5], 'int32')], ([x]) => tf.transpose(x, [1, 2, 0])],
];

for (const [name, make, run] of CASES) {
  test(name, () => {
    const args = make();
    const outputs = [run(args)].flat();
    const sizes = outputs.map((t) => t.size);
    tf.dispose(outputs);
    const ours = [];
    for (const n of sizes) poison(n);
    for (const t of [run(args)].flat()) {
      ours.push(t.dataSync().slice());
      t.dispose();
    }
    const stock = withStockKernels('cpu', () => [run(args)].flat().map((t) => {
      const v = t.dataSync().slice();
      t.dispose();
      return v;
    }));
    assert.is(ours.length, stock.length);
    ours.forEach((v, i) => assert.equal(new Uint32Array(v.buffer), new Uint32Array(stock[i].buffer), `${name} output ${i}`));
    tf.dispose(args);
  });
}

test.run();
