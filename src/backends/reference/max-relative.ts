/** Reference Max-Relative aggregation and its gradient (float64 accumulation). */
import type { MaxRelativeArgs, MaxRelativeGradArgs } from '../backend.js';

export function maxRelativeReference(a: MaxRelativeArgs, out: Float32Array, argmax: Int32Array): void {
  const { B, N, M, C, K, x, idx } = a;
  const y = a.y ?? a.x;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      const row = (b * N + i) * K;
      for (let c = 0; c < C; c++) {
        // ties go to the lowest slot: only a strictly larger value replaces the winner
        let best = y[(b * M + idx[row]!) * C + c]!;
        let win = 0;
        for (let s = 1; s < K; s++) {
          const v = y[(b * M + idx[row + s]!) * C + c]!;
          if (v > best) {
            best = v;
            win = s;
          }
        }
        const o = (b * N + i) * C + c;
        out[o] = best - x[o]!;
        argmax[o] = win;
      }
    }
  }
}

export function maxRelativeGradReference(a: MaxRelativeGradArgs, dx: Float32Array, dy: Float32Array | null): void {
  const { B, N, M, C, K, dOut, idx, argmax } = a;
  const gx = new Float64Array(B * N * C);
  const gy = dy ? new Float64Array(B * M * C) : gx;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      for (let c = 0; c < C; c++) {
        const o = (b * N + i) * C + c;
        const g = dOut[o]!;
        gx[o]! -= g;
        const j = idx[(b * N + i) * K + argmax[o]!]!;
        gy[(b * M + j) * C + c]! += g;
      }
    }
  }
  dx.set(gx);
  if (dy) dy.set(gy);
}
