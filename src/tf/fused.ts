/**
/**
 * Fused ops of the model (LayerNorm, GELU, training-mode BatchNorm), each one tfjs kernel forward and one
 * backward (kernel-names.ts) where the active backend has them (registerFastKernels: 'cpu' and 'wasm' with
 * the native addon), else the same math as a composite of stock tfjs ops, so every other backend (webgl,
 * tfjs-node, no addon) keeps working. Gradients: gradients.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { checkBoolean, checkPositive, describe, formatShape, rangeError, typeError } from '../util/validate.js';
import { registerGeluBatchNormGradients, registerReductionGradients, registerLayerNormGradients } from './gradients.js';
import {
  SaclBatchNorm, type SaclBatchNormAttrs, SaclBiasGelu, SaclGelu, SaclLayerNorm, type SaclLayerNormAttrs, SaclLayerNormNoAffine,
} from './kernel-names.js';

registerLayerNormGradients();
registerGeluBatchNormGradients();
registerReductionGradients();

const hasKernel = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;

function checkFloat32(name: string, t: unknown): tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw typeError(name, 'a tf.Tensor (float32)', describe(t));
  if (t.dtype !== 'float32') throw typeError(`${name}.dtype`, '"float32"', JSON.stringify(t.dtype));
  return t;
}

/**
 * LayerNorm over the last axis as PyTorch's nn.LayerNorm: (x − mean)·rsqrt(var + eps)·γ + β with the
 * biased variance of each row; γ and β ([n], both or neither) scale and shift, without them the rows are
 * only normalized (an instance norm over any axes is this op on a reshape that makes them the last one).
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor | null = null, beta: tf.Tensor | null = null, eps = 1e-5): T {
  checkFloat32('x', x);
  const n = x.shape[x.rank - 1];
  if (n === undefined || n < 1) throw rangeError('x.shape', 'rank ≥ 1 with a last axis of size ≥ 1', formatShape(x.shape));
  if ((gamma === null) !== (beta === null)) {
    throw typeError(gamma === null ? 'gamma' : 'beta', `a tf.Tensor [${n}] (${gamma === null ? 'beta' : 'gamma'} is given)`, 'null');
  }
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t === null) continue;
    checkFloat32(name, t);
    if (t.rank !== 1 || t.shape[0] !== n) throw rangeError(`${name}.shape`, `[${n}] (x's last axis)`, formatShape(t.shape));
  }
  if (typeof eps !== 'number') throw typeError('eps', 'a positive number', describe(eps));
  if (!Number.isFinite(eps) || eps <= 0) throw rangeError('eps', 'a finite number > 0', describe(eps));
  const name = gamma ? SaclLayerNorm : SaclLayerNormNoAffine;
  if (!hasKernel(name)) return layerNormComposite(x, gamma, beta, eps);
  const inputs = (gamma ? { x, gamma, beta } : { x }) as unknown as tf.NamedTensorMap;
  const attrs: SaclLayerNormAttrs = { eps };
  const [y, mean, rstd] = tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
  // the gradient keeps its own references
  mean!.dispose();
  rstd!.dispose();
  return y as T;
}

/** The same math with stock tfjs ops (the path without the kernels; tests compare against it). */
export function layerNormComposite<T extends tf.Tensor>(x: T, gamma: tf.Tensor | null, beta: tf.Tensor | null, eps: number): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
    return (gamma && beta ? tf.add(tf.mul(normed, gamma), beta) : normed) as T;
  });
}

// ---- GELU and training-mode BatchNorm ----

/** A [C] float32 tensor for x's last axis. */
function checkChannels(name: string, t: unknown, x: tf.Tensor): tf.Tensor {
  checkFloat32(name, t);
  const C = x.shape[x.rank - 1];
  const { shape } = t as tf.Tensor;
  if (shape.length !== 1 || shape[0] !== C) throw rangeError(`${name}.shape`, `[${C}] (x's last axis)`, formatShape(shape));
  return t as tf.Tensor;
}

/**
 * GELU, exact form u·Φ(u) = u·(1 + erf(u/√2))/2 (PyTorch's default), of u = x, or u = x + bias for a bias
 * [C] along x's last axis (a Linear layer's bias, fused into the same kernel).
 */
export function gelu<T extends tf.Tensor>(x: T, bias?: tf.Tensor): T {
  checkFloat32('x', x);
  if (bias !== undefined) {
    if (x.rank < 1) throw rangeError('x.shape', 'rank ≥ 1 [..., C] with a bias', formatShape(x.shape));
    checkChannels('bias', bias, x);
  }
  if (x.size > 0) {
    if (bias === undefined && hasKernel(SaclGelu)) return tf.engine().runKernel(SaclGelu, { x }, {}) as T;
    if (bias !== undefined && hasKernel(SaclBiasGelu)) return tf.engine().runKernel(SaclBiasGelu, { x, bias }, {}) as T;
  }
  return geluComposite(x, bias);
}

/** The stock-op GELU (the fallback, and the reference in tests). */
export function geluComposite<T extends tf.Tensor>(x: T, bias?: tf.Tensor): T {
  return tf.tidy(() => {
    const u = bias === undefined ? x : tf.add(x, bias);
    return tf.mul(tf.mul(u, 0.5), tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2))));
  }) as T;
}

export interface BatchNormTrainingOptions {
  /** Added to the variance (default 1e-5, PyTorch's). */
  eps?: number;
  /** Apply ReLU to the output (default false). */
  relu?: boolean;
}

export interface BatchNormTrainingResult<T extends tf.Tensor> {
  y: T;
  /** [C] per-channel mean over every axis but the last */
  mean: tf.Tensor1D;
  /** [C] per-channel biased variance */
  variance: tf.Tensor1D;
}

/**
 * BatchNorm in training mode on channels-last x [..., C]: y = (x − mean)/√(variance + eps)·gamma + beta with
 * the batch's statistics (biased variance), then ReLU with options.relu. Gradients reach x, gamma and beta
 * through y and through the returned statistics.
 */
export function batchNormTraining<T extends tf.Tensor>(
  x: T, gamma: tf.Tensor, beta: tf.Tensor, options: BatchNormTrainingOptions = {},
): BatchNormTrainingResult<T> {
  checkFloat32('x', x);
  if (x.rank < 1 || x.size === 0) throw rangeError('x.shape', 'rank ≥ 1 [..., C] with no size 0', formatShape(x.shape));
  checkChannels('gamma', gamma, x);
  checkChannels('beta', beta, x);
  const attrs: SaclBatchNormAttrs = {
    eps: options.eps === undefined ? 1e-5 : checkPositive('options.eps', options.eps),
    relu: options.relu === undefined ? false : checkBoolean('options.relu', options.relu),
  };
  if (hasKernel(SaclBatchNorm)) {
    const [y, mean, variance] = tf.engine().runKernel(SaclBatchNorm, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { y: y as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return batchNormTrainingComposite(x, gamma, beta, attrs);
}

/** The stock-op BatchNorm in training mode (the fallback, and the reference in tests). */
export function batchNormTrainingComposite<T extends tf.Tensor>(
  x: T, gamma: tf.Tensor, beta: tf.Tensor, { eps, relu }: SaclBatchNormAttrs,
): BatchNormTrainingResult<T> {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
    // x·scale + shift with per-channel scale and shift: its gradient is broadcast products and sums,
    // where tf.batchNorm's gradient tiles every statistic to the input's full shape (slow on cpu/wasm).
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
    const y = tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale)));
    return { y: (relu ? tf.relu(y) : y) as T, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}
