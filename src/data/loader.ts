/**
 * Streaming batches for training and evaluation: images decoded and resized with sharp (off the main
 * thread, a few batches ahead), the augmentation of the paper's §4.1.2 (docs/training.md) scaled to the input size, ImageNet
 * normalization. Aligned faces are first resized to A = round(input · 256/224) (256 for 224), then:
 *   train: random input×input crop (offsets 0…A−input), horizontal flip with the landmark permutation,
 *          brightness and contrast jitter (factors in [0.6, 1.4]) on the crop, in a random order per
 *          sample, as torchvision's ColorJitter(brightness=0.4, contrast=0.4); test: the centre crop.
 * The landmarks follow every geometric step. Randomness comes from (seed, epoch, position), so a batch's
 * content never depends on timing, and a resumed run sees exactly the batches it would have seen.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { FLIP_PERMUTATION, NUM_LANDMARKS, alignedSize, interOcular } from '../face/landmarks.js';
import { Random } from '../util/random.js';
import { UNKNOWN, type AuSample } from './dataset.js';

/** ImageNet normalization of the model input: (v / 255 − MEAN) / STD per RGB channel. */
export const MEAN = [0.485, 0.456, 0.406];
export const STD = [0.229, 0.224, 0.225];

export interface LoaderOptions {
  inputSize: number;
  batchSize: number;
  augment: boolean;
  /** Shuffle the order (from seed and epoch); evaluation keeps the given order. */
  shuffle: boolean;
  seed: number;
  epoch: number;
  /** Batches decoded ahead of the one being used (default 2). */
  prefetch?: number;
  /** Start at this batch of the epoch (a run resumed mid-epoch); the batches are those of a whole pass. Default 0. */
  startBatch?: number;
  /**
   * When an image cannot be read: false (default) stops with an error naming the file; a function is
   * told the file and the sample stays in its batch as a grey image with every label and its landmarks
   * masked, so it adds nothing to losses or metrics and the batch layout (hence determinism) is kept.
   */
  onBadImage?: (file: string, reason: string) => void;
  /** Decoded faces kept between passes (a training run's epochs); the batches are the same with or without it. */
  cache?: DecodeCache;
}

export interface Batch {
  size: number;
  samples: AuSample[];
  /** [B, S, S, 3], normalized. */
  images: Float32Array;
  /** [B, 49, 2] in input pixels (zeros where unknown). */
  landmarks: Float32Array;
  /** [B]: 1 where the sample has landmarks. */
  hasLandmarks: Float32Array;
  /** [B]: ground-truth inter-ocular distance in input pixels (1 where unknown). */
  interOcular: Float32Array;
  /** [B, C] labels as 0/1, and the mask of known ones. */
  labels: Float32Array;
  mask: Float32Array;
}

export { alignedSize };

/** A face decoded and resized to A×A (RGB bytes), with its original size. */
export interface DecodedFace {
  rgb: Buffer;
  width: number;
  height: number;
}

/** Decodes one face resized to A×A (RGB bytes) and its original size. Errors name the file. */
async function decode(path: string, side: number): Promise<DecodedFace> {
  try {
    const image = sharp(path);
    const meta = await image.metadata();
    const rgb = await image.removeAlpha().resize(side, side, { fit: 'fill' }).raw().toBuffer();
    return { rgb, width: meta.width ?? side, height: meta.height ?? side };
  } catch (e) {
    throw new Error(`${path}: cannot read the image (${(e as Error).message})`);
  }
}

/**
 * Decoded faces kept across epochs, up to a byte budget: a training run over a small set (the demo's
 * 960 faces at 128 px are 47 MB) decodes each file once instead of once per epoch. Faces past the budget
 * are decoded every time (with a shuffled order, evicting would only trade one miss for another). The
 * cached bytes are never written to, and a file changed on disk during the run is not seen again.
 */
export class DecodeCache {
  private readonly faces = new Map<string, DecodedFace>();
  private used = 0;

