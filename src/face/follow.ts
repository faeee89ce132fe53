/**
 * Faces tracked through a video. The detector runs on the first frame, every `detectEvery`-th frame,
 * whenever no face is tracked, and on any frame where a tracked face is lost. On the other frames only
 * the landmark net runs, once for all faces, each in the box the detector would draw around the face's
 * previous 68 landmarks (framed as the detector framed them when it last found that face).
 *
 * A tracked face is lost when its box leaves the picture (less than `minInside` of it inside), when its
 * new landmarks collapse or blow up (their extent changes by more than `maxScale` from one frame to the
 * next) or jump (their centre lands more than `maxShift` of the face's width from where the last move
 * predicted it), or when the box holds no picture (its pixels' standard deviation below `minContrast`
 * grey levels: a black or flat frame).
 * On a scheduled detection a tracked face the detector missed is kept if it passes the same checks.
 */
import { iou } from './track.js';
import type { RgbImage } from './image.js';
import { rangeError } from '../util/validate.js';
import { detectFaces, landmarksInBoxes, type DetectOptions, type DetectedFace } from './detect.js';

/** Where a detector's box sits around a face's 68 landmarks, relative to their bounding box. */
interface Framing { dx: number; dy: number; sw: number; sh: number }

/** A followed face: its last landmarks, how the detector framed it, and its last move (pixels a frame). */
interface Followed { face: DetectedFace; framing: Framing; vx: number; vy: number }

/**
 * The bounding box of landmarks 17–67 (brows, nose, eyes, mouth). The jaw (0–16) is left out: the landmark
 * net places it least surely, and a tracked box built on it drifts and shrinks from frame to frame.
 */
export function landmarkBounds(p: ArrayLike<number>): { x: number; y: number; w: number; h: number } {
  let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
  for (let i = 2 * 17; i < p.length; i += 2) {
    x0 = Math.min(x0, p[i]!); x1 = Math.max(x1, p[i]!);
    y0 = Math.min(y0, p[i + 1]!); y1 = Math.max(y1, p[i + 1]!);
  }
  return { x: x0, y: y0, w: Math.max(1, x1 - x0), h: Math.max(1, y1 - y0) };
}

function framingOf(face: DetectedFace): Framing {
  const b = landmarkBounds(face.landmarks68);
  const { x, y, width, height } = face.box;
  return { dx: (x + width / 2 - (b.x + b.w / 2)) / b.w, dy: (y + height / 2 - (b.y + b.h / 2)) / b.h, sw: width / b.w, sh: height / b.h };
}

/** The box a detector would draw around these landmarks, framed as it framed them when it last ran. */
function boxFor(landmarks68: ArrayLike<number>, f: Framing): DetectedFace['box'] {
  const b = landmarkBounds(landmarks68);
  const width = f.sw * b.w;
  const height = f.sh * b.h;
  return { x: b.x + b.w / 2 + f.dx * b.w - width / 2, y: b.y + b.h / 2 + f.dy * b.h - height / 2, width, height };
}

/**
 * Where the face is expected in the next frame: the detector's framing around its landmarks, moved as
 * much as it moved last frame. Without the move the box trails a moving face, since the landmark net
 * pulls its points towards the middle of the box.
 */
function predicted({ face, framing, vx, vy }: Followed): DetectedFace['box'] {
  const box = boxFor(face.landmarks68, framing);
  return { ...box, x: box.x + vx, y: box.y + vy };
}

/** Share of the box inside the picture. */
function inside(box: DetectedFace['box'], image: RgbImage): number {
  const w = Math.min(box.x + box.width, image.width) - Math.max(box.x, 0);
  const h = Math.min(box.y + box.height, image.height) - Math.max(box.y, 0);
  return w > 0 && h > 0 ? (w * h) / (box.width * box.height) : 0;
}

/** Standard deviation of the grey level (0–255) inside the box, on a sparse grid (about 32 × 32 samples). */
function contrast(box: DetectedFace['box'], image: RgbImage): number {
  const x0 = Math.max(0, Math.floor(box.x)); const x1 = Math.min(image.width, Math.ceil(box.x + box.width));
  const y0 = Math.max(0, Math.floor(box.y)); const y1 = Math.min(image.height, Math.ceil(box.y + box.height));
  const sx = Math.max(1, Math.floor((x1 - x0) / 32)); const sy = Math.max(1, Math.floor((y1 - y0) / 32));
  let n = 0; let sum = 0; let sq = 0;
  for (let y = y0; y < y1; y += sy) {
    for (let x = x0; x < x1; x += sx) {
      const i = 3 * (y * image.width + x);
      const g = (image.data[i]! + image.data[i + 1]! + image.data[i + 2]!) / 3;
      n++; sum += g; sq += g * g;
    }
  }
  return n ? Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)) : 0;
}

/**
 * `sacl-au predict`'s default for videos: a detection every 10th frame (0.4 s at 25 fps) finds faces
 * that come in; tracking follows the rest (bench/predict.js; docs/face.md, Speed).
 */
