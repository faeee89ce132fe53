/**
 * The optimizer's fused kernels (SaclSgdStats, SaclSgdUpdate: src/tf/kernels/sgd.ts, native/cpu/sgd.cc) on
 * cpu and wasm: NesterovSgd against a float64 PyTorch update written here over several steps (the first,
 * buf = d; parameters whose first gradient comes later; all-zero gradients skipped; clipping on and off;
 * weight decay 0 and not; sizes spanning several blocks), NaN/∞ gradients refused as before, the fused and
 * composite paths agreeing (bit for bit without clipping, to rounding with it, and over 3 training steps
 * of a tiny model), the same bits for 1 and 2 threads, resuming from the saved state exactly, and the
 * raw addon refusing bad arguments.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { setNumThreads } from '../../dist/index.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { SGD_KERNELS, SaclSgdStats, SaclSgdUpdate } from '../../dist/tf/index.js';
import { NesterovSgd } from '../../dist/train/optimizer.js';
import { PAPER_TRAINING, trainStep } from '../../dist/train/trainer.js';
import { assertBitIdentical, assertClose, assertThrowsWith } from '../helpers/assert.js';
import { loadRawAddon } from '../helpers/backends.js';
import { registerFastKernelsOn } from '../helpers/kernels.js';
import { Rng } from '../helpers/random.js';

const { addon } = loadRawAddon();
const test = suite('optimizer: fused kernels');
const BACKENDS = ['cpu', 'wasm'];

test.before(async () => {
  await registerFastKernelsOn(BACKENDS);
  await tf.setBackend('cpu');
});
const threadsBefore = addon?.info().threads ?? 2;
test.after(() => setNumThreads(threadsBefore));

/** Runs fn() with the optimizer kernels unregistered on the current backend (the composite path), then restores them. */
function composite(fn) {
  const backend = tf.getBackend();
  const saved = SGD_KERNELS.map((name) => tf.getKernel(name, backend));
  for (const name of SGD_KERNELS) tf.unregisterKernel(name, backend);
  try {
    return fn();
  } finally {
    for (const k of saved) tf.registerKernel(k);
  }
}

const randomArray = (rng, n, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());

/**
 * PyTorch's clip_grad_norm_ then SGD(nesterov=True) in float64: grads[s][p] is parameter p's gradient at
 * step s (null: none; all zeros: none either). Returns the weights, buffers and norms after every step.
 */
function reference(init, grads, { momentum, weightDecay, clipNorm }, lr) {
  const w = init.map((a) => Float64Array.from(a));
  const buf = init.map(() => null);
  const norms = [];
  for (const step of grads) {
    let sq = 0;
    for (const g of step) if (g) for (const v of g) sq += v * v;
    const norm = Math.sqrt(sq);
    norms.push(norm);
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    step.forEach((g, p) => {
      if (!g || g.every((v) => v === 0)) return;
      const b = buf[p] ?? new Float64Array(g.length);
      for (let i = 0; i < g.length; i++) {
        const d = g[i] * scale + weightDecay * w[p][i];
        b[i] = buf[p] ? momentum * b[i] + d : d;
        w[p][i] -= lr * (d + momentum * b[i]);
      }
      buf[p] = b;
    });
  }
  return { w, buf, norms };
}

/** Runs NesterovSgd over the same steps on the current backend; returns weights, buffers (by index) and norms. */
function runOptimizer(init, shapes, grads, options, lr) {
  const vars = init.map((a, p) => tf.variable(tf.tensor(a, shapes[p])));
  const params = new Map(vars.map((v, p) => [`p${p}`, v]));
  const opt = new NesterovSgd(options);
  const norms = [];
  for (const step of grads) {
    const g = {};
    step.forEach((a, p) => { if (a) g[vars[p].name] = tf.tensor(a, shapes[p]); });
    norms.push(opt.step(params, g, lr));
    tf.dispose(Object.values(g));
  }
  const state = new Map(opt.state().map(({ name, tensor }) => [name, tensor.dataSync().slice()]));
  const out = { w: vars.map((v) => v.dataSync().slice()), buf: vars.map((_, p) => state.get(`p${p}`) ?? null), norms };
  opt.dispose();
  tf.dispose(vars);
  return out;
}

