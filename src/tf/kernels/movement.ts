/**
 * Data movement, resizing and pooling tfjs kernels for the cpu backend on the native addon
 * (native/cpu/movement.cc, native/cpu/pool.cc): Transpose, Slice, Concat, Pack, Unpack, PadV2, Tile and
 * SplitV as one strided copy per input or output, and GatherV2 as row copies (4-byte words copied bit for
 * bit, so float32 and int32); UnsortedSegmentSum (the gather gradient), ResizeBilinear, MaxPool, AvgPool
 * and their gradients on float32 with tfjs-backend-cpu's arithmetic to the bit.
 * Multi-threaded, written into the backend's own memory. What the stock kernel does without copying (a
 * contiguous slice, a one-input pack or concat, a 1×1 pool), other dtypes and empty tensors go to the
 * stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon, PoolGeometry } from '../../backends/native.js';
import { hostOutputOverwritten, type Info, type KernelFunc } from './host.js';

interface CpuBackendLike {
  readSync(dataId: object): Float32Array | Int32Array | Uint8Array | string[];
}

const MAX_RANK = 16; // kMaxCopyRank (native/include/sacl/movement.h)

const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let n = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    s[a] = n;
    n *= shape[a]!;
  }
  return s;
}

/** A tensor the copies take: float32 or int32, no empty axis. */
const copyable = (t: Info) => (t.dtype === 'float32' || t.dtype === 'int32') && t.shape.length <= MAX_RANK && !t.shape.includes(0);
const isFloat = (t: Info) => t.dtype === 'float32' && !t.shape.includes(0);

/**
 * A float32 or int32 tensor's values as 4-byte words: int32 bits viewed as a Float32Array. The cpu
 * backend's Cast to a wider type shares the input's storage, so a float32 tensor may hold an Int32Array
 * or a Uint8Array (from int32 or bool), and an int32 one a Uint8Array (from bool): those are converted as
 * numbers, never reinterpreted.
 */
function words(backend: unknown, t: Info): Float32Array {
  const v = (backend as CpuBackendLike).readSync(t.dataId);
  if (typeof v[0] === 'string') throw new Error(`sacl-au: expected numeric values for a ${t.dtype} tensor`);
  const numbers = v as Float32Array | Int32Array | Uint8Array;
  if (t.dtype === 'float32') return numbers instanceof Float32Array ? numbers : Float32Array.from(numbers);
  const ints = numbers instanceof Int32Array ? numbers : Int32Array.from(numbers);
  return new Float32Array(ints.buffer, ints.byteOffset, ints.length);
}

/**
 * A new float32 or int32 output tensor the cpu backend adopts, with its words to fill: zeroed, or (zero =
 * false, for the kernels that write every element) left as the allocator gives them, which saves a serial pass.
 */
function output(backend: unknown, shape: number[], dtype: tf.DataType, zero = true): { info: Info; data: Float32Array } {
  const { info, data } = hostOutputOverwritten(backend, shape, dtype === 'int32' ? 'int32' : 'float32');
  const words = data instanceof Float32Array ? data : new Float32Array(data.buffer, data.byteOffset, data.length);
  if (zero) words.fill(0);
  return { info, data: words };
}

export function nativeTranspose(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { perm } = params.attrs as { perm: number[] };
    if (!copyable(x)) return fallback(params);
    const xs = stridesOf(x.shape);
    const shape = perm.map((p) => x.shape[p]!);
    const { info, data } = output(params.backend, shape, x.dtype, false);
    addon.copyStrided({ src: words(params.backend, x), srcOffset: 0, srcStrides: perm.map((p) => xs[p]!), dst: data, dstOffset: 0,
      dstStrides: stridesOf(shape), shape });
    return info;
  };
}

export function nativeSlice(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { begin, size } = params.attrs as { begin: number | number[]; size?: number | number[] };
    if (!copyable(x)) return fallback(params);
    const [b, s] = tf.slice_util.parseSliceParams(x, begin, size) as [number[], number[]];
    tf.slice_util.assertParamsValid(x, b, s);
    // the stock kernel answers a contiguous slice with a view
    if (s.includes(0) || tf.slice_util.isSliceContinous(x.shape, b, s)) return fallback(params);
    const xs = stridesOf(x.shape);
    const { info, data } = output(params.backend, s, x.dtype, false);
    addon.copyStrided({ src: words(params.backend, x), srcOffset: b.reduce((o, v, a) => o + v * xs[a]!, 0), srcStrides: xs, dst: data,
      dstOffset: 0, dstStrides: stridesOf(s), shape: s });
    return info;
  };
}

