/**
 * The worker thread behind videoFrames: runs ffmpeg and reads its raw RGB frames while the main thread
 * computes, so decoding and the pipe's reading overlap inference. At most `readAhead` frames are on
 * their way to the main thread (each 'take' from it frees one); then ffmpeg's output is paused.
 */
import { spawn } from 'node:child_process';
import { parentPort, workerData } from 'node:worker_threads';

/** What the main thread gets: a frame (its buffer transferred), the end, or a failure to start ffmpeg. */
export type VideoWorkerMessage =
  | { type: 'frame'; buffer: ArrayBuffer }
  | { type: 'end'; code: number | null; stderr: string; truncated: number }
  | { type: 'spawn-error'; code: string | undefined; message: string };

export interface VideoWorkerData { path: string; bytes: number; readAhead: number }

const { path, bytes, readAhead } = workerData as VideoWorkerData;
const port = parentPort!;
const post = (m: VideoWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const ffmpeg = spawn('ffmpeg', ['-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
ffmpeg.stderr.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
let failed = false;
ffmpeg.on('error', (e) => {
  failed = true;
  post({ type: 'spawn-error', code: (e as NodeJS.ErrnoException).code, message: e.message });
});
let frame = new Uint8Array(bytes);
let filled = 0;
let inFlight = 0;
const out = ffmpeg.stdout;
out.on('data', (chunk: Buffer) => {
  for (let at = 0; at < chunk.length;) {
    const n = Math.min(bytes - filled, chunk.length - at);
    frame.set(chunk.subarray(at, at + n), filled);
    filled += n;
    at += n;
    if (filled === bytes) {
      post({ type: 'frame', buffer: frame.buffer as ArrayBuffer }, [frame.buffer as ArrayBuffer]);
      inFlight++;
      frame = new Uint8Array(bytes);
      filled = 0;
    }
  }
  if (inFlight >= readAhead) out.pause();
});
ffmpeg.on('close', (code) => {
  if (!failed) post({ type: 'end', code, stderr, truncated: filled });
  port.close();
});
port.on('message', (m: 'take' | 'stop') => {
  if (m === 'take') {
    inFlight--;
    if (inFlight < readAhead && out.isPaused()) out.resume();
  } else {
    // closing the pipe matters: ffmpeg blocked writing to a full pipe would not act on SIGTERM
    out.destroy();
    if (ffmpeg.exitCode === null) ffmpeg.kill('SIGTERM');
  }
});