// 1, 7 and [3, 5]: within one block; 16385 and 40001: over 2 and 3 blocks of 2^14 with odd tails
const SHAPES = [[1], [7], [3, 5], [16385], [40001]];
const sizes = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));

/** Four steps: p3's first gradient comes at step 1 (buf = d while the others have buffers); p1 has none at step 2. */
function problem(seed, scale = 1) {
  const rng = new Rng(seed);
  const init = sizes.map((n) => randomArray(rng, n));
  const grads = [0, 1, 2, 3].map((s) => sizes.map((n, p) => {
    if (s === 0 && p === 3) return new Float32Array(n); // all zeros: no gradient
    if (s === 2 && p === 1) return null;
    return randomArray(rng, n, scale);
  }));
  return { init, grads };
}

const CASES = [
  { momentum: 0.9, weightDecay: 5e-4, clipNorm: 0 },
  { momentum: 0.9, weightDecay: 0, clipNorm: 0 },
  { momentum: 0.9, weightDecay: 0.01, clipNorm: 5 }, // the norm is ~250: clipped every step
  { momentum: 0, weightDecay: 0.01, clipNorm: 1e4 }, // never clipped
];

for (const backend of BACKENDS) {
  test(`${backend}: four steps match PyTorch's update in float64 (first steps, skipped parameters, clipping on/off, weight decay 0/not)`, async () => {
    await tf.setBackend(backend);
    assert.ok(tf.getKernel(SaclSgdUpdate, backend) && tf.getKernel(SaclSgdStats, backend), 'fused kernels registered');
    CASES.forEach((options, c) => {
      const { init, grads } = problem(10 + c);
      const want = reference(init, grads, options, 0.05);
      const got = runOptimizer(init, SHAPES, grads, options, 0.05);
      assertClose(Float64Array.from(got.norms), Float64Array.from(want.norms), { rtol: 1e-6 }, `case ${c}: norms`);
      got.w.forEach((w, p) => assertClose(w, want.w[p], { rtol: 1e-5, atol: 1e-6 }, `case ${c}: w${p}`));
      got.buf.forEach((b, p) => {
        assert.ok(b, `case ${c}: p${p} has a momentum buffer`);
        assertClose(b, want.buf[p], { rtol: 1e-5, atol: 1e-5 }, `case ${c}: buf${p}`);
      });
    });
    await tf.setBackend('cpu');
  });

  test(`${backend}: fused = composite, bit for bit without clipping and to rounding with it`, async () => {
    await tf.setBackend(backend);
    for (const options of CASES) {
      const { init, grads } = problem(20);
      const fused = runOptimizer(init, SHAPES, grads, options, 0.05);
      const stock = composite(() => runOptimizer(init, SHAPES, grads, options, 0.05));
      fused.w.forEach((w, p) => {
        // the norm is summed differently, so the clipping factor may differ in its last bit
        if (options.clipNorm === 5) assertClose(w, stock.w[p], { rtol: 1e-6, atol: 1e-7 }, `w${p}`);
        else if (backend === 'cpu') assertBitIdentical(w, stock.w[p], `w${p}`); // the same float32 ops in the same order
        else assertClose(w, stock.w[p], { rtol: 1e-6, atol: 1e-7 }, `w${p}`);
      });
      // the composite sum is float32 (on wasm ~3e-6 off over 56k squares); the fused one is double
      assertClose(Float64Array.from(fused.norms), Float64Array.from(stock.norms), { rtol: 1e-5 }, 'norms');
    }
    await tf.setBackend('cpu');
  });
}

for (const backend of BACKENDS) {
  test(`${backend}: the norm is summed in double: 2^20 equal gradients give their norm to float32 rounding`, async () => {
    // a float32 running sum loses the increments once it outgrows them (wasm's composite sum is 0.7 % off here)
    await tf.setBackend(backend);
    const n = 1 << 20;
    const v = tf.variable(tf.zeros([n]));
    const g = tf.fill([n], 0.1);
    const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0, clipNorm: 0 });
    const norm = opt.step(new Map([['v', v]]), { [v.name]: g }, 0.1);
    const exact = Math.sqrt(n * Math.fround(0.1) ** 2);
    assert.ok(Math.abs(norm - exact) <= 1e-7 * exact, `norm ${norm} vs ${exact}`);
    opt.dispose();
    tf.dispose([v, g]);
    await tf.setBackend('cpu');
  });
}

