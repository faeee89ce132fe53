/** Public data types shared by every op and backend, and the closed option sets they draw from. */

/** Which implementation runs an op: the pure-TS oracle, the native C++ kernels, or the CUDA kernels (slowest first). */
export const BACKEND_NAMES = ['reference', 'cpu', 'cuda'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A dense float32 array in row-major, channels-last layout. */
export interface Float32Tensor {
  shape: readonly number[];
  data: Float32Array;
}

/** A dense int32 array in row-major layout (indices). */
export interface Int32Tensor {
  shape: readonly number[];
  data: Int32Array;
}

/** Distances {@link knnGraph} offers: squared L2, 1 − cosine similarity, L1. */
export const KNN_METRICS = ['euclidean', 'cosine', 'manhattan'] as const;
export type KnnMetric = (typeof KNN_METRICS)[number];

export interface BackendOption {
  /** Run on this backend instead of the default one (an unavailable backend throws). */
  backend?: BackendName;
}

export interface KnnGraphOptions extends BackendOption {
  /** Default 'euclidean' (squared L2). */
  metric?: KnnMetric;
  /** L2-normalize every row of x and of the candidates first. Default false. */
  normalize?: boolean;
  /** Take the k·dilation nearest and keep every dilation-th. Default 1. */
  dilation?: number;
  /** Search these [B, M, D] rows instead of x itself (bipartite graph). */
  candidates?: Float32Tensor;
  /** Write the result into this Int32 [B, N, k] array (reused memory) and return it. */
  into?: Int32Tensor;
}

export interface MaxRelativeOptions extends BackendOption {
  /** Neighbour features [B, M, C] that idx points into (default: x itself). */
  candidates?: Float32Tensor;
  /** Write the result into these arrays (out Float32, argmax Int32, both [B, N, C]) and return them. */
  into?: MaxRelativeResult;
}

export interface MaxRelativeGradOptions extends BackendOption {
  /** The neighbour features of the forward call, when it had them: the result is then { dx, dy }. */
  candidates?: Float32Tensor;
  /** Write the gradients into these arrays (dy required with candidates) and return them. */
  into?: { dx: Float32Tensor; dy?: Float32Tensor };
}

export interface MaxRelativeResult {
  /** [B, N, C]: max over the K neighbours of y_j − x_i. */
  out: Float32Tensor;
  /** [B, N, C]: the neighbour slot (0…K−1) that won; ties go to the lowest slot. */
  argmax: Int32Tensor;
}

export interface MaxRelativeGradResult {
  /** Gradient with respect to x, [B, N, C]. */
  dx: Float32Tensor;
  /** Gradient with respect to the candidates, [B, M, C]. */
  dy: Float32Tensor;
}

export interface RoiAlignOptions extends BackendOption {
  /** Distance between neighbouring samples, in feature-map pixels. Default 1. */
  step?: number;
  /** Write the result (crops, or for the gradient dFeatures) into this array and return it. */
  into?: Float32Tensor;
}

/** One line of the {@link backends} report. */
export interface BackendInfo {
  name: BackendName;
  /** Built into this installation (always true for 'reference'). */
  compiled: boolean;
  /** Usable now. */
  available: boolean;
  /** Why it is not available, and what to do about it. */
  reason?: string;
  /** Worker threads the backend uses (native CPU). */
  threads?: number;
  /** CUDA devices seen (CUDA). */
  devices?: number;
  /** Instruction set the CPU kernels dispatched to (native CPU). */
  isa?: string;
  /**
   * The process-wide malloc tuning the addon applied when it loaded (native CPU; docs/ops.md, "Output
   * memory"), e.g. "glibc mmap threshold 32 MiB, trim threshold 64 MiB" or "off (SACL_MALLOC_TUNING=0)".
   */
  malloc?: string;
}
