/**
 * Video frames streamed from ffmpeg (found on PATH): `ffprobe` reads the size and frame rate, `ffmpeg`
 * writes raw RGB frames to a pipe, and the iterator hands them out one at a time. ffmpeg runs a few
 * frames ahead of the caller (decoding overlaps inference), then the pipe's backpressure pauses it, so
 * memory stays flat however long the video is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { extname } from 'node:path';
import type { RgbImage } from './image.js';

export const VIDEO_EXTENSIONS: readonly string[] = ['.mp4', '.avi', '.mov', '.mkv'];
export const isVideoFile = (path: string): boolean => VIDEO_EXTENSIONS.includes(extname(path).toLowerCase());

export interface VideoInfo { width: number; height: number; /** Frames per second (the stream's average rate). */ fps: number }

export interface VideoFrame {
  /** 0-based. */
  index: number;
  /** Seconds: index / fps (a constant frame rate, as ffmpeg's default output timing gives). */
  timestamp: number;
  image: RgbImage;
}

const MISSING = 'ffmpeg and ffprobe are needed for video and were not found on PATH (Debian/Ubuntu: apt-get install ffmpeg)';

function rate(text: string | undefined): number {
  const [n, d = '1'] = (text ?? '').split('/');
  const v = Number(n) / Number(d);
  return Number.isFinite(v) && v > 0 ? v : NaN;
}

/** Size and frame rate of a video's first video stream. */
export function probeVideo(path: string): VideoInfo {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate',
    '-of', 'json', path], { encoding: 'utf8' });
  if (r.error) throw new Error((r.error as NodeJS.ErrnoException).code === 'ENOENT' ? MISSING : `${path}: ffprobe failed (${r.error.message})`);
  if (r.status !== 0) throw new Error(`${path}: cannot read the video (${r.stderr.trim().split('\n')[0] || `ffprobe exit ${r.status}`})`);
  const s = (JSON.parse(r.stdout) as { streams?: { width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string }[] }).streams?.[0];
  if (!s?.width || !s.height) throw new Error(`${path}: no video stream`);
  const fps = Number.isFinite(rate(s.avg_frame_rate)) ? rate(s.avg_frame_rate) : rate(s.r_frame_rate);
  if (!Number.isFinite(fps)) throw new Error(`${path}: unknown frame rate`);
  return { width: s.width, height: s.height, fps };
}

/**
 * The frames of a video, in order, as RGB images. ffmpeg decodes up to `readAhead` frames (default 2)
 * ahead of the caller, so decoding overlaps the caller's work on the current frame; then its pipe is
 * paused, so memory stays flat however long the video is. Stops ffmpeg when the caller stops early. An
 * unreadable video is an error naming the file, with ffmpeg's first message.
 */
export async function* videoFrames(path: string, info: VideoInfo = probeVideo(path), { readAhead = 2 }: { readAhead?: number } = {}): AsyncGenerator<VideoFrame> {
  if (!(Number.isInteger(readAhead) && readAhead >= 1)) throw new RangeError(`Expected a positive integer for readAhead but received ${readAhead}`);
  const { width, height, fps } = info;
  const ffmpeg = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  ffmpeg.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => ffmpeg.on('close', (code) => resolve(code)));
  const bytes = width * height * 3;
  const ready: Buffer[] = [];
  let frame = Buffer.allocUnsafe(bytes);
  let filled = 0;
  let ended = false;
  let wake: (() => void) | null = null;
  const notify = () => { const w = wake; wake = null; w?.(); };
  ffmpeg.on('error', (e) => { spawnError = e; ended = true; notify(); });
  const out = ffmpeg.stdout;
  out.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length;) {
      const n = Math.min(bytes - filled, chunk.length - at);
      chunk.copy(frame, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === bytes) {
        ready.push(frame);
        frame = Buffer.allocUnsafe(bytes);
        filled = 0;
      }
    }
    if (ready.length >= readAhead) out.pause();
    notify();
  });
  out.on('end', () => { ended = true; notify(); });
  out.on('error', (e) => { spawnError ??= e; ended = true; notify(); });
  try {
    for (let index = 0; ; index++) {
      while (ready.length === 0 && !ended) await new Promise<void>((resolve) => { wake = resolve; });
      const next = ready.shift();
      if (!next) break;
      if (ready.length < readAhead && out.isPaused()) out.resume();
      yield { index, timestamp: index / fps, image: { data: new Uint8Array(next.buffer, next.byteOffset, bytes), width, height } };
    }
    if (spawnError) throw new Error((spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? MISSING : `${path}: ffmpeg failed (${spawnError.message})`);
    if (filled) throw new Error(`${path}: the last frame is truncated (${filled} of ${bytes} bytes)`);
    const code = await exited;
    if (code !== 0) throw new Error(`${path}: cannot decode the video (${stderr.trim().split('\n')[0] || `ffmpeg exit ${code}`})`);
  } finally {
    if (ffmpeg.exitCode === null) ffmpeg.kill('SIGTERM');
  }
}

/**
 * Encodes RGB frames into a video file with ffmpeg (H.264, yuv420p; odd sizes are cut to even ones).
 * `write` waits while ffmpeg's input pipe is full, so memory stays flat.
 */
export class VideoWriter {
  private readonly ffmpeg: ChildProcess;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private failure: Error | undefined;

  constructor(readonly path: string, readonly info: VideoInfo) {
    this.ffmpeg = spawn('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${info.width}x${info.height}`,
      '-r', String(info.fps), '-i', '-', '-vf', 'crop=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path],
    { stdio: ['pipe', 'ignore', 'pipe'] });
    this.ffmpeg.stderr!.setEncoding('utf8').on('data', (d: string) => { if (this.stderr.length < 4096) this.stderr += d; });
    this.ffmpeg.on('error', (e) => { this.failure = (e as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(MISSING) : e; });
    this.ffmpeg.stdin!.on('error', (e) => { this.failure ??= e; });
    this.exited = new Promise((resolve) => this.ffmpeg.on('close', (code) => resolve(code)));
  }

  async write(rgb: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (rgb.length !== this.info.width * this.info.height * 3) throw new RangeError(`VideoWriter: expected ${this.info.width}×${this.info.height}×3 bytes; got ${rgb.length}`);
    if (!this.ffmpeg.stdin!.write(rgb)) await Promise.race([once(this.ffmpeg.stdin!, 'drain'), this.exited]);
  }

  /** Finishes the file; an encoder failure is an error naming it. */
  async close(): Promise<void> {
    this.ffmpeg.stdin!.end();
    const code = await this.exited;
    if (this.failure) throw this.failure;
    if (code !== 0) throw new Error(`${this.path}: ffmpeg could not write the video (${this.stderr.trim().split('\n')[0] || `exit ${code}`})`);
  }

  /** Stops ffmpeg without finishing the file. */
  abort(): void {
    if (this.ffmpeg.exitCode === null) this.ffmpeg.kill('SIGTERM');
  }
}
