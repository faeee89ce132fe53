/**
 * SaclBatchNorm and SaclBatchNormGrad (kernel-names.ts) on the native addon (native/cpu/batch_norm.cc), for
 * the 'cpu' and 'wasm' backends: float32, channels last, in the backend's own memory, multi-threaded and
 * deterministic (per-channel sums over fixed row blocks).
 */
import type { NativeAddon } from '../../backends/native.js';
import type { SaclBatchNormAttrs } from '../kernel-names.js';
import { type Info, type KernelFunc, hostInput, hostOutputOverwritten } from './host.js';

/** [rows, C] of a channels-last tensor. */
function rowsAndChannels(x: Info): [number, number] {
  const C = x.shape[x.shape.length - 1]!;
  return [x.shape.reduce((a, b) => a * b, 1) / C, C];
}

export function batchNormKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, gamma, beta } = inputs as { x: Info; gamma: Info; beta: Info };
    const { eps, relu } = attrs as unknown as SaclBatchNormAttrs;
    const [rows, C] = rowsAndChannels(x);
    // every output made before any input view: on wasm, making one may grow the heap
    const outs = [x.shape.slice(), [C], [C]].map((shape) => hostOutputOverwritten(backend, shape, 'float32'));
    const [y, mean, variance] = outs.map((o) => hostInput(backend, o.info));
    addon.batchNorm({
      x: hostInput(backend, x), rows, C, gamma: hostInput(backend, gamma), beta: hostInput(backend, beta), eps, relu,
      y: y!, mean: mean!, variance: variance!,
    });
    return outs.map((o) => o.info);
  };
}

export function batchNormGradKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, dMean, dVariance, x, y, gamma, mean, variance } = inputs as Record<string, Info>;
    const { eps, relu } = attrs as unknown as SaclBatchNormAttrs;
    const [rows, C] = rowsAndChannels(x!);
    const outs = [x!.shape.slice(), [C], [C]].map((shape) => hostOutputOverwritten(backend, shape, 'float32'));
    const [dx, dGamma, dBeta] = outs.map((o) => hostInput(backend, o.info));
    const view = (t: Info) => hostInput(backend, t);
    addon.batchNormGrad({
      dy: view(dy!), x: view(x!), y: relu ? view(y!) : null, rows, C, gamma: view(gamma!), mean: view(mean!),
      variance: view(variance!), dMean: view(dMean!), dVariance: view(dVariance!), eps, relu, dx: dx!, dGamma: dGamma!, dBeta: dBeta!,
    });
    return outs.map((o) => o.info);
  };
}
