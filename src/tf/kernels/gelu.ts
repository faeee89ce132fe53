/**
 * SaclGelu and SaclGeluGrad (kernel-names.ts) on the native addon (native/cpu/gelu.cc), for the 'cpu' and
 * 'wasm' backends: float32 in and out, in the backend's own memory, multi-threaded.
 */
import type { NativeAddon } from '../../backends/native.js';
import { type Info, type KernelFunc, hostInput, hostOutputOverwritten } from './host.js';

export function geluKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const { x } = inputs as { x: Info };
    const y = hostOutputOverwritten(backend, x.shape.slice(), 'float32'); // made before any view (wasm heap growth)
    addon.gelu(hostInput(backend, x), y.data as Float32Array);
    return y.info;
  };
}

export function geluGradKernel(addon: NativeAddon): KernelFunc {
  return ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: Info; x: Info };
    const dx = hostOutputOverwritten(backend, x.shape.slice(), 'float32');
    addon.geluGrad(hostInput(backend, dy), hostInput(backend, x), dx.data as Float32Array);
    return dx.info;
  };
}