export const DEFAULT_DETECT_EVERY = 10;

export interface FollowOptions extends DetectOptions {
  /** Run the detector every n-th frame (1: every frame). */
  detectEvery?: number;
  /** Least share of a tracked box inside the picture (default 0.6). */
  minInside?: number;
  /** Largest factor by which the landmarks' extent may change between frames (default 1.5). */
  maxScale?: number;
  /** Largest move of the landmarks' centre between frames, in face widths (default 0.5). */
  maxShift?: number;
  /** Least grey-level standard deviation inside a tracked box (default 8). */
  minContrast?: number;
}

export class FaceFollower {
  private followed: Followed[] = [];
  private frame = 0;
  private readonly detectEvery: number;
  private readonly detect: DetectOptions;
  private readonly limits: { minInside: number; maxScale: number; maxShift: number; minContrast: number };
  /**
   * Frames seen, frames the detector ran on, and faces tracking lost between scheduled detections (each
   * forces a detection), by reason: box mostly outside the picture, flat box, landmarks jumped or rescaled.
   */
  readonly stats = { frames: 0, detections: 0, lost: { outside: 0, flat: 0, landmarks: 0 } };

  constructor({ detectEvery = 1, minInside = 0.6, maxScale = 1.5, maxShift = 0.5, minContrast = 8, ...detect }: FollowOptions = {}) {
    if (!(Number.isInteger(detectEvery) && detectEvery >= 1)) throw rangeError('detectEvery', 'a positive integer', detectEvery);
    for (const [name, v, ok] of [['minInside', minInside, minInside > 0 && minInside <= 1], ['maxScale', maxScale, maxScale > 1],
      ['maxShift', maxShift, maxShift > 0], ['minContrast', minContrast, minContrast >= 0]] as const) {
      if (!(ok && Number.isFinite(v))) {
        const wanted = { minInside: 'a number in (0, 1]', maxScale: 'a number > 1', maxShift: 'a number > 0', minContrast: 'a number ≥ 0' }[name];
        throw rangeError(name, wanted, v);
      }
    }
    this.detectEvery = detectEvery;
    this.detect = detect;
    this.limits = { minInside, maxScale, maxShift, minContrast };
  }

  /** The faces of the next frame. */
  async next(image: RgbImage): Promise<DetectedFace[]> {
    const index = this.frame++;
    this.stats.frames++;
    let tracked: Followed[] = [];
    if (this.followed.length > 0 && index % this.detectEvery !== 0) {
      const again = await this.track(image, this.followed, this.stats.lost);
      tracked = again.filter((t): t is Followed => t !== null);
      if (tracked.length === again.length) {
        this.followed = tracked;
        return tracked.map((f) => f.face);
      }
    }
    // the detector runs; on a scheduled detection, faces it missed are tracked (not on a loss: tracked already)
    this.stats.detections++;
    const found: Followed[] = (await detectFaces(image, this.detect)).map((face) => ({ face, framing: framingOf(face), vx: 0, vy: 0 }));
    const previous = index % this.detectEvery === 0 ? this.followed : tracked;
    const missed = previous.filter((t) => found.every((f) => iou(f.face.box, predicted(t)) < 0.3));
    const kept = index % this.detectEvery === 0 && missed.length ? (await this.track(image, missed)).filter((t): t is Followed => t !== null) : missed;
    this.followed = [...found, ...kept];
    return this.followed.map((f) => f.face).sort((a, b) => a.box.x - b.box.x || a.box.y - b.box.y);
  }

  /** Each followed face in this frame, or null where tracking lost it. */
  private async track(image: RgbImage, followed: readonly Followed[], lost = { outside: 0, flat: 0, landmarks: 0 }): Promise<(Followed | null)[]> {
    const { minInside, maxScale, maxShift, minContrast } = this.limits;
    const boxes = followed.map((f) => ({ box: predicted(f), score: f.face.score }));
    const keep = boxes.map(({ box }) => {
      if (inside(box, image) < minInside) return lost.outside++, false;
      if (contrast(box, image) < minContrast) return lost.flat++, false;
      return true;
    });
    const again = await landmarksInBoxes(image, boxes.filter((_, i) => keep[i]));
    let k = 0;
    return followed.map((f, i) => {
      if (!keep[i]) return null;
      const face = again[k++];
      if (!face) return lost.outside++, null;
      const before = landmarkBounds(f.face.landmarks68);
      const now = landmarkBounds(face.landmarks68);
      const scale = Math.max(now.w / before.w, before.w / now.w, now.h / before.h, before.h / now.h);
      const vx = now.x + now.w / 2 - before.x - before.w / 2;
      const vy = now.y + now.h / 2 - before.y - before.h / 2;
      const shift = Math.hypot(vx - f.vx, vy - f.vy) / before.w;
      if (scale <= maxScale && shift <= maxShift) return { face, framing: f.framing, vx, vy };
      lost.landmarks++;
      return null;
    });
  }
}