  constructor(readonly budgetBytes: number) {
    if (!(Number.isFinite(budgetBytes) && budgetBytes >= 0)) {
      throw new RangeError(`Expected a finite non-negative number of bytes for budgetBytes but received ${budgetBytes}`);
    }
  }

  /** Faces held. */
  get size(): number {
    return this.faces.size;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.used;
  }

  async decode(path: string, side: number): Promise<DecodedFace> {
    const key = `${side}:${path}`;
    const held = this.faces.get(key);
    if (held) return held;
    const face = await decode(path, side);
    if (!this.faces.has(key) && this.used + face.rgb.length <= this.budgetBytes) {
      this.faces.set(key, face);
      this.used += face.rgb.length;
    }
    return face;
  }
}

/** One sample's random augmentation (identity at test time). */
export interface Augmentation {
  /** Crop offsets in the aligned face. */
  ox: number;
  oy: number;
  flip: boolean;
  /** Jitter factors; 1 = unchanged. */
  brightness: number;
  contrast: number;
  /** The order of the two jitters, drawn per sample like torchvision's random permutation. */
  brightnessFirst: boolean;
}

/**
 * Draws a sample's augmentation for crops with offsets 0…range; without a generator, the centre crop and
 * no jitter. The draws come in a fixed order, so (seed, epoch, position) fixes the result.
 */
export function drawAugmentation(rng: Random | null, range: number): Augmentation {
  if (!rng) return { ox: Math.floor(range / 2), oy: Math.floor(range / 2), flip: false, brightness: 1, contrast: 1, brightnessFirst: true };
  const ox = rng.int(0, range);
  const oy = rng.int(0, range);
  const flip = rng.next() < 0.5;
  const brightness = rng.uniform(0.6, 1.4);
  const contrast = rng.uniform(0.6, 1.4);
  const brightnessFirst = rng.next() < 0.5;
  return { ox, oy, flip, brightness, contrast, brightnessFirst };
}

// torchvision's per-value steps on [0, 255]: brightness v·b, contrast (v − m)·c + m around the grey level m
const clamp255 = (v: number) => Math.max(0, Math.min(255, v));
const brighten = (v: number, b: number) => clamp255(v * b);
const contrastAround = (v: number, grey: number, c: number) => clamp255((v - grey) * c + grey);
/** torchvision's grey level of one RGB pixel. */
const greyOf = (r: number, g: number, b: number) => 0.2989 * r + 0.587 * g + 0.114 * b;

/**
 * Brightness and contrast jitter of RGB values in [0, 255] (pixel-interleaved), in place, with
 * torchvision's float semantics: brightness v·b; contrast (v − m)·c + m with m the mean grey level
 * (0.2989 R + 0.587 G + 0.114 B, torchvision's weights) of the image as it is at that point; each clamped to [0, 255].
 */
export function colorJitter(rgb: Float32Array, { brightness, contrast, brightnessFirst }: Pick<Augmentation, 'brightness' | 'contrast' | 'brightnessFirst'>): void {
  const n = rgb.length / 3;
  const bright = () => {
    if (brightness !== 1) for (let i = 0; i < rgb.length; i++) rgb[i] = brighten(rgb[i]!, brightness);
  };
  const contrasted = () => {
    if (contrast === 1) return;
    let grey = 0;
    for (let i = 0; i < n; i++) grey += greyOf(rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!);
    grey /= n;
    for (let i = 0; i < rgb.length; i++) rgb[i] = contrastAround(rgb[i]!, grey, contrast);
  };
  if (brightnessFirst) { bright(); contrasted(); } else { contrasted(); bright(); }
}

/** Per-sample value tables (one 256-entry row per channel), reused: place() is synchronous. */
const firstTable = new Float32Array(256);
const finalTable = new Float32Array(3 * 256);

