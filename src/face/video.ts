/**
 * Video frames streamed from ffmpeg (found on PATH): `ffprobe` reads the size and frame rate, `ffmpeg`
 * writes raw RGB frames to a pipe read by a worker thread, and the iterator hands them out one at a
 * time. The worker and ffmpeg run a few frames ahead of the caller (decoding overlaps inference), then
 * ffmpeg is paused, so memory stays flat however long the video is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { VideoWorkerData, VideoWorkerMessage } from './video-worker.js';
import type { RgbImage } from './image.js';
import { rangeError } from '../util/validate.js';

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
 * The frames of a video, in order, as RGB images. ffmpeg runs in a worker thread (video-worker.ts) that
 * reads up to `readAhead` frames (default 2) ahead of the caller, so decoding overlaps the caller's work
 * on the current frame; then ffmpeg is paused, so memory stays flat however long the video is. Stops
 * ffmpeg when the caller stops early. An unreadable video is an error naming the file, with ffmpeg's
 * first message.
 */
export async function* videoFrames(path: string, info: VideoInfo = probeVideo(path), { readAhead = 2 }: { readAhead?: number } = {}): AsyncGenerator<VideoFrame> {
  if (!(Number.isInteger(readAhead) && readAhead >= 1)) throw new RangeError(`Expected a positive integer for readAhead but received ${readAhead}`);
  const { width, height, fps } = info;
  const bytes = width * height * 3;
  // no node flags: a worker refuses some of its parent's (--input-type, --expose-gc), and needs none
  const execArgv: string[] = [];
  const worker = new Worker(new URL('./video-worker.js', import.meta.url), { workerData: { path, bytes, readAhead } satisfies VideoWorkerData, execArgv });
  const inbox: VideoWorkerMessage[] = [];
  let failure: Error | undefined;
  let wake: (() => void) | null = null;
  const notify = () => { const w = wake; wake = null; w?.(); };
  worker.on('message', (m: VideoWorkerMessage) => { inbox.push(m); notify(); });
  worker.on('error', (e) => { failure = e; notify(); });
  worker.on('exit', () => { failure ??= new Error(`${path}: the video reader stopped`); notify(); });
  let finished = false;
  try {
    for (let index = 0; ; index++) {
      while (inbox.length === 0 && !failure) await new Promise<void>((resolve) => { wake = resolve; });
      const m = inbox.shift();
      if (!m) throw failure!;
      if (m.type === 'spawn-error') throw new Error(m.code === 'ENOENT' ? MISSING : `${path}: ffmpeg failed (${m.message})`);
      if (m.type === 'end') {
        finished = true;
        if (m.truncated) throw new Error(`${path}: the last frame is truncated (${m.truncated} of ${bytes} bytes)`);
        if (m.code !== 0) throw new Error(`${path}: cannot decode the video (${m.stderr.trim().split('\n')[0] || `ffmpeg exit ${m.code}`})`);
        return;
      }
      worker.postMessage('take');
      yield { index, timestamp: index / fps, image: { data: new Uint8Array(m.buffer, 0, bytes), width, height } };
    }
  } finally {
    if (!finished) worker.postMessage('stop');
    worker.unref();
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
    if (rgb.length !== this.info.width * this.info.height * 3) throw rangeError('rgb (VideoWriter.write)', `${this.info.width}×${this.info.height}×3 bytes`, rgb.length);
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
