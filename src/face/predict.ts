/**
 * Faces in ordinary pictures → AU probabilities: detect (detect.ts), map the 68 landmarks to our 49,
 * align the JAA-Net way (src/data/align.ts) at the size the model was trained on (alignedSize), take the
 * centre crop the evaluation takes (src/data/loader.ts), normalize, run the model.
 */
import * as tf from '@tensorflow/tfjs';
import { alignmentTransform, applyAffine, warpAffine, type Affine } from '../data/align.js';
import { MEAN, STD, alignedSize } from '../data/loader.js';
import type { AuModel } from '../model/model.js';
import { AU_SETS } from './au.js';
import { detectFaces, type DetectOptions, type DetectedFace } from './detect.js';
import type { RgbImage } from './image.js';
import { landmarks68To49 } from './landmarks68.js';
import { NUM_LANDMARKS } from './landmarks.js';
import { rangeError } from '../util/validate.js';

export interface AlignedFace {
  /** size × size RGB face; grey (128) where the source has no pixels. */
  image: RgbImage;
  /** Source pixels → aligned pixels. */
  transform: Affine;
  /** The 49 landmarks in aligned pixels. */
  landmarks: Float32Array;
}

/** Aligns one face of `image` from its 49 landmarks (image pixels): eyes level, JAA-Net's box, size × size. */
export function alignFace(image: RgbImage, landmarks49: ArrayLike<number>, size = 256): AlignedFace {
  if (landmarks49.length !== NUM_LANDMARKS * 2) throw rangeError('landmarks49 (alignFace)', `${NUM_LANDMARKS * 2} numbers (49 points)`, landmarks49.length);
  if (!(Number.isInteger(size) && size > 0)) throw rangeError('size (alignFace)', 'a positive integer', size);
  const transform = alignmentTransform(landmarks49, size);
  return {
    image: { data: warpAffine(image.data, image.width, image.height, transform, size), width: size, height: size },
    transform,
    landmarks: applyAffine(transform, landmarks49),
  };
}

/** The model's input for aligned faces of side alignedSize(inputSize): centre crops, normalized, [B, S, S, 3]. */
export function modelInput(faces: readonly RgbImage[], inputSize: number): Float32Array {
  const out = new Float32Array(faces.length * inputSize * inputSize * 3);
  faces.forEach((face, b) => {
    const off = Math.floor((face.width - inputSize) / 2);
    if (off < 0 || face.width !== face.height) throw rangeError(`faces[${b}] (modelInput)`, `a square face of side ≥ ${inputSize}`, `${face.width}×${face.height}`);
    for (let y = 0; y < inputSize; y++) {
      for (let x = 0; x < inputSize; x++) {
        const src = 3 * ((y + off) * face.width + x + off);
        const dst = 3 * ((b * inputSize + y) * inputSize + x);
        for (let c = 0; c < 3; c++) out[dst + c] = (face.data[src + c]! / 255 - MEAN[c]!) / STD[c]!;
      }
    }
  });
  return out;
}

/** AU probabilities of already aligned faces (side alignedSize(model.config.inputSize)), one array per face. */
export function predictAligned(model: AuModel, faces: readonly RgbImage[]): Float32Array[] {
  if (faces.length === 0) return [];
  const S = model.config.inputSize;
  const values = tf.tidy(() => model.predict(tf.tensor4d(modelInput(faces, S), [faces.length, S, S, 3])).probabilities.dataSync());
  return faces.map((_, i) => values.slice(i * model.numAus, (i + 1) * model.numAus) as Float32Array);
}

export interface FacePrediction extends DetectedFace {
  /** The model's 49 landmarks in image pixels (from landmarks68). */
  landmarks49: Float32Array;
  /** AU occurrence probabilities, in the order of `aus`. */
  probabilities: Float32Array;
  /** The AU numbers of the model's AU set. */
  aus: readonly number[];
  /** Image pixels → the aligned face the model's input was cropped from (side alignedSize(inputSize)). */
  transform: Affine;
}

/** Every face of every image with its AU probabilities; one list per image (empty when no face is found). */
export async function predictFaces(model: AuModel, images: RgbImage | readonly RgbImage[], options: DetectOptions = {}): Promise<FacePrediction[][]> {
  const list = Array.isArray(images) ? images as readonly RgbImage[] : [images as RgbImage];
  const out: FacePrediction[][] = [];
  for (const image of list) out.push(predictDetected(model, image, await detectFaces(image, options)));
  return out;
}

/** AU probabilities of faces already found in `image` (by detectFaces or landmarksInBoxes). */
export function predictDetected(model: AuModel, image: RgbImage, faces: readonly DetectedFace[]): FacePrediction[] {
  const side = alignedSize(model.config.inputSize);
  const aus = AU_SETS[model.config.auSet];
  const landmarks = faces.map((f) => landmarks68To49(f.landmarks68));
  const aligned = landmarks.map((l) => alignFace(image, l, side));
  const probabilities = predictAligned(model, aligned.map((a) => a.image));
  return faces.map((f, i) => ({ ...f, landmarks49: landmarks[i]!, probabilities: probabilities[i]!, aus, transform: aligned[i]!.transform }));
}
