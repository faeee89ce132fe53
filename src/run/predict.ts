/**
 * `sacl-au predict`'s engine: expand the inputs (files, folders recursively, '-' = paths on stdin), then
 * per image or video frame find every face, align it and run the model, writing one row per face as soon
 * as it is known. Only the current image or frame is held in memory. In a video, faces keep their id from
 * frame to frame (track.ts) and a frame without a face gives one row with success 0. With `aligned`, each input is taken as one face already
 * aligned the JAA-Net way: it must be square (it is resized, never stretched) and is not searched for faces.
 */
import { UsageError } from '../util/errors.js';
import { rangeError } from '../util/validate.js';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { alignedSize } from '../data/loader.js';
import type { AuModel } from '../model/model.js';
import { AU_SETS } from '../face/au.js';
import type { DetectOptions } from '../face/detect.js';
import { DEFAULT_DETECT_EVERY, FaceFollower } from '../face/follow.js';
import { decodeImage, isImageFile, type RgbImage } from '../face/image.js';
import { csvHeader, csvRow, jsonRow, type FaceRow } from '../face/openface.js';
import { writeOverlay } from '../face/overlay.js';
import { predictAligned, predictDetected, predictFaces, type FacePrediction } from '../face/predict.js';
import { FaceTracker } from '../face/track.js';
import { VideoWriter, isVideoFile, probeVideo, videoFrames } from '../face/video.js';

/** Image and video files under a folder, recursively, sorted by path. */
export function imagesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).map((f) => join(dir, f))
    .filter((f) => (isImageFile(f) || isVideoFile(f)) && statSync(f).isFile()).sort();
}

/** The files the inputs name, in order: a folder gives its images, '-' the paths listed on `stdin` (one a line). */
export async function* expandInputs(inputs: readonly string[], stdin: NodeJS.ReadableStream = process.stdin): AsyncGenerator<string> {
  for (const input of inputs) {
    if (input === '-') {
      for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
        const path = line.trim();
        if (path) yield* expandPath(path);
      }
    } else {
      yield* expandPath(input);
    }
  }
}

