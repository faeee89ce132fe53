/**
 * Face detection and 68-point landmarks with @vladmandic/face-api (MIT): SSD-MobileNet v1 or the tiny
 * YOLO-style detector, then the 68-point landmark net, all on the tfjs instance this library runs on
 * (face-api's node-wasm build requires '@tensorflow/tfjs', which resolves to the same module as ours, so
 * it uses whichever backend initTf chose). Weights are read from the package's model/ folder: no network.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initTf } from '../tf/engine.js';
import type { RgbImage } from './image.js';
import { NUM_LANDMARKS_68 } from './landmarks68.js';
import { checkOneOf, rangeError } from '../util/validate.js';

export const DETECTORS = ['ssd', 'tiny'] as const;
export type DetectorName = (typeof DETECTORS)[number];

export interface DetectOptions {
  /** 'ssd' (SSD-MobileNet v1, default: finds smaller and turned faces) or 'tiny' (about 5× faster). */
  detector?: DetectorName;
  /** Detections scoring below this are dropped (default 0.5). */
  minConfidence?: number;
  /** The tiny detector's input side, a multiple of 32 (default 416). */
  tinyInputSize?: number;
}

export interface DetectedFace {
  /** Box in image pixels. */
  box: { x: number; y: number; width: number; height: number };
  /** The detector's score in [0, 1]. */
  score: number;
  /** 68 iBUG landmarks in image pixels, flat [x0, y0, …]. */
  landmarks68: Float32Array;
}

/* The parts of face-api's API used here (its own .d.ts is written for the browser bundle). */
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: { x: number; y: number }[] };
}
interface FaceApiNet { isLoaded: boolean; loadFromDisk(dir: string): Promise<void> }
interface FaceApi {
  tf: { engine(): unknown };
  nets: {
    ssdMobilenetv1: FaceApiNet; tinyFaceDetector: FaceApiNet;
    faceLandmark68Net: FaceApiNet & { detectLandmarks(faces: tf.Tensor3D[]): Promise<{ positions: { x: number; y: number }[] }[]> };
  };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): { withFaceLandmarks(): Promise<FaceApiResult[]> };
}

const require = createRequire(import.meta.url);
let faceApi: Promise<FaceApi> | undefined;

/** The folder of face-api's bundled weights. */
export function faceApiModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

async function loadFaceApi(): Promise<FaceApi> {
  await initTf();
  const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  if (api.tf.engine() !== tf.engine()) throw new Error('@vladmandic/face-api loaded a tfjs other than sacl-au\'s (two @tensorflow/tfjs copies installed?)');
  return api;
}

/**
 * The picture as a float32 tensor: face-api casts to float32 anyway. (An int32 input once made both
 * detectors find nothing on 'cpu': the native Concat read the cast's shared Int32Array as float bits.)
 */
function pixels(image: RgbImage): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from(image.data), [image.height, image.width, 3], 'float32');
}

/** The pixels of a box inside the picture (integer corners), as a float32 [h, w, 3] tensor. */
function crop(image: RgbImage, { x, y, width, height }: DetectedFace['box']): tf.Tensor3D {
  const out = new Float32Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const from = 3 * ((y + r) * image.width + x);
    for (let k = 0; k < 3 * width; k++) out[3 * width * r + k] = image.data[from + k]!;
  }
  return tf.tensor3d(out, [height, width, 3], 'float32');
}

async function ready(detector: DetectorName, withDetector = true): Promise<FaceApi> {
  faceApi ??= loadFaceApi();
  const api = await faceApi;
  const dir = faceApiModelDir();
  const nets = [...(withDetector ? [detector === 'ssd' ? api.nets.ssdMobilenetv1 : api.nets.tinyFaceDetector] : []), api.nets.faceLandmark68Net];
  for (const net of nets) if (!net.isLoaded) await net.loadFromDisk(dir);
  return api;
}

/** Every face in `image`, left to right (by box), with its 68 landmarks. */
export async function detectFaces(image: RgbImage, { detector = 'ssd', minConfidence = 0.5, tinyInputSize = 416 }: DetectOptions = {}): Promise<DetectedFace[]> {
  checkOneOf('detector', detector, DETECTORS);
  if (!(minConfidence >= 0 && minConfidence <= 1)) throw rangeError('minConfidence', 'a number in [0, 1]', minConfidence);
  if (!(Number.isInteger(tinyInputSize) && tinyInputSize > 0 && tinyInputSize % 32 === 0)) {
    throw rangeError('tinyInputSize', 'a positive multiple of 32', tinyInputSize);
  }
  if (image.data.length !== image.width * image.height * 3) throw rangeError('image.data.length', `${image.width}×${image.height}×3 bytes`, image.data.length);
  const api = await ready(detector);
  const options = detector === 'ssd' ? new api.SsdMobilenetv1Options({ minConfidence })
    : new api.TinyFaceDetectorOptions({ inputSize: tinyInputSize, scoreThreshold: minConfidence });
  const input = pixels(image);
  let results: FaceApiResult[];
  try {
    results = await api.detectAllFaces(input, options).withFaceLandmarks();
  } finally {
    input.dispose();
  }
  return results.map((r) => {
    const { x, y, width, height } = r.detection.box;
    const landmarks68 = new Float32Array(NUM_LANDMARKS_68 * 2);
    r.landmarks.positions.forEach((p, i) => { landmarks68[2 * i] = p.x; landmarks68[2 * i + 1] = p.y; });
    return { box: { x, y, width, height }, score: r.detection.score, landmarks68 };
  }).sort((a, b) => a.box.x - b.box.x || a.box.y - b.box.y);
}

/**
 * The 68 landmarks of faces whose boxes are already known (e.g. carried over from the previous video
 * frame): only the landmark net runs. Boxes are clipped to the image; one left (almost) empty gives null.
 * `score` is passed through unchanged (the landmark net has none of its own).
 */
export async function landmarksInBoxes(image: RgbImage, boxes: readonly { box: DetectedFace['box']; score: number }[]): Promise<(DetectedFace | null)[]> {
  if (image.data.length !== image.width * image.height * 3) throw rangeError('image.data.length', `${image.width}×${image.height}×3 bytes`, image.data.length);
  const api = await ready('tiny', false);
  const clipped = boxes.map(({ box, score }) => {
    const x0 = Math.max(0, Math.floor(box.x));
    const y0 = Math.max(0, Math.floor(box.y));
    const x1 = Math.min(image.width - 1, Math.ceil(box.x + box.width));
    const y1 = Math.min(image.height - 1, Math.ceil(box.y + box.height));
    return { box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score };
  });
  const usable = clipped.flatMap((b, i) => (b.box.width >= 8 && b.box.height >= 8 ? [i] : []));
  const out: (DetectedFace | null)[] = boxes.map(() => null);
  if (usable.length === 0) return out;
  // each box's pixels copied straight into its own tensor: no tensor of the whole frame
  const crops = usable.map((i) => crop(image, clipped[i]!.box));
  try {
    // one batch for all faces: the net runs once per frame
    const found = await api.nets.faceLandmark68Net.detectLandmarks(crops);
    for (let c = 0; c < crops.length; c++) {
      const { box, score } = clipped[usable[c]!]!;
      const { positions } = found[c]!;
      const landmarks68 = new Float32Array(NUM_LANDMARKS_68 * 2);
      positions.forEach((p, k) => { landmarks68[2 * k] = p.x + box.x; landmarks68[2 * k + 1] = p.y + box.y; });
      out[usable[c]!] = { box, score, landmarks68 };
    }
    return out;
  } finally {
    tf.dispose(crops);
  }
}
