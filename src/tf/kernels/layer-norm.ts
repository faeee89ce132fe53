/**
 * The LayerNorm kernels (kernel-names.ts) on the native addon (native/cpu/layer_norm.cc): forward and
 * backward over the last axis in one call each, reading and writing the backend's memory in place on
 * 'cpu' and 'wasm' (host.ts), multi-threaded, the same bits for any thread count.
 */
import type { NativeAddon } from '../../backends/native.js';
import { SaclLayerNorm, type SaclLayerNormAttrs, SaclLayerNormGrad, SaclLayerNormNoAffine } from '../kernel-names.js';
import { type Info, type KernelFunc, hostInput, hostOutputOverwritten } from './host.js';

/** The addon's LayerNorm entry points (native/addon/layer_norm_binding.cc). */
type LayerNormAddon = Pick<NativeAddon, 'layerNorm' | 'layerNormGrad'>;

/**
 * Outputs every element of which the kernel writes, then their views: on wasm making an output may grow the
 * heap and detach earlier views, so every view (inputs too) is taken after the last output exists.
 */
function outputs(backend: unknown, shapes: number[][]): { infos: Info[]; view: () => Float32Array[] } {
  const infos = shapes.map((shape) => hostOutputOverwritten(backend, shape, 'float32').info);
  return { infos, view: () => infos.map((info) => hostInput(backend, info)) };
}

const rowsOf = (shape: number[]) => shape.slice(0, -1).reduce((a, b) => a * b, 1);

/** SaclLayerNorm (with γ and β) and SaclLayerNormNoAffine: outputs [y, mean, rstd]. */
export function layerNormKernel(addon: LayerNormAddon): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs as { x: Info; gamma?: Info; beta?: Info };
    const { eps } = attrs as unknown as SaclLayerNormAttrs;
    const n = x.shape[x.shape.length - 1]!;
    const rows = rowsOf(x.shape);
    const { infos, view } = outputs(backend, [x.shape.slice(), x.shape.slice(0, -1), x.shape.slice(0, -1)]);
    if (rows === 0) return infos;
    const [y, mean, rstd] = view() as [Float32Array, Float32Array, Float32Array];
    const g = gamma ? hostInput(backend, gamma) : null;
    const b = beta ? hostInput(backend, beta) : null;
    addon.layerNorm({ x: hostInput(backend, x), gamma: g, beta: b, eps, rows, n, y, mean, rstd });
    return infos;
  };
}

/** SaclLayerNormGrad: outputs [dx] or, with gamma, [dx, dgamma, dbeta]. */
export function layerNormGradKernel(addon: LayerNormAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x, mean, rstd, gamma } = inputs as { dy: Info; x: Info; mean: Info; rstd: Info; gamma?: Info };
    const n = x.shape[x.shape.length - 1]!;
    const rows = rowsOf(x.shape);
    const { infos, view } = outputs(backend, gamma ? [x.shape.slice(), [n], [n]] : [x.shape.slice()]);
    const [dx, dgamma, dbeta] = view() as [Float32Array, Float32Array?, Float32Array?];
    // no rows: dγ and dβ are sums over nothing
    if (rows === 0) {
      dgamma?.fill(0);
      dbeta?.fill(0);
      return infos;
    }
    addon.layerNormGrad({
      dy: hostInput(backend, dy), x: hostInput(backend, x), mean: hostInput(backend, mean), rstd: hostInput(backend, rstd),
      gamma: gamma ? hostInput(backend, gamma) : null, rows, n, dx, dgamma: dgamma ?? null, dbeta: dbeta ?? null,
    });
    return infos;
  };
}

/**
 * The kernels of this file by name, for registerFastKernels (cpu and wasm, with the addon); none from an
 * addon built before them (the op then computes with stock kernels).
 */
export function layerNormKernels(addon: NativeAddon): [string, KernelFunc][] {
  const ln = addon as unknown as Partial<LayerNormAddon>;
  if (typeof ln.layerNorm !== 'function' || typeof ln.layerNormGrad !== 'function') return [];
  return [[SaclLayerNorm, layerNormKernel(ln as LayerNormAddon)], [SaclLayerNormNoAffine, layerNormKernel(ln as LayerNormAddon)],
    [SaclLayerNormGrad, layerNormGradKernel(ln as LayerNormAddon)]];
}
