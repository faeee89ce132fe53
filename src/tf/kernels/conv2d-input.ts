/**
 * Conv2DBackpropInput (the convolution's input gradient) as a GEMM and a col2im, image by image:
 *   col[oh, ow, tap, ci] = Σ_co dy[b, oh, ow, co] · W[tap, ci, co]    (native GEMM, W read as transposed)
 *   dx[b, ih, iw, ci]   += col[oh, ow, tap, ci] over the taps that read (ih, iw)   (fixed order)
 * tfjs' wasm and cpu kernels are direct loops at well under 1 GFLOP/s. NHWC and dilation 1 only; the
 * rest goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';
import { forEachTap } from './taps.js';

interface Attrs {
  strides: number | [number, number];
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

export function conv2DBackpropInputViaGemm(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { inputs, backend, attrs } = params;
    const { dy, filter } = inputs as { dy: Info; filter: Info };
    const a = attrs as unknown as Attrs;
    if (a.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallback(params);
    const [KH, KW, Ci, Co] = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, [KH, KW, Ci, Co], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
    const taps = KH * KW;
    const cells = outHeight * outWidth;
    const { info: out, data: dx } = hostOutput(backend, a.inputShape);
    const g = hostInput(backend, dy);
    const w = hostInput(backend, filter);
    const col = new Float32Array(cells * taps * Ci);
    const image = { ...info, batchSize: 1 };
    for (let b = 0; b < batchSize; b++) {
      const rows = g.subarray(b * cells * Co, (b + 1) * cells * Co);
      addon.matMul({ a: rows, b: w, batchA: 1, batchB: 1, M: cells, N: taps * Ci, K: Co, transA: false, transB: true, out: col });
      const base = b * inHeight * inWidth * Ci;
      forEachTap(image, (xo, dyo, tap) => {
        const c = (dyo / Co) * taps * Ci + tap * Ci;
        const x = base + xo;
        for (let ci = 0; ci < Ci; ci++) dx[x + ci]! += col[c + ci]!;
      });
    }
    return out;
  };
}
