/**
 * Reference batched KNN: float64 distances, exact (distance, index) order. Written for clarity; it is the
 * oracle every other backend is tested against.
 */
import type { KnnMetric } from '../../types.js';
import type { KnnGraphArgs } from '../backend.js';

/** Rows [offset, offset + rows) of a [*, D] array as float64, L2-normalized when asked, with their norms. */
function loadRows(data: Float32Array, first: number, rows: number, D: number, normalize: boolean) {
  const v = new Float64Array(rows * D);
  const norm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) {
      const value = data[(first + r) * D + d]!;
      v[r * D + d] = value;
      ss += value * value;
    }
    norm[r] = Math.sqrt(ss);
    if (normalize && norm[r]! > 0) {
      for (let d = 0; d < D; d++) v[r * D + d]! /= norm[r]!;
      norm[r] = 1;
    }
  }
  return { v, norm };
}

/** Distance between row i of X and row j of Y (both float64, D wide), given their L2 norms. */
function rowDistance(metric: KnnMetric, X: Float64Array, i: number, nx: number, Y: Float64Array, j: number, ny: number, D: number): number {
  let acc = 0;
  if (metric === 'euclidean') {
    for (let d = 0; d < D; d++) {
      const t = X[i * D + d]! - Y[j * D + d]!;
      acc += t * t;
    }
    return acc;
  }
  if (metric === 'manhattan') {
    for (let d = 0; d < D; d++) acc += Math.abs(X[i * D + d]! - Y[j * D + d]!);
    return acc;
  }
  // cosine: a zero vector is at distance 1 from everything
  if (nx === 0 || ny === 0) return 1;
  for (let d = 0; d < D; d++) acc += X[i * D + d]! * Y[j * D + d]!;
  return Math.max(0, 1 - acc / (nx * ny));
}

/** The float64 distance the contract defines between two rows (tests compare answers with it). */
export function referenceDistance(metric: KnnMetric, normalize: boolean, xRow: Float32Array, yRow: Float32Array): number {
  const D = xRow.length;
  const a = loadRows(xRow, 0, 1, D, normalize);
  const b = loadRows(yRow, 0, 1, D, normalize);
  return rowDistance(metric, a.v, 0, a.norm[0]!, b.v, 0, b.norm[0]!, D);
}

export function knnGraphReference(a: KnnGraphArgs, out: Int32Array): void {
  const { B, N, M, D, k, dilation, metric, normalize } = a;
  const kd = k * dilation;
  const dist = new Float64Array(M);
  const chosen = new Int32Array(kd); // candidate indices, ascending (distance, index)
  for (let b = 0; b < B; b++) {
    const X = loadRows(a.x, b * N, N, D, normalize);
    const Y = a.y ? loadRows(a.y, b * M, M, D, normalize) : X;
    for (let i = 0; i < N; i++) {
      let count = 0;
      for (let j = 0; j < M; j++) {
        const dj = rowDistance(metric, X.v, i, X.norm[i]!, Y.v, j, Y.norm[j]!, D);
        dist[j] = dj;
        // j is larger than every chosen index, so a tie never displaces: ties keep the lower index
        if (count === kd && !(dj < dist[chosen[kd - 1]!]!)) continue;
        let p = count < kd ? count++ : kd - 1;
        while (p > 0 && dj < dist[chosen[p - 1]!]!) {
          chosen[p] = chosen[p - 1]!;
          p--;
        }
        chosen[p] = j;
      }
      for (let t = 0; t < k; t++) out[(b * N + i) * k + t] = chosen[t * dilation]!;
    }
  }
}