for (const backend of BACKENDS) {
  test(`${backend}: SaclSgdStats gives Σ g² over every tensor and each max |g| (NaN where one holds a NaN)`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(60);
    const arrays = [[1], [9], [8], [16384], [16391], [40001]].map(([n]) => randomArray(rng, n, 3));
    arrays[1][8] = -7.5; // the largest magnitude in the tail, negative
    arrays[2].fill(-0);
    arrays.push(Float32Array.from([1, NaN, -2, 5, 1, 1, 1, 1, 1]), Float32Array.from([-Infinity, 2]));
    const run = (list) => tf.tidy(() => {
      const inputs = Object.fromEntries(list.map((a, i) => [`g${i}`, tf.tensor(a)]));
      return tf.engine().runKernel(SaclSgdStats, inputs).dataSync().slice();
    });
    const finite = arrays.slice(0, 6);
    const out = run(finite);
    let sq = 0;
    for (const a of finite) for (const v of a) sq += v * v;
    assert.ok(Math.abs(out[0] - sq) <= 6e-8 * sq, `Σ g² ${out[0]} vs ${sq}`);
    finite.forEach((a, t) => assert.is(out[1 + t], a.reduce((m, v) => Math.max(m, Math.abs(v)), 0), `max |g${t}|`));
    assert.is(Object.is(out[1 + 2], 0), true, 'all −0: max 0');
    const withBad = run(arrays);
    assert.ok(Number.isNaN(withBad[0]), 'a NaN makes the sum NaN');
    assert.equal(Array.from(withBad.slice(1, 7)), Array.from(out.slice(1)), 'the other tensors keep their max');
    assert.ok(Number.isNaN(withBad[7]), 'the NaN tensor has max NaN');
    assert.is(withBad[8], Infinity, 'the ∞ tensor has max ∞');
    await tf.setBackend('cpu');
  });
}

for (const backend of BACKENDS) {
  test(`${backend}: a NaN or ±∞ gradient anywhere is a RangeError naming the learning rate, and nothing changes`, async () => {
    await tf.setBackend(backend);
    const rng = new Rng(5);
    for (const [bad, at] of [[NaN, 40000], [NaN, 3], [Infinity, 16384], [-Infinity, 0], [1e30, 7]]) {
      const a = tf.variable(tf.tensor(randomArray(rng, 40001)));
      const b = tf.variable(tf.tensor(randomArray(rng, 9)));
      const before = [a.dataSync().slice(), b.dataSync().slice()];
      const ga = randomArray(rng, 40001);
      const gb = randomArray(rng, 9);
      (at < 9 ? gb : ga)[at] = bad; // 1e30² overflows float32: the norm is ∞ as on the composite path
      const grads = { [a.name]: tf.tensor(ga), [b.name]: tf.tensor(gb) };
      const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0.01, clipNorm: 5 });
      assertThrowsWith(() => opt.step(new Map([['a', a], ['b', b]]), grads, 0.1), RangeError,
        [/non-finite gradient norm \((NaN|Infinity)\)/, /lower the learning rate \(--lr\)/], `${bad} at ${at}`);
      assertBitIdentical(a.dataSync(), before[0], 'a unchanged');
      assertBitIdentical(b.dataSync(), before[1], 'b unchanged');
      assert.equal(opt.state(), [], 'no momentum buffer');
      tf.dispose([a, b, ...Object.values(grads)]);
    }
    await tf.setBackend('cpu');
  });
}

test('an all-zero gradient (±0) is skipped: no buffer, no change; the update leaks no tensors', () => {
  const a = tf.variable(tf.tensor1d([1, 2, 3]));
  const b = tf.variable(tf.tensor1d([4, 5]));
  const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0.5, clipNorm: 0 });
  const params = new Map([['a', a], ['b', b]]);
  const ga = tf.tensor1d([0.5, -1, 2]);
  const gb = tf.tensor1d([-0, 0]);
  opt.step(params, { [a.name]: ga, [b.name]: gb }, 0.1);
  const count = tf.memory().numTensors;
  opt.step(params, { [a.name]: ga, [b.name]: gb }, 0.1);
  assert.is(tf.memory().numTensors, count, 'no tensors leak per step');
  assert.equal(Array.from(b.dataSync()), [4, 5]);
  assert.equal(opt.state().map((s) => s.name), ['a']);
  opt.dispose();
  tf.dispose([a, b, ga, gb]);
});

