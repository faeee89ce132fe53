/**
 * tfjs backend selection (tfjs-node-gpu → tfjs-node → wasm → cpu; missing packages are reasons, not
 * errors), and the sacl-au tfjs ops on the wasm backend giving the cpu backend's values and gradients.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { initTf, maxRelative, roiAlign, knnGraph } from '../../dist/tf/index.js';
import { assertClose } from '../helpers/assert.js';
import { Rng, distinctFloat32, randomFloat32 } from '../helpers/random.js';

const test = suite('tfjs backend selection');
test.after(async () => { await tf.setBackend('cpu'); }); // leave the process as the other suites expect
const installed = (name) => {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
};

test('the report lists every candidate in order; exactly one is active and it is tf.getBackend()', async () => {
  const r = await initTf({ force: true });
  assert.equal(r.candidates.map((c) => c.name), ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
  assert.is(r.candidates.filter((c) => c.active).length, 1);
  assert.is(r.active, tf.getBackend());
  for (const c of r.candidates) if (!c.active) assert.type(c.reason, 'string');
  if (!installed('@tensorflow/tfjs-node-gpu')) assert.is(r.candidates[0].reason, 'not installed');
  if (!installed('@tensorflow/tfjs-node')) assert.is(r.candidates[1].reason, 'not installed');
  if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) assert.is(r.active, 'wasm');
  const native = ['BatchMatMul', 'Conv2DBackpropInput']; // on the addon's GEMM (always built in the tests)
  if (r.active === 'cpu') assert.equal(r.kernels, ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad', ...native]);
  if (r.active === 'wasm') {
    assert.equal(r.kernels, ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad', 'UnsortedSegmentSum', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', ...native]);
  }
});

test('prefer picks a backend first; later calls return the same report unless forced', async () => {
  const cpu = await initTf({ prefer: 'cpu', force: true });
  assert.is(cpu.active, 'cpu');
  assert.is(cpu.candidates[0].name, 'cpu');
  assert.is(await initTf(), cpu);
  const wasm = await initTf({ prefer: 'wasm', force: true });
  assert.is(wasm.active, 'wasm');
});

test('the tfjs ops give the same values and gradients on wasm as on cpu', async () => {
  const rng = new Rng(8);
  const xData = distinctFloat32(rng, [2, 7, 5]);
  const fData = randomFloat32(rng, [1, 6, 6, 3]);
  const run = () => tf.tidy(() => {
    const x = tf.tensor3d(xData.data, xData.shape);
    const idx = knnGraph(x, 3);
    const f = tf.tensor4d(fData.data, fData.shape);
    const c = tf.tensor3d([1.5, 2.2, 4.1, 3.3], [1, 2, 2]);
    const gx = tf.grad((a) => tf.sum(tf.square(maxRelative(a, idx))))(x);
    const gf = tf.grad((a) => tf.sum(tf.square(roiAlign(a, c, 3))))(f);
    return [idx, gx, gf].map((t) => ({ shape: t.shape, data: t.dataSync().slice() }));
  });
  await initTf({ prefer: 'cpu', force: true });
  const onCpu = run();
  await initTf({ prefer: 'wasm', force: true });
  const onWasm = run();
  onCpu.forEach((want, i) => assertClose(onWasm[i], want, { rtol: 1e-6, atol: 1e-7 }, `output ${i}`));
});

test.run();
