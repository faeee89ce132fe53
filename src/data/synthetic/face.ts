/**
 * Procedural faces for the synthetic AU dataset. A subject is an identity (face shape, skin, brows, lips,
 * eye size, small landmark offsets, background); a frame adds an expression (active AUs with intensities),
 * head pose, lighting and noise. Each of BP4D's 12 AUs deforms the face locally around its AU centre
 * (paper Table 2; docs/model.md, Landmarks and AU centres): landmarks move, and some AUs add shading (wrinkles, bulges, dimples). The landmarks
 * returned are where the deformed, posed face's points are drawn.
 */
import { NUM_LANDMARKS, alignedTemplate } from '../../face/landmarks.js';
import { Random } from '../../util/random.js';
import { Canvas, type Rgb } from './raster.js';

export interface Identity {
  skin: Rgb;
  background: Rgb;
  brow: Rgb;
  lips: Rgb;
  faceWidth: number;
  faceHeight: number;
  browWidth: number;
  eyeOpen: number;
  lipThickness: number;
  /** Per-landmark offsets in units of r (the inner-eye distance). */
  offsets: Float32Array;
  /** Relative tendencies towards each emotion prototype. */
  emotionBias: number[];
}

export interface FrameParams {
  /** AU number → intensity in (0, 1]; absent = inactive. */
  aus: Map<number, number>;
  angle: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  light: number;
  lightAngle: number;
  noise: number;
}

const tone = (rng: Random, base: Rgb, spread: number): Rgb => [0, 1, 2].map((i) => base[i]! + rng.uniform(-spread, spread)) as unknown as Rgb;

export function makeIdentity(rng: Random, emotions: number): Identity {
  const skinBase: Rgb[] = [[224, 186, 160], [196, 150, 118], [150, 105, 80], [236, 204, 180], [110, 78, 60]];
  const skin = tone(rng, skinBase[rng.int(0, skinBase.length - 1)]!, 12);
  const offsets = new Float32Array(NUM_LANDMARKS * 2);
  for (let i = 0; i < offsets.length; i++) offsets[i] = rng.normal() * 0.04;
  return {
    skin,
    background: tone(rng, [rng.uniform(60, 200), rng.uniform(60, 200), rng.uniform(60, 200)], 0),
    brow: tone(rng, [60, 45, 35], 20),
    lips: tone(rng, [skin[0] * 0.8, skin[1] * 0.45, skin[2] * 0.5], 10),
    faceWidth: rng.uniform(1.15, 1.4),
    faceHeight: rng.uniform(1.55, 1.8),
    browWidth: rng.uniform(0.09, 0.16),
    eyeOpen: rng.uniform(0.85, 1.2),
    lipThickness: rng.uniform(0.85, 1.2),
    offsets,
    emotionBias: Array.from({ length: emotions }, () => rng.uniform(0.3, 1.7)),
  };
}

/** Landmark displacement (units of r) of one AU at full intensity: [point, dx, dy] triples. */
const AU_MOTION: Record<number, [number, number, number][]> = {
  1: [[3, 0, -0.25], [4, 0, -0.45], [5, 0, -0.45], [6, 0, -0.25], [2, 0, -0.1], [7, 0, -0.1]],
  2: [[0, 0, -0.45], [1, 0, -0.4], [2, 0, -0.15], [9, 0, -0.45], [8, 0, -0.4], [7, 0, -0.15]],
  4: [[0, 0, 0.15], [1, 0.05, 0.25], [2, 0.1, 0.3], [3, 0.15, 0.3], [4, 0.2, 0.3],
    [9, 0, 0.15], [8, -0.05, 0.25], [7, -0.1, 0.3], [6, -0.15, 0.3], [5, -0.2, 0.3]],
  6: [[23, 0, -0.14], [24, 0, -0.16], [29, 0, -0.16], [30, 0, -0.14], [31, -0.05, -0.1], [37, 0.05, -0.1]],
  7: [[20, 0, 0.1], [21, 0, 0.1], [23, 0, -0.08], [24, 0, -0.08], [26, 0, 0.1], [27, 0, 0.1], [29, 0, -0.08], [30, 0, -0.08]],
  10: [[32, 0, -0.3], [33, 0, -0.35], [34, 0, -0.35], [35, 0, -0.35], [36, 0, -0.3], [43, 0, -0.3], [44, 0, -0.3], [45, 0, -0.3]],
  12: [[31, -0.35, -0.4], [37, 0.35, -0.4], [32, -0.15, -0.15], [36, 0.15, -0.15], [42, -0.15, -0.15], [38, 0.15, -0.15]],
  14: [[31, 0.1, 0], [37, -0.1, 0]],
  15: [[31, -0.05, 0.5], [37, 0.05, 0.5], [42, 0, 0.25], [38, 0, 0.25]],
  17: [[38, 0, -0.18], [39, 0, -0.22], [40, 0, -0.22], [41, 0, -0.22], [42, 0, -0.18], [46, 0, -0.15], [47, 0, -0.15], [48, 0, -0.15]],
  23: [[31, 0.08, 0], [37, -0.08, 0], [33, 0, 0.08], [34, 0, 0.1], [35, 0, 0.08], [39, 0, -0.08], [40, 0, -0.1], [41, 0, -0.08]],
  24: [[33, 0, 0.12], [34, 0, 0.14], [35, 0, 0.12], [39, 0, -0.12], [40, 0, -0.14], [41, 0, -0.12], [43, 0, 0.04], [44, 0, 0.04],
    [45, 0, 0.04], [46, 0, -0.04], [47, 0, -0.04], [48, 0, -0.04]],
};

