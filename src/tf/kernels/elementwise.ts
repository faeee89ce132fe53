/**
 * Element-wise tfjs kernels on the native addon (native/cpu/elementwise.cc): the unary math kernels and
 * the broadcasting binary arithmetic, float32 in and out, multi-threaded, written into the backend's own
 * memory. Other dtypes go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';

/** tfjs kernel name → the addon's UnaryOp code (native/include/sacl/elementwise.h; order is the contract). */
export const UNARY_OPS: Readonly<Record<string, number>> = {
  [tf.Neg]: 0, [tf.Abs]: 1, [tf.Square]: 2, [tf.Sqrt]: 3, [tf.Rsqrt]: 4, [tf.Exp]: 5, [tf.Log]: 6, [tf.Log1p]: 7,
  [tf.Sigmoid]: 8, [tf.Relu]: 9, [tf.Erf]: 10, [tf.Tanh]: 11, [tf.Reciprocal]: 12,
};

/** tfjs kernel name → the addon's BinaryOp code. */
export const BINARY_OPS: Readonly<Record<string, number>> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.Maximum]: 4, [tf.Minimum]: 5, [tf.SquaredDifference]: 6,
};

const MAX_RANK = 8; // kMaxBroadcastRank
/** Shapes the native kernels take: float32, no empty axis, rank ≤ 8. */
const covered = (t: Info) => t.dtype === 'float32' && t.shape.length <= MAX_RANK && !t.shape.includes(0);

export function nativeUnary(addon: NativeAddon, op: number, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    if (!covered(x)) return fallback(params);
    const { info, data } = hostOutput(params.backend, x.shape.slice(), false); // every element is written
    addon.unary({ op, x: hostInput(params.backend, x), y: data });
    return info;
  };
}

export function nativeBinary(addon: NativeAddon, op: number, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { a, b } = params.inputs as { a: Info; b: Info };
    if (!covered(a) || !covered(b)) return fallback(params);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const { info, data } = hostOutput(params.backend, shape, false);
    addon.binary({ op, a: hostInput(params.backend, a), aShape: a.shape, b: hostInput(params.backend, b), bShape: b.shape, out: data, outShape: shape });
    return info;
  };
}
