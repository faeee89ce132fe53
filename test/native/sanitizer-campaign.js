/**
 * A bounded, seeded campaign of op calls for sanitizer builds (npm run test:asan: AddressSanitizer +
 * UndefinedBehaviorSanitizer, the CUDA kernels emulated on the CPU). Every op on every native backend,
 * sync and async, with valid inputs of random shapes (results checked against the reference), invalid
 * ones (must throw, never touch memory), and async calls whose buffers the caller rewrites, shrinks or
 * transfers while they run (docs/ops.md, "Async calls and the caller's buffers"), and the host blocks
 * kernel outputs live on (allocated, written, freed by a detach or left to the GC). The sanitizers abort
 * the process on the first bad access; the script itself fails on a wrong result or a missing error.
 *   SACL_CAMPAIGN_CALLS (default 1500), SACL_CAMPAIGN_SECONDS (default 60) bound it.
 */
import assert from 'node:assert/strict';
import {
  backends, knnGraph, knnGraphAsync, maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync, roiAlign,
  roiAlignAsync, roiAlignGrad, roiAlignGradAsync,
} from '../../dist/index.js';
import { loadNative } from '../../dist/backends/native.js';
import { Rng, randomFloat32, randomIndex } from '../helpers/random.js';

const calls = Number(process.env.SACL_CAMPAIGN_CALLS ?? 1500);
const seconds = Number(process.env.SACL_CAMPAIGN_SECONDS ?? 60);
const native = backends().filter((b) => b.name !== 'reference' && b.available).map((b) => b.name);
if (!native.includes('cpu')) throw new Error('no native cpu backend to run the campaign on');
const rng = new Rng(20261130);
const int = (lo, hi) => lo + Math.floor(rng.next() * (hi - lo + 1));
const pick = (a) => a[int(0, a.length - 1)];

/** A copy of t on a resizable buffer (so the caller can shrink it while a call runs). */
function resizable(t) {
  const buffer = new ArrayBuffer(t.data.byteLength, { maxByteLength: t.data.byteLength * 2 });
  const data = new t.data.constructor(buffer, 0, t.data.length);
  data.set(t.data);
  return { shape: t.shape, data };
}

/** Something a caller may do to an array while an async call runs. */
function disturb(t) {
  switch (int(0, 3)) {
    case 0: t.data.fill(t.data instanceof Int32Array ? 1 << 30 : Number.NaN); break;
    case 1: if (t.data.buffer.resizable) t.data.buffer.resize(0); break;
    case 2: if (!(t.data.buffer instanceof SharedArrayBuffer)) structuredClone(t.data.buffer, { transfer: [t.data.buffer] }); break;
    default: break;
  }
}

const close = (a, b, what) => {
  assert.equal(a.data.length, b.data.length, what);
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    if (!(d <= 1e-4 * (1 + Math.abs(b.data[i])))) assert.fail(`${what}: element ${i}: ${a.data[i]} vs ${b.data[i]}`);
  }
};