test('the same bits for 1 and 2 threads', () => {
  const run = (threads) => {
    setNumThreads(threads);
    const { init, grads } = problem(30);
    return runOptimizer(init, SHAPES, grads, CASES[2], 0.05);
  };
  const one = run(1);
  const two = run(2);
  setNumThreads(threadsBefore);
  assert.equal(two.norms, one.norms, 'norms');
  one.w.forEach((w, p) => assertBitIdentical(two.w[p], w, `w${p}`));
  one.buf.forEach((b, p) => assertBitIdentical(two.buf[p], b, `buf${p}`));
});

test('the norm does not depend on the thread count even where the grouping of its partial sums shows', () => {
  // Σ g² = 2^54 + 2^30 + 4: float32 rounds 2^54 + 2^30 (a tie) down and anything above it up, and a double
  // adding the 1s one by one to 2^54 + 2^30 loses them: a sum grouped by threads would give another norm
  const g = new Float32Array(1 << 15);
  g[0] = 2 ** 27;
  g[8] = 2 ** 15;
  g.fill(1, 8192, 8196);
  const norms = [1, 2].map((threads) => {
    setNumThreads(threads);
    const v = tf.variable(tf.zeros([g.length]));
    const gt = tf.tensor(g);
    const opt = new NesterovSgd({ momentum: 0.9, weightDecay: 0, clipNorm: 1 });
    const norm = opt.step(new Map([['v', v]]), { [v.name]: gt }, 0.1);
    opt.dispose();
    tf.dispose([v, gt]);
    return norm;
  });
  setNumThreads(threadsBefore);
  assert.is(norms[1], norms[0]);
});

test('a run resumed from the saved state (state/loadState) equals an uninterrupted one, bit for bit', () => {
  const { init, grads } = problem(40);
  const options = CASES[0];
  const straight = runOptimizer(init, SHAPES, grads, options, 0.05);
  // two steps, save, a fresh optimizer loads the state and takes the last two
  const vars = init.map((a, p) => tf.variable(tf.tensor(a, SHAPES[p])));
  const params = new Map(vars.map((v, p) => [`p${p}`, v]));
  const stepWith = (opt, step) => {
    const g = {};
    step.forEach((a, p) => { if (a) g[vars[p].name] = tf.tensor(a, SHAPES[p]); });
    opt.step(params, g, 0.05);
    tf.dispose(Object.values(g));
  };
  const first = new NesterovSgd(options);
  grads.slice(0, 2).forEach((s) => stepWith(first, s));
  const saved = first.state().map(({ name, tensor }) => ({ name, tensor: tf.tensor(tensor.dataSync().slice(), tensor.shape) }));
  assert.equal(saved.map((s) => s.name), ['p0', 'p1', 'p2', 'p4', 'p3'], 'buffers by parameter name, in creation order');
  first.dispose();
  const second = new NesterovSgd(options);
  second.loadState(saved);
  tf.dispose(saved.map((s) => s.tensor));
  grads.slice(2).forEach((s) => stepWith(second, s));
  vars.forEach((v, p) => assertBitIdentical(v.dataSync(), straight.w[p], `w${p}`));
  second.dispose();
  tf.dispose(vars);
});

