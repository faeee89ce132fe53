/**
 * The graph ops as tfjs kernels (src/tf/kernel-names.ts, kernels/graph-ops.ts, gradients.ts), on cpu and
 * wasm: forward values and gradients bit-identical to the former tf.customGrad + dataSync path (written
 * out below as `legacy`) on edge shapes and on a composite that uses the ops as the model does; no
 * dataSync (nor, on wasm, a backend read-back) during a training step, whose profile lists the Sacl*
 * kernels; the backward kernels alone against the public ops; the read-back kernel (other backends)
 * equal to the in-place one; the reference op backend through the kernels; bad indices and centres still
 * refused by the addon; no tensor leaked.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as lib from '../../dist/index.js';
import { knnGraph, maxRelative, registerFastKernels, roiAlign } from '../../dist/tf/index.js';
import {
  SaclKnnGraph, SaclMaxRelative, SaclMaxRelativeGrad, SaclRoiAlign, SaclRoiAlignGrad, GRAPH_KERNELS,
} from '../../dist/tf/kernel-names.js';
import { readBackGraphKernel } from '../../dist/tf/kernels/graph-ops.js';
import { assertBitIdentical, assertClose, assertEqualValues, assertThrowsWith } from '../helpers/assert.js';
import { withKernel } from '../helpers/kernels.js';
import { Rng, distinctFloat32, randomFloat32 } from '../helpers/random.js';

const test = suite('graph ops as tfjs kernels');
test.after(async () => { await tf.setBackend('cpu'); }); // leave the process as the other suites expect

// ---- the former sacl-au/tf path: public ops on dataSync copies, gradients by tf.customGrad ----
const f32 = (t) => ({ shape: t.shape, data: t.dataSync() });
const up = (t, dtype) => tf.tensor(t.data, t.shape.slice(), dtype);
const legacy = {
  knnGraph: (x, k, o = {}) => up(lib.knnGraph(f32(x), k, { ...o, ...(o.candidates && { candidates: f32(o.candidates) }) }), 'int32'),
  maxRelative(x, idx, y) {
    const graph = f32(idx);
    if (y === undefined) {
      return tf.customGrad((xt, save) => {
        const r = lib.maxRelative(f32(xt), graph);
        save([up(r.argmax, 'int32')]);
        return { value: up(r.out, 'float32'), gradFunc: (dy, [am]) => up(lib.maxRelativeGrad(f32(dy), graph, f32(am)), 'float32') };
      })(x);
    }
    return tf.customGrad((xt, yt, save) => {
      const candidates = f32(yt);
      const r = lib.maxRelative(f32(xt), graph, { candidates });
      save([up(r.argmax, 'int32')]);
      return {
        value: up(r.out, 'float32'),
        gradFunc: (dy, [am]) => {
          const g = lib.maxRelativeGrad(f32(dy), graph, f32(am), { candidates });
          return [up(g.dx, 'float32'), up(g.dy, 'float32')];
        },
      };
    })(x, y);
  },
  roiAlign: (features, centers, size, o = {}) => tf.customGrad((ft, ct) => {
    const c = f32(ct);
    return {
      value: up(lib.roiAlign(f32(ft), c, size, o), 'float32'),
      gradFunc: (dy) => [up(lib.roiAlignGrad(f32(dy), c, ft.shape, o), 'float32'), tf.zerosLike(ct)],
    };
  })(features, centers),
};
const kernels = { knnGraph, maxRelative, roiAlign };

const t3 = (t) => tf.tensor3d(t.data, t.shape);
const bits = (t) => ({ shape: t.shape, data: t.dataSync().slice() });

/**
 * A step shaped like the model's: ROI crops from features, centres computed from a variable (so the
 * centres' zero gradient joins a real one), a KNN graph rebuilt from the nodes, Max-Relative over it
 * (self) and over other rows (bipartite), and the nodes used again beside the aggregation.
 * Returns the loss and every gradient.
 */