/** Copies each input as [outer, inner] into its columns of the [outer, Σ inner] output. */
function concatInto(addon: NativeAddon, backend: unknown, inputs: Info[], outer: number, total: number, data: Float32Array): void {
  let column = 0;
  for (const t of inputs) {
    const inner = prod(t.shape) / outer;
    addon.copyStrided({ src: words(backend, t), srcOffset: 0, srcStrides: [inner, 1], dst: data, dstOffset: column, dstStrides: [total, 1],
      shape: [outer, inner] });
    column += inner;
  }
}

export function nativeConcat(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const inputs = params.inputs as unknown as Info[];
    const { axis } = params.attrs as { axis: number | number[] };
    const first = inputs[0];
    if (!first || !inputs.every((t) => t.dtype === first.dtype && t.shape.length === first.shape.length)) return fallback(params);
    const nonEmpty = inputs.filter((t) => !t.shape.includes(0));
    if (nonEmpty.length < 2 || !nonEmpty.every(copyable)) return fallback(params);
    const ax = tf.util.parseAxisParam(axis, first.shape)[0]!;
    tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), ax);
    const shape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), ax);
    const { info, data } = output(params.backend, shape, first.dtype, false);
    concatInto(addon, params.backend, nonEmpty, prod(shape.slice(0, ax)), prod(shape.slice(ax)), data);
    return info;
  };
}

export function nativePack(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const inputs = params.inputs as unknown as Info[];
    const { axis } = params.attrs as { axis: number };
    const first = inputs[0];
    // one input is a reshape; mismatched inputs get the stock kernel's error
    if (!first || inputs.length < 2 || !copyable(first) || first.shape.length + 1 > MAX_RANK) return fallback(params);
    if (!inputs.every((t) => t.dtype === first.dtype && tf.util.arraysEqual(t.shape, first.shape))) return fallback(params);
    const rank = first.shape.length;
    const ax = axis < 0 ? axis + rank + 1 : axis;
    if (ax < 0 || ax > rank) return fallback(params);
    const shape = [...first.shape.slice(0, ax), inputs.length, ...first.shape.slice(ax)];
    const { info, data } = output(params.backend, shape, first.dtype, false);
    concatInto(addon, params.backend, inputs, prod(first.shape.slice(0, ax)), prod(shape.slice(ax)), data);
    return info;
  };
}

export function nativeUnpack(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { value } = params.inputs as { value: Info };
    const { axis } = params.attrs as { axis: number };
    if (!copyable(value)) return fallback(params);
    const ax = axis < 0 ? axis + value.shape.length : axis;
    // along a leading axis every piece is contiguous: the stock kernel answers with views
    if (prod(value.shape.slice(0, ax)) === 1) return fallback(params);
    const xs = stridesOf(value.shape);
    const shape = value.shape.filter((_, a) => a !== ax);
    const srcStrides = xs.filter((_, a) => a !== ax);
    const outs = Array.from({ length: value.shape[ax]! }, () => output(params.backend, shape, value.dtype, false));
    const src = words(params.backend, value);
    const dstStrides = stridesOf(shape);
    outs.forEach(({ data }, i) => addon.copyStrided({ src, srcOffset: i * xs[ax]!, srcStrides, dst: data, dstOffset: 0, dstStrides, shape }));
    return outs.map((o) => o.info);
  };
}

export function nativePadV2(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { paddings, constantValue } = params.attrs as { paddings: [number, number][]; constantValue: number };
    if (!copyable(x) || paddings.some((p) => p[0] < 0 || p[1] < 0)) return fallback(params);
    const shape = paddings.map((p, a) => p[0] + x.shape[a]! + p[1]);
    const { info, data } = output(params.backend, shape, x.dtype);
    // fill as the stock kernel does: an int32 output truncates the constant
    if (constantValue !== 0) (x.dtype === 'int32' ? new Int32Array(data.buffer) : data).fill(constantValue);
    const os = stridesOf(shape);
    const offset = paddings.reduce((o, p, a) => o + p[0] * os[a]!, 0);
    addon.copyStrided({ src: words(params.backend, x), srcOffset: 0, srcStrides: stridesOf(x.shape), dst: data, dstOffset: offset,
      dstStrides: os, shape: x.shape });
    return info;
  };
}

