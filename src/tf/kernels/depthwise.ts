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

/** dx[b, ih, iw, c] = Σ w[kh, kw, c, m] · dy[b, oh, ow, c·M + m] over the taps that read (ih, iw). */
export function depthwiseBackpropInput(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: Info; filter: Info };
    const a = attrs as unknown as DepthwiseAttrs & { inputShape: number[] };
    const info = depthwiseInfo(a.inputShape, filter.shape, a);
    const b = backend as WasmBackendLike;
    const g = b.readSync(dy.dataId);
    const w = b.readSync(filter.dataId);
    const { info: out, data: dx } = hostOutput(backend, a.inputShape);
    const C = info.inChannels;
    const M = info.outChannels / C;
    forEachTap(info, (xo, dyo, tap) => {
      const wo = tap * info.outChannels;
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let m = 0; m < M; m++) sum += w[wo + c * M + m]! * g[dyo + c * M + m]!;
        dx[xo + c]! += sum;
      }
    });
    return out;
  };
}

/** dw[kh, kw, c, m] = Σ x[b, ih, iw, c] · dy[b, oh, ow, c·M + m] over batch and output cells. */
export function depthwiseBackpropFilter(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: Info; dy: Info };
    const a = attrs as unknown as DepthwiseAttrs & { filterShape: number[] };
    const info = depthwiseInfo(x.shape, a.filterShape, a);
    const b = backend as WasmBackendLike;
    const xv = b.readSync(x.dataId);
    const g = b.readSync(dy.dataId);
    const { info: out, data: dw } = hostOutput(backend, a.filterShape);
    const C = info.inChannels;
    const M = info.outChannels / C;
    forEachTap(info, (xo, dyo, tap) => {
      const wo = tap * info.outChannels;
      for (let c = 0; c < C; c++) {
        const v = xv[xo + c]!;
        for (let m = 0; m < M; m++) dw[wo + c * M + m]! += v * g[dyo + c * M + m]!;
      }
    });
    return out;
  };
}