function compositeTensors(ops, data) {
  return tf.tidy(() => {
    const { features, centreBase, extra, w, k, size, step } = data;
    const f = tf.tensor4d(features.data, features.shape);
    const { value, grads } = tf.valueAndGrads((fv, cv, yv) => {
      const centres = tf.add(tf.mul(cv, 1.5), 0.25);
      const crops = ops.roiAlign(fv, centres, size, { step });
      const [B, R, S, , C] = crops.shape;
      const nodes = tf.reshape(crops, [B, R, S * S * C]);
      const idx = ops.knnGraph(nodes, k);
      const mixed = tf.concat([nodes, ops.maxRelative(nodes, idx)], 2);
      const cross = ops.maxRelative(nodes, ops.knnGraph(nodes, k, { candidates: yv }), yv);
      const loss = tf.add(tf.sum(tf.mul(t3(w), tf.tanh(mixed))), tf.sum(tf.square(cross)));
      return tf.add(loss, tf.sum(tf.square(cv)));
    })([f, t3(centreBase), t3(extra)]);
    return [value, ...grads];
  });
}

function compositeStep(ops, data) {
  const out = compositeTensors(ops, data);
  const values = out.map(bits);
  tf.dispose(out);
  return values;
}

function compositeData(rng, B, H, W, C, R, size, M) {
  const D = size * size * C;
  return {
    features: distinctFloat32(rng, [B, H, W, C], 0.003),
    centreBase: randomFloat32(rng, [B, R, 2], 0, Math.min(H, W) / 1.5 - 0.5),
    extra: distinctFloat32(rng, [B, M, D], 0.002),
    w: randomFloat32(rng, [B, R, 2 * D]),
    k: Math.min(3, R),
    size,
    step: 1.25,
  };
}

async function onBackends(fn) {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    fn(backend);
  }
}

test('forward and gradients equal the former customGrad path bit for bit (edge shapes, cpu and wasm)', async () => {
  const rng = new Rng(1);
  // [B, N, C, K, M]: size-1 axes, odd sizes, ties (integer-valued data), many rows (several thread chunks)
  const cases = [[1, 1, 1, 1, 1], [1, 2, 1, 2, 3], [2, 7, 5, 3, 4], [3, 37, 67, 5, 11], [16, 18, 64, 9, 18]];
  await onBackends((backend) => {
    for (const [B, N, C, K, M] of cases) {
      const tied = C === 5;
      const xd = tied ? randomIntValued(rng, [B, N, C]) : randomFloat32(rng, [B, N, C]);
      const yd = tied ? randomIntValued(rng, [B, M, C]) : randomFloat32(rng, [B, M, C]);
      const w = randomFloat32(rng, [B, N, C]);
      const label = `${backend} ${[B, N, C, K, M]}`;
      tf.tidy(() => {
        const x = t3(xd);
        const y = t3(yd);
        const idx = knnGraph(x, Math.min(K, N));
        assertEqualValues(bits(idx), bits(legacy.knnGraph(x, Math.min(K, N))), `${label} knnGraph`);
        const idxY = knnGraph(x, Math.min(K, M), { candidates: y, metric: 'cosine' });
        assertEqualValues(bits(idxY), bits(legacy.knnGraph(x, Math.min(K, M), { candidates: y, metric: 'cosine' })), `${label} knnGraph bipartite`);
        const selfLoss = (ops) => (a) => tf.sum(tf.mul(t3(w), ops.maxRelative(a, idx)));
        assertBitIdentical(bits(maxRelative(x, idx)), bits(legacy.maxRelative(x, idx)), `${label} maxRelative`);
        assertBitIdentical(bits(tf.grad(selfLoss(kernels))(x)), bits(tf.grad(selfLoss(legacy))(x)), `${label} maxRelative dx`);
        const pairLoss = (ops) => (a, b) => tf.sum(tf.mul(t3(w), ops.maxRelative(a, idxY, b)));
        const [kx, ky] = tf.grads(pairLoss(kernels))([x, y]);
        const [lx, ly] = tf.grads(pairLoss(legacy))([x, y]);
        assertBitIdentical(bits(kx), bits(lx), `${label} bipartite dx`);
        assertBitIdentical(bits(ky), bits(ly), `${label} bipartite dy`);
      });
    }
    // roiAlign: one pixel, one ROI, crops past every border, a large batch
    for (const [B, H, W, C, R, S, step] of [[1, 1, 1, 1, 1, 1, 1], [2, 5, 7, 3, 4, 3, 1.5], [3, 9, 8, 17, 5, 4, 0.75], [16, 28, 28, 8, 18, 8, 1]]) {
      const label = `${backend} roi ${[B, H, W, C, R, S, step]}`;
      const fd = randomFloat32(rng, [B, H, W, C]);
      const cd = randomFloat32(rng, [B, R, 2], -2, Math.max(H, W) + 1);
      const wd = randomFloat32(rng, [B, R, S, S, C]);
      tf.tidy(() => {
        const f = tf.tensor4d(fd.data, fd.shape);
        const c = t3(cd);
        assertBitIdentical(bits(roiAlign(f, c, S, { step })), bits(legacy.roiAlign(f, c, S, { step })), label);
        const loss = (ops) => (a, b) => tf.sum(tf.mul(tf.tensor(wd.data, wd.shape), ops.roiAlign(a, b, S, { step })));
        const [kf, kc] = tf.grads(loss(kernels))([f, c]);
        const [lf, lc] = tf.grads(loss(legacy))([f, c]);
        assertBitIdentical(bits(kf), bits(lf), `${label} dFeatures`);
        assertBitIdentical(bits(kc), bits(lc), `${label} dCentres`);
      });
    }
  });
});

