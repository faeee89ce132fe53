/** Reference ROI align (bilinear crops around centres) and its gradient, float64 accumulation. */
import type { RoiAlignArgs, RoiAlignGeometry, RoiAlignGradArgs } from '../backend.js';

export interface BilinearTaps {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  /** Weights of (y0,x0), (y0,x1), (y1,x0), (y1,x1). */
  w00: number;
  w01: number;
  w10: number;
  w11: number;
}

/**
 * The four taps of a bilinear sample at (y, x) on an H×W map, or null when the sample lies outside
 * [−1, H] × [−1, W] (it is then 0). Inside, coordinates are clamped into [0, H−1] × [0, W−1]:
 * torchvision's RoIAlign border rule.
 */
export function bilinearTaps(y: number, x: number, H: number, W: number): BilinearTaps | null {
  if (y < -1 || y > H || x < -1 || x > W) return null;
  y = Math.min(Math.max(y, 0), H - 1);
  x = Math.min(Math.max(x, 0), W - 1);
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const y1 = Math.min(y0 + 1, H - 1);
  const x1 = Math.min(x0 + 1, W - 1);
  const ly = y - y0;
  const lx = x - x0;
  const hy = 1 - ly;
  const hx = 1 - lx;
  return { y0, y1, x0, x1, w00: hy * hx, w01: hy * lx, w10: ly * hx, w11: ly * lx };
}

/** Calls visit(b, r, v, u, taps) for every sample of every ROI, in output order. */
function forEachSample(g: RoiAlignGeometry, visit: (o: number, b: number, taps: BilinearTaps | null) => void): void {
  const { B, R, S, H, W, C, centers, step } = g;
  const half = (S - 1) / 2;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      const cx = centers[(b * R + r) * 2]!;
      const cy = centers[(b * R + r) * 2 + 1]!;
      for (let v = 0; v < S; v++) {
        for (let u = 0; u < S; u++) {
          const taps = bilinearTaps(cy + (v - half) * step, cx + (u - half) * step, H, W);
          visit((((b * R + r) * S + v) * S + u) * C, b, taps);
        }
      }
    }
  }
}

export function roiAlignReference(a: RoiAlignArgs, out: Float32Array): void {
  const { H, W, C, features } = a;
  forEachSample(a, (o, b, t) => {
    for (let c = 0; c < C; c++) {
      if (!t) {
        out[o + c] = 0;
        continue;
      }
      const at = (yy: number, xx: number) => features[((b * H + yy) * W + xx) * C + c]!;
      out[o + c] = t.w00 * at(t.y0, t.x0) + t.w01 * at(t.y0, t.x1) + t.w10 * at(t.y1, t.x0) + t.w11 * at(t.y1, t.x1);
    }
  });
}

export function roiAlignGradReference(a: RoiAlignGradArgs, dFeatures: Float32Array): void {
  const { H, W, C, dOut } = a;
  const acc = new Float64Array(dFeatures.length);
  forEachSample(a, (o, b, t) => {
    if (!t) return;
    for (let c = 0; c < C; c++) {
      const g = dOut[o + c]!;
      const at = (yy: number, xx: number) => ((b * H + yy) * W + xx) * C + c;
      acc[at(t.y0, t.x0)]! += t.w00 * g;
      acc[at(t.y0, t.x1)]! += t.w01 * g;
      acc[at(t.y1, t.x0)]! += t.w10 * g;
      acc[at(t.y1, t.x1)]! += t.w11 * g;
    }
  });
  dFeatures.set(acc);
}
