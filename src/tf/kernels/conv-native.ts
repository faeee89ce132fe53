/**
 * Convolution kernels for the cpu backend on the native addon (native/cpu/conv.cc, native/cpu/depthwise.cc):
 * Conv2D and Conv2DBackpropFilter as im2col + GEMM; Conv2DBackpropInput as GEMM + a gather on the pool (on
 * cpu it replaces conv2d-input.ts, whose col2im is JavaScript; wasm keeps that one); the depthwise
 * convolution and both its gradients as direct loops. Multi-threaded, deterministic, reading and writing
 * the backend's arrays in place; tfjs-cpu's own are scalar JavaScript loops. NHWC, float32 and dilation 1
 * only: the rest goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry, NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';

type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;
type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape?: Shape4;
  inputShape?: Shape4;
}

/** The native kernels' cases: NHWC, dilation 1, float32 inputs. */
function covered(a: ConvAttrs, ...inputs: Info[]): boolean {
  const d = a.dilations ?? 1;
  const dilationOne = typeof d === 'number' ? d === 1 : d[0] === 1 && d[1] === 1;
  return (a.dataFormat ?? 'NHWC') === 'NHWC' && dilationOne && inputs.every((t) => t.dtype === 'float32');
}

/** The geometry fields of the addon's convolutions (native/addon/conv_binding.cc). */
function geometry(c: tf.backend_util.Conv2DInfo): ConvGeometry {
  return { B: c.batchSize, H: c.inHeight, W: c.inWidth, Ci: c.inChannels, KH: c.filterHeight, KW: c.filterWidth, Co: c.outChannels,
    OH: c.outHeight, OW: c.outWidth, strideH: c.strideHeight, strideW: c.strideWidth, padTop: c.padInfo.top, padLeft: c.padInfo.left };
}

function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as Shape4, filterShape as Shape4, a.strides, 1, a.pad, a.dimRoundingMode,
    depthwise, 'channelsLast');
}

/** A kernel on the addon: run(u, v, geometry, out) fills out. */
function nativeConv(
  fallback: KernelFunc,
  shapes: (inputs: Record<string, Info>, a: ConvAttrs) => { inputs: [Info, Info]; xShape: number[]; filterShape: number[]; outShape: 'x' | 'filter' | 'y' },
  depthwise: boolean,
  run: (u: Float32Array, v: Float32Array, geometry: ConvGeometry, out: Float32Array) => void,
): KernelFunc {
  return (params) => {
    const a = params.attrs as unknown as ConvAttrs;
    const s = shapes(params.inputs, a);
    if (!covered(a, ...s.inputs)) return fallback(params);
    const c = convInfo(s.xShape, s.filterShape, a, depthwise);
    const outShape = s.outShape === 'x' ? c.inShape : s.outShape === 'filter' ? c.filterShape : c.outShape;
    if ([...c.inShape, ...c.filterShape, ...c.outShape].some((n) => n === 0)) return fallback(params);
    const { info, data } = hostOutput(params.backend, outShape.slice(), false); // every element is written
    run(hostInput(params.backend, s.inputs[0]), hostInput(params.backend, s.inputs[1]), geometry(c), data);
    return info;
  };
}

export function nativeConv2D(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ x, filter }) => ({ inputs: [x!, filter!], xShape: x!.shape, filterShape: filter!.shape, outShape: 'y' }),
    false, (x, w, g, y) => addon.conv2d(Object.assign({ x, filter: w, y }, g)));
}

export function nativeConv2DBackpropFilter(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ x, dy }, a) => ({ inputs: [x!, dy!], xShape: x!.shape, filterShape: a.filterShape!, outShape: 'filter' }),
    false, (x, dy, g, dw) => addon.conv2dBackpropFilter(Object.assign({ x, dy, dw }, g)));
}

export function nativeConv2DBackpropInput(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ dy, filter }, a) => ({ inputs: [dy!, filter!], xShape: a.inputShape!, filterShape: filter!.shape, outShape: 'x' }),
    false, (dy, w, g, dx) => addon.conv2dBackpropInput(Object.assign({ dy, filter: w, dx }, g)));
}

export function nativeDepthwiseConv2D(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ x, filter }) => ({ inputs: [x!, filter!], xShape: x!.shape, filterShape: filter!.shape, outShape: 'y' }),
    true, (x, w, g, y) => addon.depthwiseConv2d(Object.assign({ x, filter: w, y }, g)));
}

export function nativeDepthwiseBackpropInput(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ dy, filter }, a) => ({ inputs: [dy!, filter!], xShape: a.inputShape!, filterShape: filter!.shape, outShape: 'x' }),
    true, (dy, w, g, dx) => addon.depthwiseBackpropInput(Object.assign({ dy, filter: w, dx }, g)));
}

export function nativeDepthwiseBackpropFilter(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return nativeConv(fallback, ({ x, dy }, a) => ({ inputs: [x!, dy!], xShape: x!.shape, filterShape: a.filterShape!, outShape: 'filter' }),
    true, (x, dy, g, dw) => addon.depthwiseBackpropFilter(Object.assign({ x, dy, dw }, g)));
}

/** tfjs kernel name → its native kernel, for registerFastKernels on cpu. */
export const CONV_KERNELS: ReadonlyArray<[string, (addon: NativeAddon, fallback: KernelFunc) => KernelFunc]> = [
  [tf.Conv2D, nativeConv2D],
  [tf.Conv2DBackpropFilter, nativeConv2DBackpropFilter],
  [tf.Conv2DBackpropInput, nativeConv2DBackpropInput],
  [tf.DepthwiseConv2dNative, nativeDepthwiseConv2D],
  [tf.DepthwiseConv2dNativeBackpropInput, nativeDepthwiseBackpropInput],
  [tf.DepthwiseConv2dNativeBackpropFilter, nativeDepthwiseBackpropFilter],
];