export function nativeTile(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { reps } = params.attrs as { reps: number[] };
    if (!copyable(x) || 2 * x.shape.length > MAX_RANK || reps.length !== x.shape.length || reps.includes(0)) return fallback(params);
    const shape = x.shape.map((n, a) => n * reps[a]!);
    const xs = stridesOf(x.shape);
    const os = stridesOf(shape);
    // axis a as [repetition, position]: the repetition reads the same source again (stride 0)
    const copyShape = x.shape.flatMap((n, a) => [reps[a]!, n]);
    const src = x.shape.flatMap((_, a) => [0, xs[a]!]);
    const dst = x.shape.flatMap((n, a) => [n * os[a]!, os[a]!]);
    const { info, data } = output(params.backend, shape, x.dtype, false);
    addon.copyStrided({ src: words(params.backend, x), srcOffset: 0, srcStrides: src, dst: data, dstOffset: 0, dstStrides: dst, shape: copyShape });
    return info;
  };
}

export function nativeSplitV(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const { numOrSizeSplits, axis } = params.attrs as { numOrSizeSplits: number | number[]; axis: number };
    if (!copyable(x)) return fallback(params);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
    const outer = prod(x.shape.slice(0, ax));
    const inner = prod(x.shape.slice(ax + 1));
    const run = x.shape[ax]! * inner;
    const src = words(params.backend, x);
    let offset = 0;
    return sizes.map((s) => {
      const { info, data } = output(params.backend, [...x.shape.slice(0, ax), s, ...x.shape.slice(ax + 1)], x.dtype, false);
      addon.copyStrided({ src, srcOffset: offset, srcStrides: [run, 1], dst: data, dstOffset: 0, dstStrides: [s * inner, 1],
        shape: [outer, s * inner] });
      offset += s * inner;
      return info;
    });
  };
}

export function nativeGatherV2(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x, indices } = params.inputs as { x: Info; indices: Info };
    const { axis, batchDims } = params.attrs as { axis: number; batchDims?: number };
    if (!copyable(x) || indices.dtype !== 'int32' || indices.shape.includes(0)) return fallback(params);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const idx = (params.backend as CpuBackendLike).readSync(indices.dataId);
    const dimSize = x.shape[ax]!;
    // an index out of range gets the stock kernel's error
    if (!(idx instanceof Int32Array) || idx.some((i) => i < 0 || i >= dimSize)) return fallback(params);
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as unknown as tf.Tensor, indices as unknown as tf.Tensor, ax, batchDims ?? 0);
    const count = idx.length / info.batchSize;
    const out = output(params.backend, info.outputShape, x.dtype, false);
    addon.gather({ x: words(params.backend, x), indices: idx, batch: info.batchSize, outer: info.outerSize, dimSize: info.dimSize,
      slice: info.sliceSize, count, out: out.data });
    return out.info;
  };
}

export function nativeUnsortedSegmentSum(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x, segmentIds } = params.inputs as { x: Info; segmentIds: Info };
    const { numSegments } = params.attrs as { numSegments: number };
    // one id per row of x, as the gather gradient gives them
    if (!isFloat(x) || segmentIds.dtype !== 'int32' || segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0] ||
      !(Number.isInteger(numSegments) && numSegments >= 1)) return fallback(params);
    const ids = (params.backend as CpuBackendLike).readSync(segmentIds.dataId);
    if (!(ids instanceof Int32Array)) return fallback(params);
    const rows = x.shape[0]!;
    const inner = prod(x.shape.slice(1));
    const out = output(params.backend, [numSegments, ...x.shape.slice(1)], 'float32');
    addon.unsortedSegmentSum({ x: words(params.backend, x), segmentIds: ids, rows, inner, numSegments, out: out.data });
    return out.info;
  };
}