/**
 * Crop, flip, jitter and normalize one decoded face into the batch at `slot`. Each output value is a
 * function of its source byte and channel only, given the sample's factors and its crop's grey level, so
 * the chain (brightness, contrast, brightness, normalization, each intermediate rounded to float32 as
 * colorJitter's array rounds it) is evaluated once per byte value into a table: the same bits as crop →
 * colorJitter → normalize, in one pass over the crop (two with contrast: its grey level first).
 */
function place(batch: Batch, slot: number, sample: AuSample, decoded: DecodedFace,
  side: number, size: number, rng: Random | null): void {
  const { ox, oy, flip, brightness, contrast, brightnessFirst } = drawAugmentation(rng, side - size);
  const { rgb } = decoded;
  const out = batch.images;
  const base = slot * size * size * 3;
  for (let u = 0; u < 256; u++) firstTable[u] = brightnessFirst && brightness !== 1 ? brighten(u, brightness) : u;
  let grey = 0;
  if (contrast !== 1) {
    // summed in the crop's pixel order (a flip reverses each row), as colorJitter sums it
    for (let y = 0; y < size; y++) {
      const row = (oy + y) * side + ox;
      for (let x = 0; x < size; x++) {
        const src = 3 * (row + (flip ? size - 1 - x : x));
        grey += greyOf(firstTable[rgb[src]!]!, firstTable[rgb[src + 1]!]!, firstTable[rgb[src + 2]!]!);
      }
    }
    grey /= size * size; // the crop's own mean, as torchvision sees the cropped image
  }
  for (let c = 0; c < 3; c++) {
    for (let u = 0; u < 256; u++) {
      let v = firstTable[u]!;
      if (contrast !== 1) v = Math.fround(contrastAround(v, grey, contrast));
      if (!brightnessFirst && brightness !== 1) v = Math.fround(brighten(v, brightness));
      finalTable[256 * c + u] = (v / 255 - MEAN[c]!) / STD[c]!;
    }
  }
  for (let y = 0; y < size; y++) {
    const row = (oy + y) * side + ox;
    let dst = base + 3 * y * size;
    for (let x = 0; x < size; x++, dst += 3) {
      const src = 3 * (row + (flip ? size - 1 - x : x));
      out[dst] = finalTable[rgb[src]!]!;
      out[dst + 1] = finalTable[256 + rgb[src + 1]!]!;
      out[dst + 2] = finalTable[512 + rgb[src + 2]!]!;
    }
  }
  const lm = sample.landmarks;
  if (lm) {
    const sx = side / decoded.width;
    const sy = side / decoded.height;
    const moved = batch.landmarks.subarray(slot * NUM_LANDMARKS * 2, (slot + 1) * NUM_LANDMARKS * 2);
    for (let i = 0; i < NUM_LANDMARKS; i++) {
      const j = flip ? FLIP_PERMUTATION[i]! : i;
      const x = lm[2 * j]! * sx - ox;
      moved[2 * i] = flip ? size - 1 - x : x;
      moved[2 * i + 1] = lm[2 * j + 1]! * sy - oy;
    }
    batch.hasLandmarks[slot] = 1;
    batch.interOcular[slot] = Math.max(1e-3, interOcular(moved));
  } else {
    batch.interOcular[slot] = 1;
  }
  const C = sample.labels.length;
  for (let a = 0; a < C; a++) {
    const v = sample.labels[a];
    batch.labels[slot * C + a] = v === 1 ? 1 : 0;
    batch.mask[slot * C + a] = v === UNKNOWN ? 0 : 1;
  }
}

