/**
 * A tiny RGB rasterizer for the synthetic faces: filled polygons and ellipses, thick polylines, soft
 * blobs, all blended with an alpha, on a Float32 canvas (0–255). No anti-aliasing beyond the soft blobs:
 * the images only have to carry AU evidence, not look photographic.
 */
export type Rgb = readonly [number, number, number];

export class Canvas {
  readonly data: Float32Array;

  constructor(readonly width: number, readonly height: number, background: Rgb) {
    const data = new Float32Array(width * height * 3);
    const [r, g, b] = background;
    for (let o = 0; o < data.length; o += 3) {
      data[o] = r;
      data[o + 1] = g;
      data[o + 2] = b;
    }
    this.data = data;
  }

  private blend(x: number, y: number, color: Rgb, alpha: number): void {
    const o = 3 * (y * this.width + x);
    const d = this.data;
    d[o] = d[o]! + (color[0] - d[o]!) * alpha;
    d[o + 1] = d[o + 1]! + (color[1] - d[o + 1]!) * alpha;
    d[o + 2] = d[o + 2]! + (color[2] - d[o + 2]!) * alpha;
  }

  /** Even-odd scanline fill of a closed polygon [x0, y0, x1, y1, …]. */
  fillPolygon(points: ArrayLike<number>, color: Rgb, alpha = 1): void {
    const n = points.length / 2;
    let minY = Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      minY = Math.min(minY, points[2 * i + 1]!);
      maxY = Math.max(maxY, points[2 * i + 1]!);
    }
    const y0 = Math.max(0, Math.ceil(minY - 0.5));
    const y1 = Math.min(this.height - 1, Math.floor(maxY - 0.5));
    const xs: number[] = [];
    for (let y = y0; y <= y1; y++) {
      const sy = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < n; i++) {
        const ax = points[2 * i]!;
        const ay = points[2 * i + 1]!;
        const bx = points[(2 * i + 2) % (2 * n)]!;
        const by = points[(2 * i + 3) % (2 * n)]!;
        if ((ay <= sy && by > sy) || (by <= sy && ay > sy)) xs.push(ax + ((sy - ay) / (by - ay)) * (bx - ax));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
        const to = Math.min(this.width - 1, Math.floor(xs[k + 1]! - 0.5));
        for (let x = from; x <= to; x++) this.blend(x, y, color, alpha);
      }
    }
  }

  /** Filled ellipse, axes rotated by `angle` radians. */
  fillEllipse(cx: number, cy: number, rx: number, ry: number, angle: number, color: Rgb, alpha = 1): void {
    const steps = 32;
    const pts = new Float32Array(2 * steps);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    for (let i = 0; i < steps; i++) {
      const t = (2 * Math.PI * i) / steps;
      const ex = rx * Math.cos(t);
      const ey = ry * Math.sin(t);
      pts[2 * i] = cx + ex * c - ey * s;
      pts[2 * i + 1] = cy + ex * s + ey * c;
    }
    this.fillPolygon(pts, color, alpha);
  }

  /** A polyline of the given width (round joins): every pixel within width/2 of a segment. */
  strokePolyline(points: ArrayLike<number>, width: number, color: Rgb, alpha = 1, closed = false): void {
    const n = points.length / 2;
    const r = width / 2;
    const segments = closed ? n : n - 1;
    for (let i = 0; i < segments; i++) {
      const ax = points[2 * i]!;
      const ay = points[2 * i + 1]!;
      const bx = points[(2 * i + 2) % (2 * n)]!;
      const by = points[(2 * i + 3) % (2 * n)]!;
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r));
      const x1 = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + r));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r));
      const y1 = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + r));
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy || 1;
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const px = x + 0.5 - ax;
          const py = y + 0.5 - ay;
          const t = Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
          const qx = px - t * dx;
          const qy = py - t * dy;
          // segments of one polyline overlap at joins: blend each pixel once per segment only where it is nearest
          if (qx * qx + qy * qy <= r * r) this.blend(x, y, color, alpha);
        }
      }
    }
  }

  /** A Gaussian blob: alpha · exp(−d²/2σ²) towards `color` (shading, highlights, bulges). */
  blob(cx: number, cy: number, sx: number, sy: number, color: Rgb, alpha: number): void {
    const x0 = Math.max(0, Math.floor(cx - 3 * sx));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + 3 * sx));
    const y0 = Math.max(0, Math.floor(cy - 3 * sy));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + 3 * sy));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const u = (x + 0.5 - cx) / sx;
        const v = (y + 0.5 - cy) / sy;
        const a = alpha * Math.exp(-0.5 * (u * u + v * v));
        if (a > 0.004) this.blend(x, y, color, a);
      }
    }
  }

  /** Clamped 8-bit RGB, row-major (what the image encoder takes). */
  toBytes(): Uint8Array {
    const d = this.data;
    const out = new Uint8Array(d.length);
    for (let i = 0; i < out.length; i++) {
      const v = d[i]!;
      out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v); // NaN stores as 0, as before
    }
    return out;
  }
}