/** Integer-valued float32 in [0, 4): many ties for max and argmax. */
function randomIntValued(rng, shape) {
  const t = randomFloat32(rng, shape, 0, 4);
  t.data.forEach((v, i) => { t.data[i] = Math.floor(v); });
  return t;
}

test('a model-shaped step: loss and every gradient bit-identical to the former path (cpu and wasm)', async () => {
  const rng = new Rng(2);
  const data = [compositeData(rng, 2, 10, 9, 3, 5, 3, 4), compositeData(rng, 4, 14, 14, 8, 12, 4, 7)];
  await onBackends((backend) => {
    for (const d of data) {
      const got = compositeStep(kernels, d);
      const want = compositeStep(legacy, d);
      got.forEach((g, i) => assertBitIdentical(g, want[i], `${backend} ${d.features.shape} output ${i}`));
    }
  });
});

test('a training step calls no dataSync (nor, on wasm, readSync), and its profile lists every Sacl kernel', async () => {
  const rng = new Rng(3);
  const d = compositeData(rng, 2, 10, 9, 3, 5, 3, 4);
  await onBackends((backend) => {
    registerFastKernels(backend); // as initTf does (wasm's stock SplitV, the concat gradient, reads back)
    compositeStep(kernels, d); // warm (backend set-up may read)
    const b = tf.backend();
    const counts = { dataSync: 0, readSync: 0 };
    const { dataSync } = tf.Tensor.prototype;
    const readSync = b.readSync;
    tf.Tensor.prototype.dataSync = function spy() { counts.dataSync++; return dataSync.call(this); };
    b.readSync = function spy(...args) { counts.readSync++; return readSync.apply(this, args); };
    let out;
    try {
      out = compositeTensors(kernels, d);
    } finally {
      tf.Tensor.prototype.dataSync = dataSync;
      b.readSync = readSync;
    }
    tf.dispose(out);
    assert.is(counts.dataSync, 0, `${backend}: dataSync calls`);
    // the cpu backend's readSync is its zero-copy array getter (host.ts); wasm's copies
    if (backend === 'wasm') assert.is(counts.readSync, 0, 'wasm: readSync calls');
    else assert.ok(counts.readSync > 0, 'cpu: the spy sees the kernels read in place');
  });
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const p = await tf.profile(() => tf.dispose(compositeTensors(kernels, d)));
    for (const name of GRAPH_KERNELS) assert.ok(p.kernelNames.includes(name), `${backend}: ${name} in ${p.kernelNames}`);
  }
});

