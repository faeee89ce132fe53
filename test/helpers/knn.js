/**
 * KNN answers compared the way FAISS's tests do (docs/ops.md, knnGraph): two answers are both right when, per row, the
 * multisets of their float64 distances agree within a relative tolerance (near-ties may swap). Also checks
 * that each returned row is in range, duplicate-free and sorted by distance.
 */
import { Assertion } from 'uvu/assert';
import { referenceDistance } from '../../dist/backends/reference/index.js';

/** Row r (in a [B, R, D] tensor, r counted over B·R) as a Float32Array view. */
function row(t, b, i) {
  const [, R, D] = t.shape;
  const start = (b * R + i) * D;
  return t.data.subarray(start, start + D);
}

function settings(x, opts = {}) {
  const y = opts.candidates ?? x;
  return {
    y,
    metric: opts.metric ?? 'euclidean',
    normalize: opts.normalize ?? false,
    dilation: opts.dilation ?? 1,
    B: x.shape[0],
    N: x.shape[1],
    M: y.shape[1],
  };
}

/**
 * Brute-force oracle built directly on referenceDistance: every (row, candidate) distance in float64,
 * a full sort by (distance, index), then positions 0, d, 2d, … Returns the Int32 [B, N, k] answer and its
 * float64 distances.
 */
export function knnOracle(x, k, opts = {}) {
  const { y, metric, normalize, dilation, B, N, M } = settings(x, opts);
  const idx = new Int32Array(B * N * k);
  const dist = new Float64Array(B * N * k);
  const d = new Float64Array(M);
  const order = Array.from({ length: M }, (_, j) => j);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      const xi = row(x, b, i);
      for (let j = 0; j < M; j++) d[j] = referenceDistance(metric, normalize, xi, row(y, b, j));
      order.sort((p, q) => d[p] - d[q] || p - q);
      for (let t = 0; t < k; t++) {
        idx[(b * N + i) * k + t] = order[t * dilation];
        dist[(b * N + i) * k + t] = d[order[t * dilation]];
      }
    }
  }
  return { idx: { shape: [B, N, k], data: idx }, dist };
}

/**
 * Checks `actual` (Int32 [B, N, k]) against the oracle answer `expected` ({ idx, dist } from knnOracle) for
 * the same x / options. Returns null when acceptable, else a description of the first bad row.
 * Tolerance per distance pair: rtol·max(|a|, |e|) + atol, where atol = atolScale · (the batch's largest
 * expected distance): the floor for near-zero distances.
 */
export function checkKnn(actual, x, k, opts, expected, { rtol = 1e-5, atolScale = 1e-6 } = {}) {
  const { y, metric, normalize, B, N, M } = settings(x, opts);
  const want = [B, N, k];
  if (!actual || !(actual.data instanceof Int32Array)) return `result is not an Int32 tensor: ${actual && actual.data}`;
  if (actual.shape.length !== 3 || actual.shape.some((s, a) => s !== want[a])) {
    return `shape [${actual.shape.join(', ')}] instead of [${want.join(', ')}]`;
  }
  if (actual.data.length !== B * N * k) return `data length ${actual.data.length} instead of ${B * N * k}`;
  for (let b = 0; b < B; b++) {
    let scale = 0;
    for (let r = b * N * k; r < (b + 1) * N * k; r++) scale = Math.max(scale, Math.abs(expected.dist[r]));
    const atol = atolScale * scale;
    const close = (p, q) => Math.abs(p - q) <= rtol * Math.max(Math.abs(p), Math.abs(q)) + atol;
    for (let i = 0; i < N; i++) {
      const at = (b * N + i) * k;
      const got = Array.from(actual.data.subarray(at, at + k));
      const exp = Array.from(expected.idx.data.subarray(at, at + k));
      const where = `row (b=${b}, i=${i}): got [${got.join(', ')}], expected [${exp.join(', ')}]`;
      const seen = new Set();
      for (const j of got) {
        if (!Number.isInteger(j) || j < 0 || j >= M) return `${where}: index ${j} outside [0, ${M})`;
        if (seen.has(j)) return `${where}: index ${j} appears twice`;
        seen.add(j);
      }
      const xi = row(x, b, i);
      const dGot = got.map((j) => referenceDistance(metric, normalize, xi, row(y, b, j)));
      for (let t = 0; t + 1 < k; t++) {
        if (dGot[t] > dGot[t + 1] && !close(dGot[t], dGot[t + 1])) {
          return `${where}: not sorted by distance at slot ${t}: ${dGot[t]} > ${dGot[t + 1]}`;
        }
      }
      const dExp = Array.from(expected.dist.subarray(at, at + k)).sort((p, q) => p - q);
      const dSorted = dGot.slice().sort((p, q) => p - q);
      for (let t = 0; t < k; t++) {
        if (!close(dSorted[t], dExp[t])) {
          return `${where}: distance multisets differ at rank ${t}: ${dSorted[t]} vs ${dExp[t]} ` +
            `(rtol ${rtol}, atol ${atol}); got distances [${dGot.join(', ')}]`;
        }
      }
    }
  }
  return null;
}

/** Throws an uvu Assertion when checkKnn finds a problem. */
export function assertKnn(actual, x, k, opts, expected, tolerance, msg = '') {
  const problem = checkKnn(actual, x, k, opts, expected, tolerance);
  if (problem) {
    throw new Assertion({ message: `${msg ? `${msg}: ` : ''}${problem}`, operator: 'knn', actual, expects: expected.idx, generated: false });
  }
}
