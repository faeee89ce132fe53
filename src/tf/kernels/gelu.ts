/**
 * SaclGelu, SaclBiasGelu and SaclGeluGrad (kernel-names.ts) on the native addon (native/cpu/gelu.cc), for
 * the 'cpu' and 'wasm' backends: float32 in and out, in the backend's own memory, multi-threaded.
 */
import type { NativeAddon } from '../../backends/native.js';
import { type Info, type KernelFunc, hostInput, hostOutputOverwritten } from './host.js';

/** SaclGelu, and SaclBiasGelu (with a bias input). */
export function geluKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const { x, bias } = inputs as { x: Info; bias?: Info };
    const y = hostOutputOverwritten(backend, x.shape.slice(), 'float32'); // made before any view (wasm heap growth)
    addon.gelu({ x: hostInput(backend, x), bias: bias ? hostInput(backend, bias) : null, y: hostInput(backend, y.info) });
    return y.info;
  };
}

export function geluGradKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x, bias } = inputs as { dy: Info; x: Info; bias?: Info };
    const dx = hostOutputOverwritten(backend, x.shape.slice(), 'float32');
    addon.geluGrad({
      dy: hostInput(backend, dy), x: hostInput(backend, x), bias: bias ? hostInput(backend, bias) : null, dx: hostInput(backend, dx.info),
    });
    return dx.info;
  };
}