test('the backward kernels alone equal the public ops (self and bipartite maxRelativeGrad, roiAlignGrad)', async () => {
  const rng = new Rng(4);
  const [B, N, C, K, M] = [3, 11, 19, 4, 7];
  const dOut = randomFloat32(rng, [B, N, C]);
  const x = randomFloat32(rng, [B, N, C]);
  const y = randomFloat32(rng, [B, M, C]);
  const idx = lib.knnGraph(x, K);
  const idxY = lib.knnGraph(x, K, { candidates: y });
  const r = lib.maxRelative(x, idx);
  const rY = lib.maxRelative(x, idxY, { candidates: y });
  const fShape = [2, 6, 5, 3];
  const c = randomFloat32(rng, [2, 4, 2], -1, 6);
  const g = randomFloat32(rng, [2, 4, 3, 3, 3]);
  await onBackends((backend) => {
    tf.tidy(() => {
      const run = (name, inputs, attrs) => [tf.engine().runKernel(name, inputs, attrs)].flat();
      const [dx] = run(SaclMaxRelativeGrad, { dy: t3(dOut), idx: t3(idx), argmax: t3(r.argmax) }, { candidateRows: 0, backend: '' });
      assertBitIdentical(bits(dx), lib.maxRelativeGrad(dOut, idx, r.argmax), `${backend} self`);
      const [dx2, dy2] = run(SaclMaxRelativeGrad, { dy: t3(dOut), idx: t3(idxY), argmax: t3(rY.argmax) }, { candidateRows: M, backend: '' });
      const want = lib.maxRelativeGrad(dOut, idxY, rY.argmax, { candidates: y });
      assertBitIdentical(bits(dx2), want.dx, `${backend} bipartite dx`);
      assertBitIdentical(bits(dy2), want.dy, `${backend} bipartite dy`);
      const [dF] = run(SaclRoiAlignGrad, { dy: tf.tensor(g.data, g.shape), centers: t3(c) }, { featureShape: fShape, step: 1.25, backend: '' });
      assertBitIdentical(bits(dF), lib.roiAlignGrad(g, c, fShape, { step: 1.25 }), `${backend} roiAlignGrad`);
    });
  });
});

test('the read-back kernels (for other tfjs backends) equal the in-place ones', async () => {
  const rng = new Rng(5);
  const d = compositeData(rng, 3, 11, 10, 4, 6, 3, 5);
  await onBackends((backend) => {
    const want = compositeStep(kernels, d);
    const swap = (i) => (i === GRAPH_KERNELS.length
      ? compositeStep(kernels, d)
      : withKernel({ kernelName: GRAPH_KERNELS[i], backendName: backend, kernelFunc: readBackGraphKernel(GRAPH_KERNELS[i]) }, () => swap(i + 1)));
    const got = swap(0);
    got.forEach((g, i) => assertBitIdentical(g, want[i], `${backend} read-back output ${i}`));
  });
});

test('the reference op backend through the kernels (options.backend) agrees with the native one', async () => {
  const rng = new Rng(6);
  await onBackends((backend) => {
    tf.tidy(() => {
      const x = t3(distinctFloat32(rng, [2, 9, 6]));
      const y = t3(distinctFloat32(rng, [2, 5, 6]));
      const idx = knnGraph(x, 3, { backend: 'reference' });
      assertEqualValues(bits(idx), bits(knnGraph(x, 3)), `${backend} knnGraph`);
      const idxY = knnGraph(x, 2, { candidates: y, backend: 'reference' });
      const w = t3(randomFloat32(rng, [2, 9, 6]));
      const loss = (be) => (a, b) => tf.sum(tf.mul(w, maxRelative(a, idxY, b, be)));
      tf.grads(loss('reference'))([x, y]).forEach((g, i) => assertClose(bits(g), bits(tf.grads(loss())([x, y])[i]), { rtol: 0, atol: 0 }, `${backend} grad ${i}`));
      const f = tf.tensor4d(randomFloat32(rng, [1, 6, 6, 2]).data, [1, 6, 6, 2]);
      const c = tf.tensor3d([1.5, 2.2, 4.1, 3.3], [1, 2, 2]);
      const roiLoss = (be) => (a) => tf.sum(tf.square(roiAlign(a, c, 3, { backend: be })));
      assertClose(bits(tf.grad(roiLoss('reference'))(f)), bits(tf.grad(roiLoss(undefined))(f)), { rtol: 1e-6, atol: 1e-7 }, `${backend} roi`);
    });
  });
});