async function loadBatch(samples: AuSample[], first: number, opts: LoaderOptions): Promise<Batch> {
  const size = opts.inputSize;
  const side = alignedSize(size);
  const chosen = samples.slice(first, first + opts.batchSize);
  const C = chosen[0]!.labels.length;
  const B = chosen.length;
  const batch: Batch = {
    size: B, samples: chosen, images: new Float32Array(B * size * size * 3), landmarks: new Float32Array(B * NUM_LANDMARKS * 2),
    hasLandmarks: new Float32Array(B), interOcular: new Float32Array(B), labels: new Float32Array(B * C), mask: new Float32Array(B * C),
  };
  const decoded = await Promise.all(chosen.map((s) => (opts.cache ? opts.cache.decode(s.imagePath, side) : decode(s.imagePath, side)).catch((e: Error) => {
    if (!opts.onBadImage) throw e;
    opts.onBadImage(s.imagePath, e.message);
    return null;
  })));
  chosen.forEach((s, i) => {
    const rng = opts.augment ? new Random(opts.seed, `augment:${opts.epoch}:${first + i}`) : null;
    const image = decoded[i];
    if (image) place(batch, i, s, image, side, size, rng);
    else {
      // grey, masked: the slot contributes nothing (labels and landmarks stay 0 and masked out)
      place(batch, i, { ...s, landmarks: null, labels: new Int8Array(s.labels.length).fill(UNKNOWN) },
        { rgb: Buffer.alloc(side * side * 3, 128), width: side, height: side }, side, size, null);
    }
  });
  return batch;
}

/**
 * Images [start, start + n) of a batch as tensors (the caller disposes them): images [n, S, S, 3] with
 * S = `inputSize`, labels and mask [n, C], landmarks [n, 49, 2], interOcular and hasLandmarks [n].
 */
export function batchTensors(batch: Pick<Batch, 'size' | 'images' | 'labels' | 'mask' | 'landmarks' | 'interOcular' | 'hasLandmarks'>,
  inputSize: number, start = 0, n = batch.size) {
  if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 1 || start + n > batch.size) {
    throw new RangeError(`Expected images [start, start + n) within the batch of ${batch.size} for start, n but received ${start}, ${n}`);
  }
  const C = batch.labels.length / batch.size;
  const rows = (a: Float32Array, width: number) => a.subarray(start * width, (start + n) * width);
  return {
    images: tf.tensor4d(rows(batch.images, inputSize * inputSize * 3), [n, inputSize, inputSize, 3]),
    labels: tf.tensor2d(rows(batch.labels, C), [n, C]),
    mask: tf.tensor2d(rows(batch.mask, C), [n, C]),
    landmarks: tf.tensor3d(rows(batch.landmarks, NUM_LANDMARKS * 2), [n, NUM_LANDMARKS, 2]),
    interOcular: tf.tensor1d(rows(batch.interOcular, 1)),
    hasLandmarks: tf.tensor1d(rows(batch.hasLandmarks, 1)),
  };
}

/** The epoch's sample order: shuffled from (seed, epoch), or as given. */
export function epochOrder(samples: AuSample[], opts: Pick<LoaderOptions, 'shuffle' | 'seed' | 'epoch'>): AuSample[] {
  return opts.shuffle ? new Random(opts.seed, `order:${opts.epoch}`).shuffle(samples.slice()) : samples;
}

/** Batches of one pass over the samples, decoded `prefetch` batches ahead. */
export async function* batches(samples: AuSample[], opts: LoaderOptions): AsyncGenerator<Batch> {
  const first = opts.startBatch ?? 0;
  if (!Number.isInteger(first) || first < 0) throw new RangeError(`Expected a non-negative integer for startBatch but received ${JSON.stringify(opts.startBatch)}`);
  if (samples.length === 0) return;
  const order = epochOrder(samples, opts);
  const starts: number[] = [];
  for (let s = first * opts.batchSize; s < order.length; s += opts.batchSize) starts.push(s);
  const ahead = Math.max(1, opts.prefetch ?? 2);
  const queue: Promise<Batch>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < ahead && next < starts.length) {
      const p = loadBatch(order, starts[next++]!, opts);
      p.catch(() => {}); // surfaced when awaited below
      queue.push(p);
    }
  };
  fill();
  while (queue.length) {
    const batch = await queue.shift()!;
    fill();
    yield batch;
  }
}
