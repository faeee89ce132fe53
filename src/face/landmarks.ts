/**
 * The 49-point landmark scheme (docs/model.md, Landmarks and AU centres): the 66-point IntraFace/DISFA scheme minus the 17 jaw points,
 * 0-based, "left" = the image's left. Also the horizontal-flip permutation and a mean-face template.
 */

export const NUM_LANDMARKS = 49;

/** Landmark groups by index range (inclusive). */
export const LANDMARK_GROUPS = {
  leftBrow: [0, 4], rightBrow: [5, 9], noseBridge: [10, 13], nostrils: [14, 18],
  leftEye: [19, 24], rightEye: [25, 30], outerLip: [31, 42], innerUpperLip: [43, 45], innerLowerLip: [46, 48],
} as const;

/** 1-based flip permutation exactly as the datasets' tools write it. */
const FLIP_1BASED = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11, 12, 13, 14, 19, 18, 17, 16, 15, 29, 28, 27, 26, 31, 30, 23, 22, 21,
  20, 25, 24, 38, 37, 36, 35, 34, 33, 32, 43, 42, 41, 40, 39, 46, 45, 44, 49, 48, 47];

/** After x' = W − 1 − x, point i of the flipped face is point FLIP_PERMUTATION[i] of the original. */
export const FLIP_PERMUTATION: readonly number[] = FLIP_1BASED.map((i) => i - 1);

/** Horizontally flips landmarks [x0, y0, x1, y1, …] of an image `width` pixels wide. */
export function flipLandmarks(points: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(NUM_LANDMARKS * 2);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    const j = FLIP_PERMUTATION[i]!;
    out[2 * i] = width - 1 - points[2 * j]!;
    out[2 * i + 1] = points[2 * j + 1]!;
  }
  return out;
}

/**
 * A neutral frontal face in units of the eye-centre distance, origin midway between the eye centres,
 * y downwards. The rendering of the synthetic dataset and the landmark head's initial bias start from it.
 */
const FACE_UNITS: ReadonlyArray<readonly [number, number]> = [
  // left brow, outer → inner
  [-0.95, -0.3], [-0.75, -0.4], [-0.55, -0.43], [-0.35, -0.4], [-0.15, -0.33],
  // right brow, inner → outer
  [0.15, -0.33], [0.35, -0.4], [0.55, -0.43], [0.75, -0.4], [0.95, -0.3],
  // nose bridge, top → tip
  [0, 0.02], [0, 0.22], [0, 0.42], [0, 0.62],
  // nostril base, left → right
  [-0.25, 0.72], [-0.13, 0.75], [0, 0.78], [0.13, 0.75], [0.25, 0.72],
  // left eye: outer corner, upper outer, upper inner, inner corner, lower inner, lower outer
  [-0.75, 0], [-0.6, -0.07], [-0.4, -0.07], [-0.25, 0], [-0.4, 0.06], [-0.6, 0.06],
  // right eye: inner corner, upper inner, upper outer, outer corner, lower outer, lower inner
  [0.25, 0], [0.4, -0.07], [0.6, -0.07], [0.75, 0], [0.6, 0.06], [0.4, 0.06],
  // outer lip: left corner, upper left ×2, top centre, upper right ×2, right corner, lower right ×2, bottom
  // centre, lower left ×2
  [-0.4, 1.1], [-0.25, 1.02], [-0.1, 0.98], [0, 1.0], [0.1, 0.98], [0.25, 1.02], [0.4, 1.1],
  [0.25, 1.2], [0.1, 1.24], [0, 1.25], [-0.1, 1.24], [-0.25, 1.2],
  // inner upper lip left → right, inner lower lip right → left
  [-0.15, 1.08], [0, 1.07], [0.15, 1.08], [0.15, 1.12], [0, 1.13], [-0.15, 1.12],
];

/** Indices the alignment recipe (docs/datasets.md, Alignment) boxes: nose tip and the mouth corners (plus the eye centres). */
export const NOSE_TIP = 13;
export const MOUTH_CORNERS = [31, 37] as const;
/** Alignment enlargement of the landmark box (JAA-Net). */
export const ALIGN_ENLARGE = 2.9;

/** Mean of a landmark index range, e.g. an eye centre. */
export function meanPoint(points: ArrayLike<number>, [first, last]: readonly [number, number]): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = first; i <= last; i++) {
    x += points[2 * i]!;
    y += points[2 * i + 1]!;
  }
  const n = last - first + 1;
  return [x / n, y / n];
}

/**
 * The template as an aligned face sees it: boxed like the alignment (docs/datasets.md, Alignment) (eye centres, nose tip, mouth
 * corners; half size 0.5·2.9·max(w, h)) and scaled to [0, 1]². Flat [x0, y0, …].
 */
export function alignedTemplate(): Float32Array {
  const flat = FACE_UNITS.flat();
  const eyes = [meanPoint(flat, LANDMARK_GROUPS.leftEye), meanPoint(flat, LANDMARK_GROUPS.rightEye)];
  const keys = [...eyes, [flat[2 * NOSE_TIP]!, flat[2 * NOSE_TIP + 1]!], ...MOUTH_CORNERS.map((i) => [flat[2 * i]!, flat[2 * i + 1]!])];
  const xs = keys.map((p) => p[0]!);
  const ys = keys.map((p) => p[1]!);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const half = 0.5 * ALIGN_ENLARGE * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const out = new Float32Array(NUM_LANDMARKS * 2);
  for (let i = 0; i < NUM_LANDMARKS; i++) {
    out[2 * i] = 0.5 + (flat[2 * i]! - cx) / (2 * half);
    out[2 * i + 1] = 0.5 + (flat[2 * i + 1]! - cy) / (2 * half);
  }
  return out;
}

/**
 * The aligned face's side for an input size S: round(S · 256/224), so 224-px inputs are cut from the
 * paper's 256-px aligned faces (§4.1.2), 112-px inputs from 128-px ones.
 */
export function alignedSize(inputSize: number): number {
  return Math.round((inputSize * 256) / 224);
}

/** Offset of the test-time centre crop of S pixels from an aligned face (16 for 224 from 256). */
export function centreCropOffset(inputSize: number): number {
  return Math.floor((alignedSize(inputSize) - inputSize) / 2);
}

/**
 * The mean face where the model sees it: the aligned template (a point v of [0, 1]² lies at v·A in the
 * A-pixel aligned face) moved by the centre crop, v·A − offset, in input pixels (v·256 − 16 at 224).
 * Random training crops scatter around it by at most that offset. Flat [x0, y0, …].
 */
export function inputTemplate(inputSize: number): Float32Array {
  const side = alignedSize(inputSize);
  const offset = centreCropOffset(inputSize);
  return alignedTemplate().map((v) => v * side - offset);
}

/** Ground-truth inter-ocular distance: between the means of points 19–24 and 25–30 (landmark loss). */
export function interOcular(points: ArrayLike<number>): number {
  const [lx, ly] = meanPoint(points, LANDMARK_GROUPS.leftEye);
  const [rx, ry] = meanPoint(points, LANDMARK_GROUPS.rightEye);
  return Math.hypot(rx - lx, ry - ly);
}
