/**
 * Fused ops for the model's layers: each runs its kernel (kernel-names.ts) when the active tfjs backend
 * has it (registerFastKernels puts the native ones on 'cpu' and 'wasm') and otherwise computes the same
 * math with stock tfjs ops, so other backends (webgl, tfjs-node, no addon) keep working.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, formatShape, rangeError, typeError } from '../util/validate.js';
import { registerLayerNormGradients } from './gradients.js';
import { SaclLayerNorm, type SaclLayerNormAttrs, SaclLayerNormNoAffine } from './kernel-names.js';

// ---- LayerNorm ----

registerLayerNormGradients();

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
  if (!tf.getKernel(name, tf.getBackend())) return layerNormComposite(x, gamma, beta, eps);
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
