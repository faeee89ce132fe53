/**
 * Face alignment from 49 landmarks, JAA-Net's recipe (docs/datasets.md, Alignment): rotate so the eye centres are level;
 * box the rotated eye centres, nose tip and mouth corners; half size = 0.5 · 2.9 · max(w, h); scale that
 * square to the output size; pixels outside the source are grey (128). The same similarity transform
 * maps the landmarks.
 */
import { ALIGN_ENLARGE, LANDMARK_GROUPS, MOUTH_CORNERS, NOSE_TIP, meanPoint } from '../face/landmarks.js';

/** Row-major 2×3 affine [a, b, tx, c, d, ty]: (x, y) → (a·x + b·y + tx, c·x + d·y + ty). */
export type Affine = [number, number, number, number, number, number];

export function alignmentTransform(points: ArrayLike<number>, size: number): Affine {
  const [lx, ly] = meanPoint(points, LANDMARK_GROUPS.leftEye);
  const [rx, ry] = meanPoint(points, LANDMARK_GROUPS.rightEye);
  const angle = Math.atan2(ry - ly, rx - lx);
  const cos = Math.cos(-angle);
  const sin = Math.sin(-angle);
  const rotate = (x: number, y: number): [number, number] => [cos * x - sin * y, sin * x + cos * y];
  const keys = [[lx, ly], [rx, ry], [points[2 * NOSE_TIP]!, points[2 * NOSE_TIP + 1]!],
    ...MOUTH_CORNERS.map((i) => [points[2 * i]!, points[2 * i + 1]!])].map(([x, y]) => rotate(x!, y!));
  const xs = keys.map((p) => p[0]);
  const ys = keys.map((p) => p[1]);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const half = 0.5 * ALIGN_ENLARGE * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  if (!(half > 0)) throw new RangeError('landmarks: degenerate face (eyes, nose tip and mouth corners coincide)');
  const s = size / (2 * half);
  // aligned = s · (R·p − (cx, cy)) + size/2
  return [s * cos, -s * sin, size / 2 - s * cx, s * sin, s * cos, size / 2 - s * cy];
}

export function applyAffine(m: Affine, points: ArrayLike<number>): Float32Array {
  const out = new Float32Array(points.length);
  for (let i = 0; i < points.length / 2; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    out[2 * i] = m[0] * x + m[1] * y + m[2];
    out[2 * i + 1] = m[3] * x + m[4] * y + m[5];
  }
  return out;
}

/**
 * Warps an RGB image (bytes, width × height) into a size × size aligned face: every output pixel samples
 * the source bilinearly at the inverse transform; outside the source it is grey.
 */
export function warpAffine(rgb: ArrayLike<number>, width: number, height: number, m: Affine, size: number): Uint8Array {
  const det = m[0] * m[4] - m[1] * m[3];
  const inv = [m[4] / det, -m[1] / det, -m[3] / det, m[0] / det];
  const out = new Uint8Array(size * size * 3).fill(128);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x - m[2];
      const dy = y - m[5];
      const sx = inv[0]! * dx + inv[1]! * dy;
      const sy = inv[2]! * dx + inv[3]! * dy;
      if (sx < 0 || sy < 0 || sx > width - 1 || sy > height - 1) continue;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const x1 = Math.min(x0 + 1, width - 1);
      const y1 = Math.min(y0 + 1, height - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const v = (1 - fy) * ((1 - fx) * rgb[3 * (y0 * width + x0) + c]! + fx * rgb[3 * (y0 * width + x1) + c]!)
          + fy * ((1 - fx) * rgb[3 * (y1 * width + x0) + c]! + fx * rgb[3 * (y1 * width + x1) + c]!);
        out[3 * (y * size + x) + c] = Math.round(v);
      }
    }
  }
  return out;
}

