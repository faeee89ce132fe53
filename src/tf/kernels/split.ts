/**
 * SplitV (what tf.split runs, and the gradient of every concat: MSFL's channel concat, the token concat)
 * as block copies: the tensor is `outer` runs of the split axis, and each output takes its slice of every
 * run with one TypedArray.set. tfjs' cpu and wasm kernels slice element by element (measured 30 ms for
 * one 16×28×28×240 split on wasm). float32 and int32; other dtypes go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';

const prod = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export function splitVByBlocks(fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { inputs, backend, attrs } = params;
    const { x } = inputs as { x: Info };
    const { numOrSizeSplits, axis } = attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (x.dtype !== 'float32') return fallback(params);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const outer = prod(x.shape.slice(0, ax));
    const inner = prod(x.shape.slice(ax + 1));
    const run = x.shape[ax]! * inner;
    // every output first: on wasm, allocating may grow the heap and detach views taken earlier
    const outs = sizes.map((s) => hostOutput(backend, [...x.shape.slice(0, ax), s, ...x.shape.slice(ax + 1)], false).info);
    const src = hostInput(backend, x);
    let offset = 0;
    sizes.forEach((s, k) => {
      const dst = hostInput(backend, outs[k]!);
      const len = s * inner;
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * run + offset, o * run + offset + len), o * len);
      offset += len;
    });
    return outs;
  };
}