export function nativeResizeBilinear(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { images } = params.inputs as { images: Info };
    const { alignCorners, halfPixelCenters, size } = params.attrs as { alignCorners: boolean; halfPixelCenters: boolean; size: [number, number] };
    if (!isFloat(images) || images.shape.length !== 4 || size[0] < 1 || size[1] < 1) return fallback(params);
    const [B, H, W, C] = images.shape as [number, number, number, number];
    const { info, data } = output(params.backend, [B, size[0], size[1], C], 'float32', false);
    addon.resizeBilinear({ x: words(params.backend, images), batch: B, inHeight: H, inWidth: W, channels: C, outHeight: size[0],
      outWidth: size[1], alignCorners: !!alignCorners, halfPixelCenters: !!halfPixelCenters, out: data });
    return info;
  };
}

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The pool geometry as the stock kernels compute it, or null where the native kernels do not apply. */
function poolGeometry(x: Info, attrs: PoolAttrs): PoolGeometry | null {
  if (!isFloat(x) || x.shape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  if (info.outShape.includes(0) || info.padInfo.top < 0 || info.padInfo.left < 0) return null;
  return { batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, channels: info.inChannels, outHeight: info.outHeight,
    outWidth: info.outWidth, filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight,
    strideWidth: info.strideWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left };
}

const windowShape = (g: PoolGeometry) => [g.batch, g.outHeight, g.outWidth, g.channels];

/** MaxPool or AvgPool: x → out of the windows' shape; a 1×1 pool that keeps the shape is the stock kernel's identity. */
function nativePool(run: (a: PoolGeometry & { x: Float32Array; out: Float32Array }) => void, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    const g = poolGeometry(x, params.attrs as unknown as PoolAttrs);
    if (!g || (g.filterHeight === 1 && g.filterWidth === 1 && g.outHeight === g.inHeight && g.outWidth === g.inWidth)) return fallback(params);
    const { info, data } = output(params.backend, windowShape(g), 'float32', false);
    run(Object.assign({ x: words(params.backend, x), out: data }, g));
    return info;
  };
}

/** MaxPoolGrad or AvgPoolGrad: dy of the windows' shape → dx of the input's; input() reads the input's words. */
function nativePoolGrad(
  run: (g: PoolGeometry, dy: Float32Array, dx: Float32Array, input: () => Float32Array) => void, fallback: KernelFunc,
  attrs: (a: PoolAttrs) => PoolAttrs,
): KernelFunc {
  return (params) => {
    const { dy, input } = params.inputs as { dy: Info; input: Info };
    const g = poolGeometry(input, attrs(params.attrs as unknown as PoolAttrs));
    if (!g || !isFloat(dy) || !tf.util.arraysEqual(dy.shape, windowShape(g))) return fallback(params);
    const { info, data } = output(params.backend, input.shape.slice(), 'float32');
    run(g, words(params.backend, dy), data, () => words(params.backend, input));
    return info;
  };
}

export function nativeMaxPool(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativePool((a) => addon.maxPool(a), fallback);
}

export function nativeAvgPool(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativePool((a) => addon.avgPool(a), fallback);
}

export function nativeMaxPoolGrad(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativePoolGrad((g, dy, dx, input) => addon.maxPoolGrad(Object.assign({ dy, x: input(), dx }, g)), fallback, (a) => a);
}

// tfjs-cpu's AvgPoolGrad ignores dimRoundingMode (and needs no input values)
export function nativeAvgPoolGrad(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativePoolGrad((g, dy, dx) => addon.avgPoolGrad(Object.assign({ dy, dx }, g)), fallback,
    (a) => ({ ...a, dimRoundingMode: undefined }));
}

/** The kernels of this file by tfjs kernel name, for registerFastKernels (cpu). */
export const MOVEMENT_KERNELS: Readonly<Record<string, (addon: NativeAddon, fallback: KernelFunc) => KernelFunc>> = {
  [tf.Transpose]: nativeTranspose, [tf.Slice]: nativeSlice, [tf.Concat]: nativeConcat, [tf.Pack]: nativePack,
  [tf.Unpack]: nativeUnpack, [tf.PadV2]: nativePadV2, [tf.Tile]: nativeTile, [tf.SplitV]: nativeSplitV,
  [tf.GatherV2]: nativeGatherV2, [tf.UnsortedSegmentSum]: nativeUnsortedSegmentSum, [tf.ResizeBilinear]: nativeResizeBilinear, [tf.MaxPool]: nativeMaxPool, [tf.MaxPoolGrad]: nativeMaxPoolGrad,
  [tf.AvgPool]: nativeAvgPool, [tf.AvgPoolGrad]: nativeAvgPoolGrad,
};