function expandPath(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or folder`);
  return statSync(path).isDirectory() ? imagesUnder(path) : [path];
}

export interface PredictRunOptions extends DetectOptions {
  /** Inputs are aligned face crops (no detection). */
  aligned?: boolean;
  /**
   * In videos, run the face detector every n-th frame (default DEFAULT_DETECT_EVERY, 10) and track the
   * faces in between; tracking that loses a face runs the detector at once.
   */
  detectEvery?: number;
  /**
   * A folder for pictures with each face's box, landmarks, ROIs and AU bars: <name>.jpg per image
   * (<name>-2.jpg … when names repeat), <video name>/<frame, 6 digits>.jpg per video frame.
   */
  overlay?: string;
  /** Presence threshold on the probability (default 0.5). */
  threshold?: number;
  json?: boolean;
  /**
   * Called for an input that cannot be used (unreadable, no face in a photo, not square with `aligned`);
   * without it the run stops there. A video that fails midway keeps the rows already written.
   */
  onBadInput?: (file: string, reason: string) => void;
}

export interface PredictRunSummary { files: number; faces: number; bad: number }

/** Decodes an aligned crop to the model's aligned size; a non-square picture is refused, never stretched. */
async function alignedInput(file: string, side: number): Promise<RgbImage> {
  const image = await decodeImage(file);
  if (image.width !== image.height) {
    throw new Error(`${file}: not an aligned face crop (${image.width}×${image.height} is not square); without --aligned the faces in it are found and aligned`);
  }
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(side, side, { fit: 'fill' }).raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: side, height: side };
}

/**
 * Runs the model on every input file and hands each output line to `write` (header first), awaiting it,
 * so a slow consumer holds the run back instead of filling memory.
 */
export async function runPredict(model: AuModel, files: AsyncIterable<string> | Iterable<string>, write: (text: string) => Promise<void> | void,
  { aligned = false, threshold = 0.5, json = false, onBadInput, detectEvery = DEFAULT_DETECT_EVERY, overlay: overlayDir, ...detect }: PredictRunOptions = {}): Promise<PredictRunSummary> {
  if (!(Number.isInteger(detectEvery) && detectEvery >= 1)) throw rangeError('detectEvery', 'a positive integer', detectEvery);
  if (!(threshold >= 0 && threshold <= 1)) throw rangeError('threshold', 'a number in [0, 1]', threshold);
  const aus = AU_SETS[model.config.auSet];
  const side = alignedSize(model.config.inputSize);
  const geometry = { roiSize: model.config.roiSize, auSet: model.config.auSet };
  const overlay = overlayDir && !aligned ? overlayFiles(overlayDir) : null;
  const line = (row: FaceRow) => (json ? jsonRow(row, aus, threshold) : csvRow(row, aus, threshold));
  if (!json) await write(`${csvHeader(aus).join(',')}\n`);
  const summary = { files: 0, faces: 0, bad: 0 };
  for await (const file of files) {
    summary.files++;
    let rows: FaceRow[];
    try {
      if (isVideoFile(file) && !aligned) {
        summary.faces += await videoRows(model, file, { ...detect, detectEvery }, async (row) => write(line(row)),
          overlay && {
            frame: async (index, image, faces) => writeOverlay(image, faces, geometry, await overlay.frameFile(file, index), threshold),
            video: await overlay.videoFile(file),
          });
        continue;
      }
      if (aligned) {
        const [p] = predictAligned(model, [await alignedInput(file, side)]);
        rows = [{ file, frame: 1, faceId: 0, timestamp: 0, confidence: 1, success: true, landmarks: null, box: null, probabilities: p! }];
      } else {
        const image = await decodeImage(file);
        const [faces] = await predictFaces(model, image, detect);
        if (!faces!.length) throw new Error(`${file}: no face found (for aligned face crops use --aligned)`);
        if (overlay) await writeOverlay(image, faces!, geometry, overlay.imageFile(file), threshold);
        rows = faces!.map((f, i) => ({ file, frame: 1, faceId: i, timestamp: 0, confidence: f.score, success: true, landmarks: f.landmarks49, box: f.box, probabilities: f.probabilities }));
      }
    } catch (e) {
      if (!onBadInput || e instanceof RangeError || e instanceof TypeError) throw e;
      summary.bad++;
      onBadInput(file, (e as Error).message);
      continue;
    }
    for (const row of rows) await write(line(row));
    summary.faces += rows.length;
  }
  return summary;
}

/**
 * Rows for every frame of a video, handed to `emit` frame by frame; returns the number of faces. The
 * detector runs every `detectEvery` frames, whenever no face is tracked and when tracking loses one; in
 * between, only the landmark net runs, in boxes placed around the previous frame's landmarks (follow.ts).
 * ffmpeg decodes the next frames meanwhile (video.ts). With `pictures`, each frame is also drawn (its
 * own file) and encoded into an annotated video.
 */
async function videoRows(model: AuModel, file: string, { detectEvery = DEFAULT_DETECT_EVERY, ...detect }: DetectOptions & { detectEvery?: number },
  emit: (row: FaceRow) => Promise<void>,
  pictures?: { frame: (index: number, image: RgbImage, faces: FacePrediction[]) => Promise<RgbImage>; video: string } | null): Promise<number> {
  const tracker = new FaceTracker();
  const follower = new FaceFollower({ ...detect, detectEvery });
  const info = probeVideo(file);
  const writer = pictures ? new VideoWriter(pictures.video, info) : null;
  let faces = 0;
  try {
    for await (const { index, timestamp, image } of videoFrames(file, info)) {
      const found = predictDetected(model, image, await follower.next(image));
      if (pictures) await writer!.write((await pictures.frame(index, image, found)).data);
      const ids = tracker.assign(found.map((f) => f.box));
      const frame = index + 1;
      if (found.length === 0) {
        await emit({ file, frame, faceId: 0, timestamp, confidence: 0, success: false, landmarks: null, box: null, probabilities: null });
        continue;
      }
      const order = found.map((_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
      for (const i of order) {
        const f = found[i]!;
        await emit({ file, frame, faceId: ids[i]!, timestamp, confidence: f.score, success: true, landmarks: f.landmarks49, box: f.box, probabilities: f.probabilities });
      }
      faces += found.length;
    }
    await writer?.close();
  } catch (e) {
    writer?.abort();
    throw e;
  }
  return faces;
}

/** Where overlay pictures go: one name per input image (numbered when names repeat), a folder per video. */
function overlayFiles(dir: string): {
  imageFile: (input: string) => string; frameFile: (video: string, index: number) => Promise<string>; videoFile: (video: string) => Promise<string>;
} {
  mkdirSync(dir, { recursive: true });
  const used = new Map<string, number>();
  const videos = new Map<string, string>();
  const unique = (input: string) => {
    const name = basename(input, extname(input));
    const n = (used.get(name) ?? 0) + 1;
    used.set(name, n);
    return n === 1 ? name : `${name}-${n}`;
  };
  return {
    imageFile: (input) => join(dir, `${unique(input)}.jpg`),
    frameFile: async (video, index) => join(await folderOf(video), `${String(index + 1).padStart(6, '0')}.jpg`),
    videoFile: async (video) => `${await folderOf(video)}.mp4`,
  };
  async function folderOf(video: string): Promise<string> {
    let folder = videos.get(video);
    if (!folder) {
      folder = join(dir, unique(video));
      videos.set(video, folder);
      await mkdir(folder, { recursive: true });
    }
    return folder;
  }
}
