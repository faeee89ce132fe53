/**
 * Faces followed through a video: the detector runs every `detectEvery` frames (and whenever no face is
 * followed); in between, only the landmark net runs, in boxes placed around the previous frame's
 * landmarks the way the detector framed them when it last ran. A face whose box leaves the image is
 * dropped until the next detection.
 */
import type { RgbImage } from './image.js';
import { rangeError } from '../util/validate.js';
import { detectFaces, landmarksInBoxes, type DetectOptions, type DetectedFace } from './detect.js';

/** Where a detector's box sits around a face's 68 landmarks, relative to their bounding box. */
interface Framing { dx: number; dy: number; sw: number; sh: number }

export function landmarkBounds(p: ArrayLike<number>): { x: number; y: number; w: number; h: number } {
  let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
  for (let i = 0; i < p.length; i += 2) {
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

export class FaceFollower {
  private followed: { face: DetectedFace; framing: Framing }[] = [];
  private frame = 0;
  private readonly detectEvery: number;
  private readonly detect: DetectOptions;

  constructor({ detectEvery = 1, ...detect }: DetectOptions & { detectEvery?: number } = {}) {
    if (!(Number.isInteger(detectEvery) && detectEvery >= 1)) throw rangeError('detectEvery', 'a positive integer', detectEvery);
    this.detectEvery = detectEvery;
    this.detect = detect;
  }

  /** The faces of the next frame. */
  async next(image: RgbImage): Promise<DetectedFace[]> {
    const index = this.frame++;
    if (index % this.detectEvery === 0 || this.followed.length === 0) {
      const found = await detectFaces(image, this.detect);
      this.followed = found.map((face) => ({ face, framing: framingOf(face) }));
      return found;
    }
    const again = await landmarksInBoxes(image, this.followed.map(({ face, framing }) => ({ box: boxFor(face.landmarks68, framing), score: face.score })));
    this.followed = this.followed.flatMap((f, i) => (again[i] ? [{ face: again[i]!, framing: f.framing }] : []));
    return this.followed.map((f) => f.face);
  }
}
