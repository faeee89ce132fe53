/**
 * Conv2DBackpropFilter, which tfjs' `cpu` backend runs as naive nested loops (measured ≈ 40× a forward
 * convolution of the same size) and `wasm` lacks. The filter gradient is itself a convolution:
 *
 *   dW[kh, kw, ci, co] = Σ_{b, oh, ow} x_pad[b, oh·s + kh, ow·s + kw, ci] · dy[b, oh, ow, co]
 *
 * which is the forward convolution of x_pad transposed to [Ci, Hp, Wp, B] (batch as channels) with dy
 * transposed to a [OH, OW, B, Co] filter, stride 1 and dilation s. The backend's own (im2col + matmul)
 * Conv2D, Transpose and Slice kernels do the work, so results match the stock kernel to rounding.
 */
import * as tf from '@tensorflow/tfjs';
import { kernel, type Disposable, type Info, type KernelFunc } from './host.js';

export function conv2DBackpropFilterViaConv(backendName: string, fallback: KernelFunc | undefined): KernelFunc {
  const transpose = kernel(tf.Transpose, backendName);
  const conv = kernel(tf.Conv2D, backendName);
  const slice = kernel(tf.Slice, backendName);
  const pad = kernel(tf.PadV2, backendName);
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: Info; dy: Info };
    const a = attrs as { strides: number | [number, number]; pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
      dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number] };
    if (a.dataFormat !== 'NHWC' && fallback) return fallback({ inputs, backend, attrs });
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides,
      1, a.pad, a.dimRoundingMode, false, 'channelsLast');
    const { top, bottom, left, right } = info.padInfo;
    const [KH, KW, Ci, Co] = a.filterShape;
    const temps: Info[] = [];
    const keep = (t: Info) => (temps.push(t), t);
    // x padded as the forward pass saw it ([B, Hp, Wp, Ci]), then [Ci, Hp, Wp, B]
    const xp = top || bottom || left || right
      ? keep(pad({ inputs: { x }, backend, attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 } }) as Info)
      : x;
    const xt = keep(transpose({ inputs: { x: xp }, backend, attrs: { perm: [3, 1, 2, 0] } }) as Info);
    const dyt = keep(transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info); // [OH, OW, B, Co]
    const full = keep(conv({
      inputs: { x: xt, filter: dyt }, backend,
      attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth] },
    }) as Info); // [Ci, ≥KH, ≥KW, Co]: rows past KH come from input the forward stride never reached
    const cut = full.shape[1] === KH && full.shape[2] === KW ? full
      : keep(slice({ inputs: { x: full }, backend, attrs: { begin: [0, 0, 0, 0], size: [Ci, KH, KW, Co] } }) as Info);
    const dW = transpose({ inputs: { x: cut }, backend, attrs: { perm: [1, 2, 0, 3] } }) as Info;
    for (const t of temps) (backend as Disposable).disposeData(t.dataId);
    return dW;
  };
}
