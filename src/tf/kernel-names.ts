/**
 * The graph ops as tfjs kernels, declared once: name, inputs and attributes (as tfjs-core's
 * kernel_names.ts does). The op functions (ops.ts) dispatch them with tf.engine().runKernel; the kernels
 * live in kernels/graph-ops.ts and the gradients in gradients.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendName, KnnMetric } from '../types.js';

type Info = tf.TensorInfo;

/** The sacl-au op backend a kernel runs on ('' = the default one; see setDefaultBackend). */
export type OpsBackendAttr = BackendName | '';

/** Indices [B, N, k] (int32) of each row's k nearest candidates. No gradient. */
export const SaclKnnGraph = 'SaclKnnGraph';
export interface SaclKnnGraphInputs {
  /** [B, N, D] float32 */
  x: Info;
  /** [B, M, D] float32: search these rows instead of x */
  candidates?: Info;
}
export interface SaclKnnGraphAttrs {
  k: number;
  metric: KnnMetric;
  normalize: boolean;
  dilation: number;
  backend: OpsBackendAttr;
}

/** Outputs [out [B, N, C] float32, argmax [B, N, C] int32 (the winning slot)]. */
export const SaclMaxRelative = 'SaclMaxRelative';
export interface SaclMaxRelativeInputs {
  /** [B, N, C] float32 */
  x: Info;
  /** [B, N, K] int32: rows of the candidates (of x when there are none) */
  idx: Info;
  /** [B, M, C] float32 */
  candidates?: Info;
}
export interface SaclMaxRelativeAttrs {
  /** M, the rows of the candidates; 0 when the neighbours are x (the gradient needs it, not the kernel). */
  candidateRows: number;
  backend: OpsBackendAttr;
}

/** Outputs [dx [B, N, C]] or, with candidateRows > 0, [dx, dCandidates [B, M, C]]. */
export const SaclMaxRelativeGrad = 'SaclMaxRelativeGrad';
export interface SaclMaxRelativeGradInputs {
  /** [B, N, C] float32: the gradient of the forward output */
  dy: Info;
  idx: Info;
  /** [B, N, C] int32: the forward pass's argmax */
  argmax: Info;
}
export type SaclMaxRelativeGradAttrs = SaclMaxRelativeAttrs;

/** Output [B, R, size, size, C] float32: bilinear crops around the centres. */
export const SaclRoiAlign = 'SaclRoiAlign';
export interface SaclRoiAlignInputs {
  /** [B, H, W, C] float32 */
  features: Info;
  /** [B, R, 2] float32, (x, y) in feature-map pixels */
  centers: Info;
}
export interface SaclRoiAlignAttrs {
  size: number;
  step: number;
  backend: OpsBackendAttr;
}

/** Output dFeatures [B, H, W, C] float32. */
export const SaclRoiAlignGrad = 'SaclRoiAlignGrad';
export interface SaclRoiAlignGradInputs {
  /** [B, R, S, S, C] float32 */
  dy: Info;
  centers: Info;
}
export interface SaclRoiAlignGradAttrs {
  /** [B, H, W, C] of the forward pass's features */
  featureShape: number[];
  step: number;
  backend: OpsBackendAttr;
}

/** Every graph kernel, for registration. */
export const GRAPH_KERNELS = [SaclKnnGraph, SaclMaxRelative, SaclMaxRelativeGrad, SaclRoiAlign, SaclRoiAlignGrad] as const;

/**
 * The optimizer's read-back (src/train/optimizer.ts): inputs g0 … g(n−1), the gradients (float32, any
 * shapes); output [1 + n] float32: Σ of every g² (accumulated in double), then max |g| of each (NaN if it
 * holds one). No gradient.
 */
export const SaclSgdStats = 'SaclSgdStats';
export type SaclSgdStatsInputs = Record<`g${number}`, Info>;

/**
 * One Nesterov SGD step (PyTorch's SGD(nesterov=True) after gradient clipping) of n parameters: inputs
 * w<i>, g<i> and buf<i>, the momentum buffer, absent on the parameter's first step (buf = d then); outputs
 * [w0', buf0', w1', buf1', …], float32, the inputs' shapes. No gradient.
 */
