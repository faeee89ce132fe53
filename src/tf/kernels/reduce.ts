/**
 * Reduction tfjs kernels on the native addon (native/cpu/reduce.cc): Sum, Mean, Max, Min and Prod over any
 * set of axes without a transpose, Softmax over the last axis, ArgMax and ArgMin; float32 in, written into
 * the cpu backend's own memory, multi-threaded, the same bits for any thread count. Other dtypes and
 * shapes go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, hostOutputOverwritten, type Info, type KernelFunc } from './host.js';

/** tfjs kernel name → the addon's ReduceOp code (native/include/sacl/reduce.h; order is the contract). */
export const REDUCE_OPS: Readonly<Record<string, number>> = {
  [tf.Sum]: 0, [tf.Mean]: 1, [tf.Max]: 2, [tf.Min]: 3, [tf.Prod]: 4,
};

const MAX_RANK = 8; // kMaxReduceRank
/** Shapes the native kernels take: float32, no empty axis, rank ≤ 8. */
const covered = (t: Info) => t.dtype === 'float32' && t.shape.length <= MAX_RANK && !t.shape.includes(0);


/** Sum, Mean, Max (its axis attribute is `reductionIndices`), Min, Prod; attrs as tfjs-core declares them. */
export function nativeReduce(addon: NativeAddon, op: number, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const attrs = (params.attrs ?? {}) as { axis?: number | number[] | null; reductionIndices?: number | number[]; keepDims?: boolean };
    if (!covered(x)) return fallback(params);
    const axes = tf.util.parseAxisParam((attrs.axis ?? attrs.reductionIndices ?? null) as number | number[], x.shape);
    // tfjs counts a repeated axis twice in Mean's divisor: leave such calls to it
    if (new Set(axes).size !== axes.length) return fallback(params);
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = attrs.keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const { info, data } = hostOutput(params.backend, shape, false); // every element is written
    addon.reduce({ op, x: hostInput(params.backend, x), shape: x.shape, axes, out: data });
    return info;
  };
}

/** Softmax over the last axis (the only one tfjs-cpu supports; other dims reach its error). */
export function nativeSoftmax(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { logits } = params.inputs as { logits: Info };
    const { dim } = (params.attrs ?? {}) as { dim?: number };
    const rank = logits.shape.length;
    if (!covered(logits) || rank === 0 || (dim !== -1 && dim !== rank - 1)) return fallback(params);
    const n = logits.shape[rank - 1];
    const { info, data } = hostOutput(params.backend, logits.shape.slice(), false);
    addon.softmax({ x: hostInput(params.backend, logits), y: data, rows: data.length / n, n });
    return info;
  };
}

/** ArgMax / ArgMin over one axis, int32 out (cpu backend only: it adopts the Int32Array). */
export function nativeArgReduce(addon: NativeAddon, isMax: boolean, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { axis } = (params.attrs ?? {}) as { axis?: number | number[] };
    if (!covered(x) || x.shape.length === 0) return fallback(params);
    const axes = tf.util.parseAxisParam(axis ?? 0, x.shape);
    if (axes.length !== 1) return fallback(params);
    const a = axes[0];
    const size = (dims: number[]) => dims.reduce((p, d) => p * d, 1);
    const outer = size(x.shape.slice(0, a));
    const inner = size(x.shape.slice(a + 1));
    const { info, data: out } = hostOutputOverwritten(params.backend, x.shape.filter((_, i) => i !== a), 'int32'); // every element is written
    addon.argReduce({ isMax, x: hostInput(params.backend, x), outer, n: x.shape[a], inner, out: out as Int32Array });
    return info;
  };
}
