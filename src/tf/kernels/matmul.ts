/**
 * BatchMatMul through the native addon's GEMM (native/cpu/gemm.cc): packed panels, a 6×32 register-tiled
 * micro-kernel cloned for AVX-512/AVX2, both cores. Inputs are read in place (views of the wasm heap, or
 * the cpu backend's own arrays) and the output is written in place: no copies. Anything the GEMM does
 * not cover (other dtypes, batch shapes that broadcast beyond "equal or 1") goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../../backends/native.js';
import { hostInput, hostOutput, type Info, type KernelFunc } from './host.js';

const prod = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export function nativeBatchMatMul(addon: NativeAddon, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { inputs, backend, attrs } = params;
    const { a, b } = inputs as { a: Info; b: Info };
    const { transposeA = false, transposeB = false } = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) return fallback(params);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const K2 = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batchA = prod(a.shape.slice(0, -2));
    const batchB = prod(b.shape.slice(0, -2));
    const batch = prod(outer);
    // Only "same batch" or "one side is a single matrix"; let the stock kernel own every other case and its errors.
    if (K !== K2 || M === 0 || N === 0 || (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return fallback(params);
    const { info, data } = hostOutput(backend, [...outer, M, N], false); // the GEMM writes every element
    addon.matMul({ a: hostInput(backend, a), b: hostInput(backend, b), batchA, batchB, M, N, K, transA: transposeA, transB: transposeB, out: data });
    return info;
  };
}