test('bad values are still refused where they are read: indices (addon and reference), centres, NaN rows', async () => {
  await onBackends((backend) => {
    tf.tidy(() => {
      const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 3, 2]);
      const idx = tf.tensor3d([0, 1, 2, 3, 0, 0], [1, 3, 2], 'int32');
      for (const be of [undefined, 'reference']) {
        assertThrowsWith(() => maxRelative(x, idx, undefined, be), RangeError, [/^Expected an index in \[0, 3\) \(M, the number of neighbour rows\) for idx\[0, 1, 1\] but received 3$/], `${backend} ${be}`);
      }
      const f = tf.zeros([1, 4, 4, 1]);
      const c = tf.tensor3d([1, NaN], [1, 1, 2]);
      assertThrowsWith(() => roiAlign(f, c, 2), RangeError, [/^Expected a finite number for centers\[0, 0, 1\] but received NaN$/], backend);
      const nan = tf.tensor3d([1, 2, NaN, 4], [1, 2, 2]);
      assertThrowsWith(() => knnGraph(nan, 1), RangeError, [/for x\[0, 1, 0\] but received NaN$/], backend);
      assertThrowsWith(() => maxRelative(x, tf.tensor3d([0, 1], [1, 2, 1], 'int32')), RangeError, [/^Expected 3 \(x\.shape\[1\]\) for idx\.shape\[1\] \(N\)/], backend);
      assertThrowsWith(() => knnGraph(x, 2, { dilation: 2 }), RangeError, [/^Expected k·dilation ≤ M = 3 for k/], backend);
    });
  });
});

test('knnGraph on a backend without reference counts (incRef throws) returns a copy, still off the tape', async () => {
  await tf.setBackend('cpu');
  const rng = new Rng(8);
  const b = tf.backend();
  const { incRef } = b;
  const withoutRefCounts = (fn) => {
    b.incRef = () => { throw new Error('not yet implemented'); };
    try {
      return fn();
    } finally {
      b.incRef = incRef;
    }
  };
  tf.tidy(() => {
    const x = t3(distinctFloat32(rng, [2, 7, 4]));
    const want = bits(knnGraph(x, 3));
    const before = tf.memory().numTensors;
    const idx = withoutRefCounts(() => knnGraph(x, 3));
    assert.is(tf.memory().numTensors, before + 1, 'one tensor out, the kernel output disposed');
    assertEqualValues(bits(idx), want);
    const g = tf.grad((a) => tf.sum(maxRelative(a, withoutRefCounts(() => knnGraph(a, 3)))))(x);
    assertBitIdentical(bits(g), bits(tf.grad((a) => tf.sum(legacy.maxRelative(a, idx)))(x)));
  });
});

test('no tensor is leaked by forward, gradients or errors', async () => {
  const rng = new Rng(7);
  const d = compositeData(rng, 2, 8, 8, 2, 4, 2, 3);
  await onBackends((backend) => {
    compositeStep(kernels, d);
    const before = tf.memory().numTensors;
    compositeStep(kernels, d);
    tf.tidy(() => {
      const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 3, 2]);
      try { maxRelative(x, tf.tensor3d([0, 9, 0, 0, 0, 0], [1, 3, 2], 'int32')); } catch { /* refused */ }
    });
    assert.is(tf.memory().numTensors, before, `${backend}: tensors after`);
  });
});

test.run();
