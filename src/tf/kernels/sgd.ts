/**
 * The optimizer's fused kernels (kernel-names.ts: SaclSgdStats, SaclSgdUpdate) on the native addon
 * (native/cpu/sgd.cc), for 'cpu' and 'wasm': every gradient's statistics in one call, and one Nesterov SGD
 * step of every parameter in another, reading the tensors in place and writing fresh outputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../../backends/native.js';
import { SaclSgdStats, type SaclSgdUpdateAttrs, SaclSgdUpdate } from '../kernel-names.js';
import { type Info, type KernelFunc, hostInput, hostOutputOverwritten } from './host.js';

type Inputs = Record<string, Info | undefined>;

/** inputs[`${prefix}0`] … inputs[`${prefix}${count − 1}`], each float32. */
function listed(kernelName: string, inputs: Inputs, prefix: string, count: number): Info[] {
  return Array.from({ length: count }, (_, i) => {
    const t = inputs[`${prefix}${i}`];
    if (!t) throw new TypeError(`Expected a tensor for ${kernelName} input ${prefix}${i} but received none`);
    if (t.dtype !== 'float32') throw new TypeError(`Expected float32 for ${kernelName} input ${prefix}${i} but received ${t.dtype}`);
    return t;
  });
}

/** Outputs (all made before any view is taken: on wasm, making one may grow the heap and detach views). */
function outputs(backend: unknown, shapes: number[][]): { infos: Info[]; data: Float32Array[] } {
  const infos = shapes.map((shape) => hostOutputOverwritten(backend, shape, 'float32').info);
  return { infos, data: infos.map((info) => hostInput(backend, info)) };
}

export function sgdStatsKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const count = Object.keys(inputs).length;
    const grads = listed(SaclSgdStats, inputs, 'g', count);
    const { infos: [info], data: [out] } = outputs(backend, [[count + 1]]);
    addon.sgdStats({ grads: grads.map((g) => hostInput(backend, g)), out: out! });
    return info!;
  };
}

export function sgdUpdateKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { count, lr, momentum, weightDecay, scale } = attrs as unknown as SaclSgdUpdateAttrs;
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`Expected an integer ≥ 0 for ${SaclSgdUpdate} attribute count but received ${count}`);
    const w = listed(SaclSgdUpdate, inputs, 'w', count);
    const g = listed(SaclSgdUpdate, inputs, 'g', count);
    const buf = Array.from({ length: count }, (_, i) => inputs[`buf${i}`] ?? null);
    const shapes = w.flatMap((t, i) => {
      for (const [name, other] of [['g', g[i]!], ['buf', buf[i]]] as const) {
        if (other && !tf.util.arraysEqual(other.shape, t.shape)) {
          throw new RangeError(`Expected shape [${t.shape}] (w${i}'s) for ${SaclSgdUpdate} input ${name}${i} but received [${other.shape}]`);
        }
      }
      return [t.shape.slice(), t.shape.slice()];
    });
    const { infos, data } = outputs(backend, shapes);
    const view = (t: Info) => hostInput(backend, t);
    addon.sgdUpdate({
      w: w.map(view), g: g.map(view), buf: buf.map((b) => (b ? view(b) : null)),
      wOut: data.filter((_, k) => k % 2 === 0), bufOut: data.filter((_, k) => k % 2 === 1), lr, momentum, weightDecay, scale,
    });
    return infos;
  };
}

/** The optimizer kernels by name. */
export const SGD_KERNEL_FUNCS: [string, (addon: NativeAddon) => KernelFunc][] = [
  [SaclSgdStats, sgdStatsKernel],
  [SaclSgdUpdate, sgdUpdateKernel],
];