const CASES = {
  async knn(backend) {
    const B = int(1, 3); const N = int(1, 40); const D = int(1, 70); const k = int(1, N);
    const metric = pick(['euclidean', 'cosine', 'manhattan']);
    const x = randomFloat32(rng, [B, N, D]);
    const want = knnGraph(x, k, { metric, backend: 'reference' });
    const input = resizable(x);
    const p = knnGraphAsync(input, k, { metric, backend });
    disturb(input);
    const got = await p;
    // near-ties may order differently: the sets of distances are compared in the op tests; here, validity
    for (const j of got.data) assert.ok(j >= 0 && j < N, `knn index ${j}`);
    assert.equal(got.data.length, want.data.length);
  },
  async maxRelative(backend) {
    const B = int(1, 3); const N = int(1, 30); const C = int(1, 70); const K = int(1, 12);
    const x = randomFloat32(rng, [B, N, C]);
    const idx = randomIndex(rng, [B, N, K], N);
    const want = maxRelative(x, idx, { backend: 'reference' });
    const ins = [resizable(x), resizable(idx)];
    const p = maxRelativeAsync(ins[0], ins[1], { backend });
    disturb(pick(ins));
    close((await p).out, want.out, 'maxRelative');
    const gWant = maxRelativeGrad(want.out, idx, want.argmax, { backend: 'reference' });
    const gIns = [resizable(want.out), resizable(idx), resizable(want.argmax)];
    const g = maxRelativeGradAsync(gIns[0], gIns[1], gIns[2], { backend });
    disturb(pick(gIns));
    close(await g, gWant, 'maxRelativeGrad');
  },
  async roi(backend) {
    const B = int(1, 2); const H = int(1, 20); const W = int(1, 20); const C = int(1, 40); const R = int(1, 6); const S = int(1, 6);
    const f = randomFloat32(rng, [B, H, W, C]);
    const centers = randomFloat32(rng, [B, R, 2], -3, Math.max(H, W) + 3);
    const want = roiAlign(f, centers, S, { backend: 'reference' });
    const ins = [resizable(f), resizable(centers)];
    const p = roiAlignAsync(ins[0], ins[1], S, { backend });
    disturb(pick(ins));
    close(await p, want, 'roiAlign');
    const gWant = roiAlignGrad(want, centers, [B, H, W, C], { backend: 'reference' });
    const dOut = resizable(want);
    const g = roiAlignGradAsync(dOut, centers, [B, H, W, C], { backend });
    disturb(dOut);
    close(await g, gWant, 'roiAlignGrad');
  },
  async intoResized(backend) {
    const x = randomFloat32(rng, [1, 20, 8]);
    const into = resizable({ shape: [1, 20, 5], data: new Int32Array(100) });
    const p = knnGraphAsync(x, 5, { backend, into });
    disturb(into);
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof RangeError && /for out but received one (detached|resized)/.test(e.message), e.message);
    }
  },
  async matMul() {
    // narrow products (N ≤ 16, or M ≤ 16 with B transposed) half the time, the blocked path otherwise
    const narrow = rng.next() < 0.5;
    const batch = int(1, 3); const M = narrow ? int(1, 200) : int(1, 60); const N = narrow ? int(1, 16) : int(17, 70);
    const K = int(0, 300); const transA = rng.next() < 0.5; const transB = rng.next() < 0.5;
    const [m, n] = narrow && rng.next() < 0.5 ? [N, M] : [M, N]; // also as op(A) ≤ 16 tall
    const a = randomFloat32(rng, [batch, m * K]).data; const b = randomFloat32(rng, [batch, K * n]).data;
    const out = new Float32Array(batch * m * n);
    loadNative().addon.matMul({ a, b, batchA: batch, batchB: batch, M: m, N: n, K, transA, transB, out });
    for (let i = 0; i < batch; i++) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
      let want = 0;
      for (let k = 0; k < K; k++) want += a[i * m * K + (transA ? k * m + r : r * K + k)] * b[i * K * n + (transB ? c * K + k : k * n + c)];
      const got = out[(i * m + r) * n + c];
      if (!(Math.abs(got - want) <= 1e-4 * (1 + Math.abs(want)) * Math.sqrt(K + 1))) assert.fail(`matMul ${JSON.stringify({ batch, m, n, K, transA, transB })} [${i}, ${r}, ${c}]: ${got} vs ${want}`);
    }
  },
  async hostBlocks() {
    const { addon } = loadNative();
    for (let i = int(1, 8); i > 0; i--) {
      const bytes = int(0, 1 << 14) * 4;
      const zero = rng.next() < 0.5;
      const b = addon.allocateBuffer(bytes, zero);
      assert.equal(b.byteLength, bytes);
      const v = new Int32Array(b);
      if (zero) assert.ok(v.every((x) => x === 0), 'a zeroed block');
      v.fill(i);
      if (rng.next() < 0.7) { // freed at once; otherwise left to the GC and the finalizer
        addon.detachBuffer(b);
        assert.equal(b.byteLength, 0);
        if (rng.next() < 0.2) addon.detachBuffer(b);
      }
    }
  },
  async invalid(backend) {
    const x = randomFloat32(rng, [1, 6, 3]);
    const bad = pick([
      () => knnGraph(x, 7, { backend }),
      () => maxRelative(x, { shape: [1, 6, 2], data: Int32Array.from({ length: 12 }, () => int(-5, 20)) }, { backend }),
      () => roiAlign({ shape: [1, 2, 2, 1], data: new Float32Array(4) }, { shape: [1, 1, 2], data: Float32Array.of(Number.NaN, 0) }, 2, { backend }),
      () => maxRelativeGrad(x, { shape: [1, 6, 2], data: new Int32Array(12) }, { shape: [1, 6, 3], data: new Int32Array(18).fill(9) }, { backend }),
    ]);
    assert.throws(bad, (e) => e instanceof RangeError || e instanceof TypeError);
  },
};

const started = Date.now();
let done = 0;
while (done < calls && Date.now() - started < seconds * 1000) {
  // the emulated CUDA kernels run their blocks' threads as real threads: slow, so one call in twenty
  const backend = native.length > 1 && rng.next() < 0.05 ? native.find((b) => b !== 'cpu') : 'cpu';
  const name = pick(Object.keys(CASES));
  await CASES[name](backend);
  done++;
}
console.log(`sanitizer campaign: ${done} calls on ${native.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s, clean`);
