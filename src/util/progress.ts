/**
 * A progress line on stderr with count, rate and ETA: redrawn in place on a terminal (at most every
 * 100 ms), one plain line every 10 % (or 30 s) otherwise, so logs stay readable.
 */
export class Progress {
  private done = 0;
  /** The first update's time and count: rates are measured from there (the first item's own time is unknown). */
  private first: { at: number; done: number } | null = null;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(private readonly label: string, private readonly total: number, private readonly unit = 'it',
    private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(stream.isTTY);
  }

  private line(extra: string): string {
    const f = this.first ?? { at: Date.now(), done: this.done };
    const elapsed = (Date.now() - f.at) / 1000;
    const rate = this.done > f.done && elapsed > 0 ? (this.done - f.done) / elapsed : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
    const width = 24;
    const filled = Math.round((width * this.done) / Math.max(1, this.total));
    const bar = `[${'='.repeat(filled)}${' '.repeat(width - filled)}]`;
    const speed = rate > 0 ? `${rate.toFixed(rate < 10 ? 2 : 1)} ${this.unit}/s ETA ${clock(eta)}` : `– ${this.unit}/s`;
    return `${this.label} ${bar} ${this.done}/${this.total} ${speed}${extra ? `  ${extra}` : ''}`;
  }

  update(done: number, extra = ''): void {
    this.first ??= { at: Date.now(), done };
    this.done = done;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(extra)}\x1b[K`);
      return;
    }
    const decile = Math.floor((10 * done) / Math.max(1, this.total));
    if (decile !== this.lastDecile || now - this.lastDraw > 30_000) {
      this.lastDecile = decile;
      this.lastDraw = now;
      this.stream.write(`${this.line(extra)}\n`);
    }
  }

  finish(extra = ''): void {
    if (this.tty) this.stream.write(`\r${this.line(extra)}\x1b[K\n`);
    else if (this.lastDecile !== 10 || extra) this.stream.write(`${this.line(extra)}\n`);
  }
}

/**
 * A progress callback for work that is usually quick: the bar appears only once the work has taken
 * longer than `afterMs` (reading a tree of CSVs stays silent; minutes of MAT-files do not).
 */
export function lateProgress(label: string, unit: string, afterMs = 1000): { update: (done: number, total: number) => void; finish: () => void } {
  const start = Date.now();
  let bar: Progress | null = null;
  return {
    update(done, total) {
      if (!bar && Date.now() - start < afterMs) return;
      bar ??= new Progress(label, total, unit);
      bar.update(done);
    },
    finish() { bar?.finish(); },
  };
}
