/**
 * tfjs backend selection (tfjs-node-gpu → tfjs-node → cpu → wasm with the native addon, wasm → cpu without;
 * missing packages are reasons, not errors; the report says why the active one won), and the sacl-au tfjs
 * ops on the wasm backend giving the cpu backend's values and gradients.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { initTf, maxRelative, roiAlign, knnGraph } from '../../dist/tf/index.js';
import { NATIVE_CPU_BEFORE_WASM, candidateOrder } from '../../dist/tf/engine.js';
import { loadNative } from '../../dist/backends/native.js';
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

const nodeTf = () => installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

test('candidateOrder: cpu before wasm exactly when the addon is loaded and the switch is on; a wanted backend first', () => {
  const native = ['tensorflow-gpu', 'tensorflow', 'cpu', 'wasm'];
  const stock = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  const loaded = candidateOrder({ addonError: null, nativeCpuFirst: true });
  assert.equal(loaded.order, native);
  assert.match(loaded.rule, /^the native addon is loaded: on 'cpu' its multi-threaded kernels run the step/);
  const missing = candidateOrder({ addonError: 'disabled by the environment (SACL_NATIVE=0)', nativeCpuFirst: true });
  assert.equal(missing.order, stock);
  assert.is(missing.rule, "the native addon is not loaded (disabled by the environment (SACL_NATIVE=0)): wasm's vectorised kernels beat tfjs-cpu's JavaScript loops");
  const off = candidateOrder({ addonError: null, nativeCpuFirst: false });
  assert.equal(off.order, stock);
  assert.match(off.rule, /NATIVE_CPU_BEFORE_WASM is off/);
  assert.equal(candidateOrder({ addonError: null, nativeCpuFirst: false, wanted: 'cpu' }).order, ['cpu', 'tensorflow-gpu', 'tensorflow', 'wasm']);
  const env = candidateOrder({ addonError: null, nativeCpuFirst: true, wanted: 'wasm', wantedBy: 'SACL_TF_BACKEND=wasm' });
  assert.equal(env.order, ['wasm', 'tensorflow-gpu', 'tensorflow', 'cpu']);
  assert.is(env.rule, 'asked for by SACL_TF_BACKEND=wasm');
  const unknown = candidateOrder({ addonError: null, nativeCpuFirst: true, wanted: 'webgpu', wantedBy: 'SACL_TF_BACKEND=webgpu' });
  assert.equal(unknown.order, native);
  assert.match(unknown.rule, /^SACL_TF_BACKEND=webgpu asks for unknown 'webgpu' \(known: tensorflow-gpu, tensorflow, wasm, cpu\); the native addon is loaded/);
  // the default the library ships with (flip it only with measurements: bench/train-step.js)
  assert.is(NATIVE_CPU_BEFORE_WASM, true);
});

test('the report lists every candidate in order; exactly one is active, it is tf.getBackend(), and the reason says why', async () => {
  const r = await initTf({ force: true });
  const addon = loadNative().addon;
  assert.ok(addon, 'the tests run with the addon built');
  assert.equal(r.candidates.map((c) => c.name), ['tensorflow-gpu', 'tensorflow', 'cpu', 'wasm']);
  assert.is(r.candidates.filter((c) => c.active).length, 1);
  assert.is(r.active, tf.getBackend());
  for (const c of r.candidates) if (!c.active) assert.type(c.reason, 'string');
  if (!installed('@tensorflow/tfjs-node-gpu')) assert.is(r.candidates[0].reason, 'not installed');
  if (!installed('@tensorflow/tfjs-node')) assert.is(r.candidates[1].reason, 'not installed');
  if (!nodeTf()) {
    assert.is(r.active, 'cpu');
    assert.is(r.reason, "the native addon is loaded: on 'cpu' its multi-threaded kernels run the step, with no 4 GB heap cap "
      + "(wasm's heap is 32-bit); unavailable before it: tensorflow-gpu (not installed), tensorflow (not installed)");
    assert.is(r.candidates[3].reason, "not tried: 'cpu' comes first");
  }
  // the stock fixes on both, the GEMM kernels, and on cpu the native element-wise ones (other families may follow)
  const common = ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad'];
  const gemm = ['BatchMatMul', 'Conv2DBackpropInput'];
  if (r.active === 'cpu') {
    assert.equal(r.kernels.slice(0, 3), common);
    for (const k of [...gemm, 'Add', 'Multiply', 'Sigmoid']) assert.ok(r.kernels.includes(k), k);
  }
});

test('SACL_TF_BACKEND picks a backend first and the reason names it', async () => {
  process.env.SACL_TF_BACKEND = 'wasm';
  try {
    const r = await initTf({ force: true });
    assert.is(r.active, 'wasm');
    assert.is(r.reason, 'asked for by SACL_TF_BACKEND=wasm');
    assert.equal(r.kernels, ['Conv2DBackpropFilter', 'SplitV', 'ResizeBilinearGrad', 'UnsortedSegmentSum', 'DepthwiseConv2dNativeBackpropInput',
      'DepthwiseConv2dNativeBackpropFilter', 'BatchMatMul', 'Conv2DBackpropInput', 'SaclLayerNorm', 'SaclLayerNormNoAffine', 'SaclLayerNormGrad',
      'SaclGelu', 'SaclBiasGelu', 'SaclGeluGrad', 'SaclBatchNorm', 'SaclBatchNormGrad',
      'SaclSgdStats', 'SaclSgdUpdate']);
    assert.is((await initTf({ prefer: 'cpu', force: true })).reason, "asked for by prefer: 'cpu'"); // prefer wins over the variable
  } finally {
    delete process.env.SACL_TF_BACKEND;
  }
});

test('without the addon (SACL_NATIVE=0) wasm comes first and the reason says the addon is not loaded', () => {
  if (nodeTf()) return;
  const engine = new URL('../../dist/tf/engine.js', import.meta.url).href;
  const code = `const { initTf } = await import(${JSON.stringify(engine)}); const r = await initTf(); console.log(JSON.stringify(r));`;
  const env = { ...process.env, SACL_NATIVE: '0' };
  delete env.SACL_TF_BACKEND;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env });
  assert.is(child.status, 0, child.stderr);
  const r = JSON.parse(child.stdout.trim().split('\n').pop());
  assert.is(r.active, 'wasm');
  assert.equal(r.candidates.map((c) => c.name), ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
  assert.match(r.reason, /^the native addon is not loaded \(disabled by the environment \(SACL_NATIVE=0\)\): wasm's vectorised kernels/);
  assert.not.ok(r.kernels.includes('BatchMatMul'));
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
