/**
 * The depthwise convolution gradients (input and filter), which the wasm backend lacks: direct loops over
 * the taps the forward pass read, channels innermost.
 */
import * as tf from '@tensorflow/tfjs';
import { hostOutput, type Info, type KernelFunc, type WasmBackendLike } from './host.js';
import { forEachTap } from './taps.js';

interface DepthwiseAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function depthwiseInfo(xShape: number[], filterShape: number[], a: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
}

/**
 * One depthwise gradient: `tap(x, w, g, xo, wo, dyo, C, M)` handles one (output cell, tap) visit on the
 * output array of the given shape. Inputs are read (copied) before the output is allocated.
 */
function depthwiseGradient(
  read: (inputs: Record<string, Info>, a: DepthwiseAttrs & { inputShape?: number[]; filterShape?: number[] }) =>
    { xShape: number[]; filterShape: number[]; outShape: number[]; arrays: [Info, Info] },
  tap: (out: Float32Array, u: ArrayLike<number>, v: ArrayLike<number>, xo: number, wo: number, dyo: number, C: number, M: number) => void,
): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as DepthwiseAttrs;
    const { xShape, filterShape, outShape, arrays } = read(inputs, a);
    const info = depthwiseInfo(xShape, filterShape, a);
    const b = backend as WasmBackendLike;
    const u = b.readSync(arrays[0].dataId);
    const v = b.readSync(arrays[1].dataId);
    const { info: out, data } = hostOutput(backend, outShape);
    const C = info.inChannels;
    const M = info.outChannels / C;
    forEachTap(info, (xo, dyo, t) => tap(data, u, v, xo, t * info.outChannels, dyo, C, M));
    return out;
  };
}

/** dx[b, ih, iw, c] = Σ w[kh, kw, c, m] · dy[b, oh, ow, c·M + m] over the taps that read (ih, iw). */
export function depthwiseBackpropInput(): KernelFunc {
  return depthwiseGradient(
    ({ dy, filter }, a) => ({ xShape: a.inputShape!, filterShape: filter!.shape, outShape: a.inputShape!, arrays: [filter!, dy!] }),
    (dx, w, g, xo, wo, dyo, C, M) => {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let m = 0; m < M; m++) sum += w[wo + c * M + m]! * g[dyo + c * M + m]!;
        dx[xo + c]! += sum;
      }
    },
  );
}

/** dw[kh, kw, c, m] = Σ x[b, ih, iw, c] · dy[b, oh, ow, c·M + m] over batch and output cells. */
export function depthwiseBackpropFilter(): KernelFunc {
  return depthwiseGradient(
    ({ x, dy }, a) => ({ xShape: x!.shape, filterShape: a.filterShape!, outShape: a.filterShape!, arrays: [x!, dy!] }),
    (dw, x, g, xo, wo, dyo, C, M) => {
      for (let c = 0; c < C; c++) {
        const v = x[xo + c]!;
        for (let m = 0; m < M; m++) dw[wo + c * M + m]! += v * g[dyo + c * M + m]!;
      }
    },
  );
}