/** Rasterizes one face at `size`×`size` and returns it with its 49 landmarks (pixels, [x0, y0, …]). */
export function renderFace(identity: Identity, frame: FrameParams, size: number, rng: Random): { rgb: Uint8Array; landmarks: Float32Array } {
  const template = alignedTemplate();
  const r = Math.abs(template[2 * 22]! - template[2 * 25]!) * size; // inner-eye distance in pixels
  const local = new Float32Array(NUM_LANDMARKS * 2);
  for (let i = 0; i < local.length; i++) local[i] = template[i]! * size + identity.offsets[i]! * r;
  for (const [au, intensity] of frame.aus) {
    for (const [p, dx, dy] of AU_MOTION[au] ?? []) {
      local[2 * p] = local[2 * p]! + dx * r * intensity;
      local[2 * p + 1] = local[2 * p + 1]! + dy * r * intensity;
    }
  }
  // head pose: rotation and scale about the image centre, then a shift
  const c = size / 2;
  const cos = Math.cos(frame.angle) * frame.scale;
  const sin = Math.sin(frame.angle) * frame.scale;
  const pose = (x: number, y: number): [number, number] => [c + (x - c) * cos - (y - c) * sin + frame.shiftX, c + (x - c) * sin + (y - c) * cos + frame.shiftY];
  const lm = new Float32Array(NUM_LANDMARKS * 2);
  for (let i = 0; i < NUM_LANDMARKS; i++) [lm[2 * i], lm[2 * i + 1]] = pose(local[2 * i]!, local[2 * i + 1]!);
  const pt = (i: number) => [lm[2 * i]!, lm[2 * i + 1]!] as const;
  const path = (idx: number[]) => Float32Array.from(idx.flatMap((i) => pt(i)));
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);
  const R = r * frame.scale;
  const intensity = (au: number) => frame.aus.get(au) ?? 0;

  const canvas = new Canvas(size, size, identity.background);
  const [fx, fy] = pose(c, template[2 * 12]! * size);
  canvas.fillEllipse(fx, fy, identity.faceWidth * 2 * R, identity.faceHeight * 2 * R, frame.angle, identity.skin);
  const shade: Rgb = [identity.skin[0] * 0.7, identity.skin[1] * 0.65, identity.skin[2] * 0.65];
  const light: Rgb = [Math.min(255, identity.skin[0] * 1.12), Math.min(255, identity.skin[1] * 1.12), Math.min(255, identity.skin[2] * 1.12)];

  // AU shading: glabella wrinkles (4), cheek bulges (6), nasolabial folds (10), dimples (14), chin boss (17)
  if (intensity(4)) {
    const [ax, ay] = pt(4);
    const [bx, by] = pt(5);
    for (const t of [0.38, 0.62]) {
      const x = ax + (bx - ax) * t;
      const y = ay + (by - ay) * t;
      canvas.strokePolyline([x, y - 0.05 * R, x, y + 0.45 * R], 0.09 * R, shade, 0.75 * intensity(4));
    }
  }
  if (intensity(6)) {
    for (const p of [24, 29]) {
      const [x, y] = pt(p);
      canvas.blob(x, y + 0.75 * R, 0.5 * R, 0.32 * R, light, intensity(6));
      canvas.strokePolyline([x - 0.4 * R, y + 0.2 * R, x, y + 0.32 * R, x + 0.4 * R, y + 0.2 * R], 0.09 * R, shade, 0.9 * intensity(6));
    }
  }
  if (intensity(10)) {
    for (const [n, m] of [[14, 31], [18, 37]] as const) {
      const [ax, ay] = pt(n);
      const [bx, by] = pt(m);
      canvas.strokePolyline([ax + (ax - bx) * 0.3, ay - 0.1 * R, bx + (bx - ax) * 0.25, by], 0.1 * R, shade, 0.9 * intensity(10));
    }
  }
  if (intensity(14)) {
    for (const [p, side] of [[31, -1], [37, 1]] as const) {
      const [x, y] = pt(p);
      canvas.fillEllipse(x + side * 0.22 * R, y, 0.09 * R, 0.16 * R, frame.angle, shade, intensity(14));
    }
  }
  if (intensity(17)) {
    const [x, y] = pt(40);
    canvas.blob(x, y + 0.55 * R, 0.5 * R, 0.25 * R, light, 0.9 * intensity(17));
    canvas.strokePolyline([x - 0.35 * R, y + 0.3 * R, x, y + 0.38 * R, x + 0.35 * R, y + 0.3 * R], 0.09 * R, shade, 0.85 * intensity(17));
  }

  // brows
  canvas.strokePolyline(path(range(0, 4)), identity.browWidth * 2 * R, identity.brow);
  canvas.strokePolyline(path(range(5, 9)), identity.browWidth * 2 * R, identity.brow);
  // eyes: sclera, iris clipped by the lids (drawn as an ellipse inside the eye polygon), lid lines
  for (const eye of [range(19, 24), range(25, 30)]) {
    const poly = path(eye);
    const cx = (poly[0]! + poly[6]!) / 2;
    const cy = eye.reduce((s, i) => s + pt(i)[1], 0) / eye.length;
    const open = Math.max(0.02, (pt(eye[4]!)[1] - pt(eye[2]!)[1]) * identity.eyeOpen);
    canvas.fillPolygon(poly, [235, 235, 230]);
    canvas.fillEllipse(cx, cy, 0.16 * R, Math.min(0.16 * R, open * 0.55), frame.angle, [50, 35, 25]);
    canvas.strokePolyline(poly, 0.05 * R, [40, 30, 25], 1, true);
  }
  // nose
  canvas.strokePolyline(path(range(10, 13)), 0.06 * R, shade, 0.8);
  canvas.strokePolyline(path(range(14, 18)), 0.07 * R, shade, 0.9);
  // mouth: lips (thinner with 23/24), darker when pressed (24), mouth line
  const thin = identity.lipThickness * (1 - 0.35 * intensity(23) - 0.3 * intensity(24));
  const lipColor: Rgb = identity.lips.map((v) => v * (1 - 0.25 * intensity(24))) as unknown as Rgb;
  const outer = path(range(31, 42));
  const mid = (i: number) => [(pt(i)[0] + pt(i === 43 ? 48 : i === 45 ? 46 : 47)[0]) / 2, (pt(i)[1] + pt(i === 43 ? 48 : i === 45 ? 46 : 47)[1]) / 2] as const;
  const mx = [pt(31), mid(43), mid(44), mid(45), pt(37)];
  const squeeze = Float32Array.from(outer);
  for (let i = 0; i < 12; i++) {
    const nearest = mx.reduce((best, m) => (Math.hypot(m[0] - outer[2 * i]!, m[1] - outer[2 * i + 1]!) < Math.hypot(best[0] - outer[2 * i]!, best[1] - outer[2 * i + 1]!) ? m : best));
    squeeze[2 * i] = nearest[0] + (outer[2 * i]! - nearest[0]) * thin;
    squeeze[2 * i + 1] = nearest[1] + (outer[2 * i + 1]! - nearest[1]) * thin;
  }
  canvas.fillPolygon(squeeze, lipColor);
  canvas.strokePolyline(Float32Array.from(mx.flatMap((m) => m)), 0.08 * R, [60, 30, 30], 1);

  // lighting ramp, then sensor noise
  const d = canvas.data;
  const lx = Math.cos(frame.lightAngle);
  const ly = Math.sin(frame.lightAngle);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const gain = frame.light * (1 + 0.25 * (((x / size) - 0.5) * lx + ((y / size) - 0.5) * ly));
      const o = 3 * (y * size + x);
      for (let k = 0; k < 3; k++) d[o + k] = d[o + k]! * gain + rng.normal() * frame.noise;
    }
  }
  return { rgb: canvas.toBytes(), landmarks: lm };
}