test('3 training steps of a tiny model: the same losses, norms and weights fused as composite (cpu)', () => {
  const config = modelConfig('tiny', { inputSize: 48 });
  const rng = new Rng(50);
  const B = 2;
  const probe = new AuModel(config, 1);
  const numAus = probe.numAus;
  probe.dispose();
  const batch = {
    size: B,
    images: randomArray(rng, B * 48 * 48 * 3),
    labels: Float32Array.from({ length: B * numAus }, () => (rng.next() < 0.5 ? 1 : 0)),
    mask: new Float32Array(B * numAus).fill(1),
    landmarks: Float32Array.from({ length: B * 98 }, () => rng.uniform(10, 38)),
    interOcular: new Float32Array(B).fill(20),
    hasLandmarks: new Float32Array(B).fill(1),
  };
  const run = () => {
    const model = new AuModel(config, 7);
    const params = new Map(model.store.named().filter((p) => p.trainable).map((p) => [p.name, p.tensor]));
    const optimizer = new NesterovSgd({ momentum: 0.9, weightDecay: 5e-4, clipNorm: 1 });
    const ctx = { model, optimizer, params, weights: tf.ones([numAus]), lossWeights: PAPER_TRAINING.lossWeights };
    const records = [0, 1, 2].map(() => trainStep(ctx, batch, 0.05));
    const weights = [...params.values()].map((v) => v.dataSync().slice());
    optimizer.dispose();
    ctx.weights.dispose();
    model.dispose();
    return { records, weights };
  };
  const fused = run();
  const stock = composite(run);
  fused.records.forEach((r, s) => {
    for (const key of ['loss', 'gradNorm']) {
      assert.ok(Math.abs(r[key] - stock.records[s][key]) <= 1e-4 * Math.abs(stock.records[s][key]), `step ${s} ${key}: ${r[key]} vs ${stock.records[s][key]}`);
    }
  });
  fused.weights.forEach((w, p) => assertClose(w, stock.weights[p], { rtol: 1e-4, atol: 1e-6 }, `parameter ${p}`));
});

test('the raw addon refuses bad arguments with the argument named', () => {
  if (!addon) return;
  const f = (n) => new Float32Array(n);
  const update = (over = {}) => {
    const a = Object.assign({ w: [f(3)], g: [f(3)], buf: [null], wOut: [f(3)], bufOut: [f(3)], lr: 0.1, momentum: 0.9, weightDecay: 0, scale: 1 }, over);
    return () => addon.sgdUpdate(a);
  };
  update()();
  assertThrowsWith(update({ g: [f(4)] }), RangeError, [/^Expected 3 \(w\[0\]\.length\) for g\[0\]\.length but received 4$/]);
  assertThrowsWith(update({ buf: [f(2)] }), RangeError, [/for buf\[0\]\.length but received 2/]);
  assertThrowsWith(update({ bufOut: [] }), RangeError, [/^Expected 1 \(w\.length\) for bufOut\.length but received 0$/]);
  assertThrowsWith(update({ wOut: f(3) }), TypeError, [/^Expected an array of Float32Array for wOut but received Float32Array$/]);
  assertThrowsWith(update({ g: [new Float64Array(3)] }), TypeError, [/^Expected a Float32Array for g\[0\] but received Float64Array$/]);
  assertThrowsWith(update({ lr: NaN }), RangeError, [/^Expected a finite number for lr but received NaN$/]);
  assertThrowsWith(update({ scale: '1' }), TypeError, [/^Expected a finite number for scale but received "1"$/]);
  assertThrowsWith(update({ buf: undefined }), TypeError, [/^Expected an array of Float32Array or null for buf but received undefined$/]);
  assertThrowsWith(update({ buf: [undefined] }), TypeError, [/^Expected a Float32Array or null for buf\[0\] but received undefined$/]);
  assertThrowsWith(() => addon.sgdStats({ grads: [f(2), f(3)], out: f(2) }), RangeError, [/^Expected 3 \(1 \+ grads\.length\) for out\.length but received 2$/]);
  assertThrowsWith(() => addon.sgdStats({ grads: [f(2), null], out: f(3) }), TypeError, [/^Expected a Float32Array for grads\[1\] but received null$/]);
  // and the kernel refuses mismatched shapes and dtypes by input name
  const w = tf.zeros([2, 3]);
  const g = tf.zeros([3, 2]);
  const attrs = { count: 1, lr: 0.1, momentum: 0.9, weightDecay: 0, scale: 1 };
  assertThrowsWith(() => tf.engine().runKernel(SaclSgdUpdate, { w0: w, g0: g }, attrs), RangeError, [/^Expected shape \[2,3\] \(w0's\) for SaclSgdUpdate input g0 but received \[3,2\]$/]);
  const gi = tf.zeros([2, 3], 'int32');
  assertThrowsWith(() => tf.engine().runKernel(SaclSgdStats, { g0: gi }), TypeError, [/^Expected float32 for SaclSgdStats input g0 but received int32$/]);
  tf.dispose([w, g, gi]);
});

test.run();
