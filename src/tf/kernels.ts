/**
 * Faster kernels for tfjs backends where the stock ones are pathological or missing. The main one:
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

type Info = tf.TensorInfo;
type KernelFunc = (params: { inputs: Record<string, Info>; backend: unknown; attrs?: Record<string, unknown> }) => Info | Info[];

function kernel(name: string, backend: string): KernelFunc {
  const k = tf.getKernel(name, backend);
  if (!k) throw new Error(`tfjs backend '${backend}' has no ${name} kernel`);
  return k.kernelFunc as unknown as KernelFunc;
}

interface Disposable {
  disposeData(dataId: object): unknown;
}

function conv2DBackpropFilterViaConv(backendName: string, fallback: KernelFunc | undefined): KernelFunc {
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

/** What the wasm backend offers for writing a kernel's output in place. */
interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array;
}

/**
 * UnsortedSegmentSum (the gradient of gather) for backends that lack it (wasm): out[s, …] = Σ x[i, …]
 * over the rows i whose segment id is s; ids outside [0, numSegments) are dropped, as tfjs' cpu does.
 */
function unsortedSegmentSum(): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: Info; segmentIds: Info };
    const { numSegments } = attrs as { numSegments: number };
    const b = backend as WasmBackendLike;
    const values = b.readSync(x.dataId);
    const ids = b.readSync(segmentIds.dataId);
    const rows = segmentIds.shape.reduce((p, d) => p * d, 1);
    const inner = x.shape.slice(segmentIds.shape.length).reduce((p, d) => p * d, 1);
    const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
    const acc = b.typedArrayFromHeap(out);
    acc.fill(0);
    for (let i = 0; i < rows; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= numSegments) continue;
      for (let j = 0; j < inner; j++) acc[s * inner + j]! += values[i * inner + j]!;
    }
    return out;
  };
}

interface CpuBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): Info;
}

/** A float32 output the kernel fills in place: wasm heap memory, or a new array the cpu backend adopts. */
function hostOutput(backend: unknown, shape: number[]): { info: Info; data: Float32Array } {
  const wasm = backend as Partial<WasmBackendLike>;
  if (typeof wasm.makeOutput === 'function' && typeof wasm.typedArrayFromHeap === 'function') {
    const info = wasm.makeOutput(shape, 'float32');
    const data = wasm.typedArrayFromHeap(info) as Float32Array;
    data.fill(0);
    return { info, data };
  }
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  return { info: (backend as CpuBackendLike).makeTensorInfo(shape, 'float32', data), data };
}

interface DepthwiseAttrs {
  strides: number | [number, number];
  dilations: number | [number, number];
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The geometry both depthwise gradients walk: for every output cell (b, oh, ow) and tap (kh, kw), the
 * input cell it read, skipping taps that fell in the padding. Channels (c, multiplier m) are innermost and
 * contiguous in NHWC, so each visit is one pass over C·M values. The order is fixed: deterministic sums.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xOffset: number, dyOffset: number, wOffset: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight - padInfo.top + kh * dilationHeight;
        if (ih < 0 || ih >= inHeight) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const dyOffset = ((b * outHeight + oh) * outWidth + ow) * outChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - padInfo.left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            visit(((b * inHeight + ih) * inWidth + iw) * inChannels, dyOffset, (kh * filterWidth + kw) * outChannels);
          }
        }
      }
    }
  }
}

function depthwiseInfo(xShape: number[], filterShape: number[], a: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
}

/** dx[b, ih, iw, c] = Σ w[kh, kw, c, m] · dy[b, oh, ow, c·M + m] over the taps that read (ih, iw). */
function depthwiseBackpropInput(): KernelFunc {
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
    forEachTap(info, (xo, dyo, wo) => {
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
function depthwiseBackpropFilter(): KernelFunc {
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
    forEachTap(info, (xo, dyo, wo) => {
      for (let c = 0; c < C; c++) {
        const v = xv[xo + c]!;
        for (let m = 0; m < M; m++) dw[wo + c * M + m]! += v * g[dyo + c * M + m]!;
      }
    });
    return out;
  };
}

const registered = new Set<string>();

/** The sacl-au kernels a backend gets: the filter gradient everywhere, the gather gradient on wasm. */
function kernelsOn(backendName: string): string[] {
  return backendName === 'wasm'
    ? [tf.Conv2DBackpropFilter, tf.UnsortedSegmentSum, tf.DepthwiseConv2dNativeBackpropInput, tf.DepthwiseConv2dNativeBackpropFilter]
    : [tf.Conv2DBackpropFilter];
}

/**
 * Replaces (or, where missing, adds) the Conv2DBackpropFilter kernel of a tfjs backend ('cpu', 'wasm')
 * with the convolution form above, and on wasm adds UnsortedSegmentSum. Idempotent. Returns the sacl-au
 * kernels active on that backend.
 */
export function registerFastKernels(backendName = tf.getBackend()): string[] {
  if (registered.has(backendName)) return kernelsOn(backendName);
  const stock = tf.getKernel(tf.Conv2DBackpropFilter, backendName);
  const fallback = stock?.kernelFunc as unknown as KernelFunc | undefined;
  if (stock) tf.unregisterKernel(tf.Conv2DBackpropFilter, backendName);
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: conv2DBackpropFilterViaConv(backendName, fallback) as unknown as tf.KernelFunc,
  });
  if (backendName === 'wasm') {
    const missing: [string, KernelFunc][] = [
      [tf.UnsortedSegmentSum, unsortedSegmentSum()],
      [tf.DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInput()],
      [tf.DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilter()],
    ];
    for (const [kernelName, kernelFunc] of missing) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    }
  }
  registered.add(backendName);
  return kernelsOn(backendName);
}
