/**
 * What a backend implements: one entry per kernel, on validated, flattened arguments.
 * Ops (src/ops) validate and allocate outputs; backends only compute.
 */
import type { BackendName, KnnMetric } from '../types.js';

export interface KnnGraphArgs {
  x: Float32Array;
  /** Candidate rows, or null when the candidates are x itself. */
  y: Float32Array | null;
  B: number;
  N: number;
  M: number;
  D: number;
  k: number;
  dilation: number;
  metric: KnnMetric;
  normalize: boolean;
}

export interface MaxRelativeArgs {
  x: Float32Array;
  /** Neighbour rows, or null when idx points into x. */
  y: Float32Array | null;
  idx: Int32Array;
  B: number;
  N: number;
  M: number;
  C: number;
  K: number;
}

export interface MaxRelativeGradArgs {
  dOut: Float32Array;
  idx: Int32Array;
  argmax: Int32Array;
  B: number;
  N: number;
  M: number;
  C: number;
  K: number;
}

export interface RoiAlignGeometry {
  B: number;
  H: number;
  W: number;
  C: number;
  /** [B, R, 2] (x, y) in feature-map pixels. */
  centers: Float32Array;
  R: number;
  S: number;
  step: number;
}

export interface RoiAlignArgs extends RoiAlignGeometry {
  features: Float32Array;
}

export interface RoiAlignGradArgs extends RoiAlignGeometry {
  dOut: Float32Array;
}

/** Every kernel runs synchronously (async = false) or off the event loop (async = true → Promise). */
export interface OpsBackend {
  readonly name: BackendName;
  /** The backend refuses non-finite inputs itself, with the same messages (so the op layer skips its scan). */
  readonly checksFinite: boolean;
  /** The backend refuses out-of-range indices (idx, argmax) itself, with the same messages. */
  readonly checksIndices: boolean;
  knnGraph(a: KnnGraphArgs, out: Int32Array, async: boolean): void | Promise<void>;
  maxRelative(a: MaxRelativeArgs, out: Float32Array, argmax: Int32Array, async: boolean): void | Promise<void>;
  /** dy null: the neighbours are x itself, so their gradient lands in dx. */
  maxRelativeGrad(a: MaxRelativeGradArgs, dx: Float32Array, dy: Float32Array | null, async: boolean): void | Promise<void>;
  roiAlign(a: RoiAlignArgs, out: Float32Array, async: boolean): void | Promise<void>;
  roiAlignGrad(a: RoiAlignGradArgs, dFeatures: Float32Array, async: boolean): void | Promise<void>;
}