export const SaclSgdUpdate = 'SaclSgdUpdate';
export type SaclSgdUpdateInputs = Record<`w${number}` | `g${number}`, Info> & Partial<Record<`buf${number}`, Info>>;
export interface SaclSgdUpdateAttrs {
  /** n, the parameters */
  count: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** the clipping factor on the gradients (1: none) */
  scale: number;
}

/** The optimizer kernels, for registration (on 'cpu' and 'wasm' with the addon). */
export const SGD_KERNELS = [SaclSgdStats, SaclSgdUpdate] as const;

/**
 * LayerNorm over the last axis (PyTorch's nn.LayerNorm, biased variance). Outputs [y (x's shape), mean,
 * rstd (x's shape without the last axis)] float32, rstd = 1 / sqrt(var + eps). SaclLayerNorm scales and
 * shifts by γ and β; SaclLayerNormNoAffine does not (a kernel of its own: a gradient saves fixed inputs).
 */
export const SaclLayerNorm = 'SaclLayerNorm';
export interface SaclLayerNormInputs {
  /** [..., n] float32 */
  x: Info;
  /** [n] float32 */
  gamma: Info;
  /** [n] float32 */
  beta: Info;
}
export interface SaclLayerNormAttrs {
  eps: number;
}
export const SaclLayerNormNoAffine = 'SaclLayerNormNoAffine';
export interface SaclLayerNormNoAffineInputs {
  x: Info;
}
export type SaclLayerNormNoAffineAttrs = SaclLayerNormAttrs;

/** Outputs [dx] or, with gamma, [dx, dgamma, dbeta]; mean and rstd are the forward pass's outputs. */
export const SaclLayerNormGrad = 'SaclLayerNormGrad';
export interface SaclLayerNormGradInputs {
  /** [..., n] float32: the gradient of y */
  dy: Info;
  x: Info;
  mean: Info;
  rstd: Info;
  gamma?: Info;
}

/** The LayerNorm kernels, for registration. */
export const LAYER_NORM_KERNELS = [SaclLayerNorm, SaclLayerNormNoAffine, SaclLayerNormGrad] as const;

/** Output y = x·Φ(x) (GELU, erf form; Φ the standard normal CDF), float32, any shape. */
export const SaclGelu = 'SaclGelu';
export interface SaclGeluInputs {
  x: Info;
}

/** Output y = u·Φ(u) for u = x + bias: a Linear layer's bias add fused into its GELU. */
export const SaclBiasGelu = 'SaclBiasGelu';
export interface SaclBiasGeluInputs {
  /** [..., C] float32 */
  x: Info;
  /** [C] */
  bias: Info;
}

/**
 * Output dx = dy·(Φ(u) + u·φ(u)) (φ the standard normal density), u = x, or x + bias for SaclBiasGelu's
 * gradient (whose bias gradient is dx summed over every axis but the last).
 */
export const SaclGeluGrad = 'SaclGeluGrad';
export interface SaclGeluGradInputs {
  dy: Info;
  /** the forward inputs */
  x: Info;
  bias?: Info;
}

/**
 * BatchNorm in training mode, channels last: statistics over every axis but the last. Outputs [y (x's
 * shape), mean [C], variance [C] (biased)]; y = (x − mean)/√(variance + eps)·gamma + beta, then ReLU with relu.
 */
export const SaclBatchNorm = 'SaclBatchNorm';
export interface SaclBatchNormInputs {
  /** [..., C] float32 */
  x: Info;
  /** [C] */
  gamma: Info;
  /** [C] */
  beta: Info;
}
export interface SaclBatchNormAttrs {
  eps: number;
  relu: boolean;
}

/** Outputs [dx, dGamma [C], dBeta [C]]: the three forward outputs' gradients pulled back. */
export const SaclBatchNormGrad = 'SaclBatchNormGrad';
export interface SaclBatchNormGradInputs {
  /** the gradients of the forward outputs y, mean, variance */
  dy: Info;
  dMean: Info;
  dVariance: Info;
  /** the forward input and output (y is read with relu only: its mask y > 0) */
  x: Info;
  y: Info;
  gamma: Info;
  /** the forward statistics */
  mean: Info;
  variance: Info;
}
export type SaclBatchNormGradAttrs = SaclBatchNormAttrs;
