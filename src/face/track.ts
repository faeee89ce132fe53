/**
 * Face ids across video frames: each face takes the id of the recent face it overlaps most
 * (intersection over union ≥ minIoU, greedy from the best pair); a face that matches none gets a new id.
 * A face missed for up to maxMissed frames keeps its id when it is found again near where it was.
 */
export interface Box { x: number; y: number; width: number; height: number }

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export class FaceTracker {
  private tracks: { id: number; box: Box; missed: number }[] = [];
  private nextId = 0;

  constructor(private readonly minIoU = 0.3, private readonly maxMissed = 5) {}

  /** Ids for this frame's boxes, in their order. */
  assign(boxes: readonly Box[]): number[] {
    const pairs: [number, number, number][] = [];
    boxes.forEach((b, i) => this.tracks.forEach((t, j) => {
      const o = iou(b, t.box);
      if (o >= this.minIoU) pairs.push([o, i, j]);
    }));
    pairs.sort((a, b) => b[0] - a[0]);
    const ids = new Array<number>(boxes.length).fill(-1);
    const taken = new Set<number>();
    for (const [, i, j] of pairs) {
      if (ids[i] !== -1 || taken.has(j)) continue;
      ids[i] = this.tracks[j]!.id;
      taken.add(j);
    }
    for (let i = 0; i < ids.length; i++) if (ids[i] === -1) ids[i] = this.nextId++;
    const kept = this.tracks.filter((t, j) => !taken.has(j) && t.missed < this.maxMissed).map((t) => ({ ...t, missed: t.missed + 1 }));
    this.tracks = [...boxes.map((box, i) => ({ id: ids[i]!, box, missed: 0 })), ...kept];
    return ids;
  }
}
