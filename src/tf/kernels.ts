/**
 * tfjs kernels for backends where the stock ones are wrong, pathological or missing (src/tf/kernels/):
 * ResizeBilinearGrad that honours halfPixelCenters (cpu, wasm); BatchMatMul on the native GEMM (cpu, wasm);
 * the fused GELU and training-mode BatchNorm kernels (cpu, wasm);
 * on wasm the gather and depthwise gradients it lacks and the convolution gradients as GEMM/convolution;
 * on cpu, with the native addon, every kernel of the training step (element-wise, reductions, softmax,
 * convolutions, data movement, resize, pooling) native, multi-threaded and deterministic.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNative } from '../backends/native.js';
import { conv2DBackpropFilterViaConv } from './kernels/conv2d-filter.js';
import { conv2DBackpropInputViaGemm } from './kernels/conv2d-input.js';
import { CONV_KERNELS } from './kernels/conv-native.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './kernels/depthwise.js';
import { batchNormGradKernel, batchNormKernel } from './kernels/batch-norm.js';
import { geluGradKernel, geluKernel } from './kernels/gelu.js';
import { SaclBatchNorm, SaclBatchNormGrad, SaclBiasGelu, SaclGelu, SaclGeluGrad } from './kernel-names.js';
import { BINARY_OPS, UNARY_OPS, nativeBinary, nativeUnary } from './kernels/elementwise.js';
import { nativeFillLike, type KernelFunc } from './kernels/host.js';
import { layerNormKernels } from './kernels/layer-norm.js';
import { nativeBatchMatMul } from './kernels/matmul.js';
import { REDUCE_OPS, nativeArgReduce, nativeReduce, nativeSoftmax } from './kernels/reduce.js';
import { MOVEMENT_KERNELS } from './kernels/movement.js';
import { resizeBilinearGrad } from './kernels/resize-bilinear-grad.js';
import { SGD_KERNEL_FUNCS } from './kernels/sgd.js';
import { splitVByBlocks } from './kernels/split.js';
import { unsortedSegmentSum } from './kernels/segment-sum.js';
import { type HostMemory, setHostMemory } from './kernels/release.js';
import type { NativeAddon } from '../backends/native.js';

/** The sacl-au kernels active per backend. */
const registered = new Map<string, string[]>();

/** Per backend, the kernels sacl-au replaced or added: name → the stock kernel (undefined where none existed). */
const replaced = new Map<string, Map<string, tf.KernelConfig | undefined>>();

function replaceKernel(kernelName: string, backendName: string, make: (stock: KernelFunc | undefined) => KernelFunc): void {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc: make(stock?.kernelFunc as unknown as KernelFunc | undefined) as unknown as tf.KernelFunc });
  const byName = replaced.get(backendName) ?? new Map<string, tf.KernelConfig | undefined>();
  if (!byName.has(kernelName)) byName.set(kernelName, stock);
  replaced.set(backendName, byName);
}

/**
 * Runs fn (synchronously) with tfjs' stock kernels back in place of the sacl-au ones on a backend, then
 * restores them: a reference for tests and benchmarks in the same process.
 */
export function withStockKernels<T>(backendName: string, fn: () => T): T {
  const byName = replaced.get(backendName) ?? new Map<string, tf.KernelConfig | undefined>();
  const ours = new Map<string, tf.KernelConfig>();
  for (const [kernelName, stock] of byName) {
    ours.set(kernelName, tf.getKernel(kernelName, backendName)!);
    tf.unregisterKernel(kernelName, backendName);
    if (stock) tf.registerKernel(stock);
  }
  try {
    return fn();
  } finally {
    for (const [kernelName, stock] of byName) {
      if (stock) tf.unregisterKernel(kernelName, backendName);
      tf.registerKernel(ours.get(kernelName)!);
    }
  }
}

/** The addon's host memory for the cpu backend's outputs; V8's where the runtime refuses external buffers. */
function hostMemory(addon: NativeAddon): HostMemory {
  const release = (buffer: ArrayBuffer) => addon.detachBuffer(buffer);
  try {
    release(addon.allocateBuffer(4, false));
  } catch {
    return { release };
  }
  return { allocate: (bytes, zero) => addon.allocateBuffer(bytes, zero), release };
}

/**
 * Gives a tfjs backend ('cpu', 'wasm') the sacl-au kernels: a ResizeBilinearGrad that is the adjoint of
 * the forward pass under half-pixel centres too (the stock ones ignore halfPixelCenters, which MSFL's
 * up-sampling uses); Conv2DBackpropFilter as a convolution; on wasm, the gradients it lacks
 * (UnsortedSegmentSum, both depthwise backprops); when the addon is loaded (SACL_NATIVE=0 keeps the stock
 * ones), BatchMatMul on the native GEMM, the fused GELU and BatchNorm kernels (fused.ts), and on cpu the
 * native kernels of the whole training step.
 * Idempotent. Returns the sacl-au kernels active on that backend.
 */
export function registerFastKernels(backendName = tf.getBackend()): string[] {
  const done = registered.get(backendName);
  if (done) return done;
  const active: string[] = [tf.Conv2DBackpropFilter, tf.SplitV, tf.ResizeBilinearGrad];
  replaceKernel(tf.Conv2DBackpropFilter, backendName, (stock) => conv2DBackpropFilterViaConv(backendName, stock));
  replaceKernel(tf.SplitV, backendName, (stock) => splitVByBlocks(stock!));
  const { addon } = loadNative();
  if (addon && backendName === 'cpu') setHostMemory(hostMemory(addon));
  replaceKernel(tf.ResizeBilinearGrad, backendName, () => resizeBilinearGrad(backendName, addon));
  if (backendName === 'wasm') {
    const missing: [string, KernelFunc][] = [
      [tf.UnsortedSegmentSum, unsortedSegmentSum()],
      [tf.DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInput()],
      [tf.DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilter()],
    ];
    for (const [kernelName, kernelFunc] of missing) {
      if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
      active.push(kernelName);
    }
  }
  const stockMatMul = tf.getKernel(tf.BatchMatMul, backendName);
  if (addon && stockMatMul) {
    replaceKernel(tf.BatchMatMul, backendName, (stock) => nativeBatchMatMul(addon, stock!));
    active.push(tf.BatchMatMul);
  }
  if (addon && tf.getKernel(tf.Conv2DBackpropInput, backendName)) {
    replaceKernel(tf.Conv2DBackpropInput, backendName, (stock) => conv2DBackpropInputViaGemm(addon, stock!));
    active.push(tf.Conv2DBackpropInput);
  }
  if (addon) {
    // fused LayerNorm (kernel-names.ts): new kernels, on both hosts (host.ts reads either backend's memory)
    for (const [kernelName, kernelFunc] of layerNormKernels(addon)) {
      replaceKernel(kernelName, backendName, () => kernelFunc);
      active.push(kernelName);
    }
  }
  if (addon && (backendName === 'cpu' || backendName === 'wasm')) {
    // fused GELU and training-mode BatchNorm (+ReLU), which tfjs lacks: the op functions (fused.ts) use
    // them where registered and compose stock ops elsewhere
    const fused: [string, KernelFunc][] = [
      [SaclGelu, geluKernel(addon)], [SaclBiasGelu, geluKernel(addon)], [SaclGeluGrad, geluGradKernel(addon)],
      [SaclBatchNorm, batchNormKernel(addon)], [SaclBatchNormGrad, batchNormGradKernel(addon)],
    ];
    for (const [kernelName, kernelFunc] of fused) {
      replaceKernel(kernelName, backendName, () => kernelFunc);
      active.push(kernelName);
    }
  }
  if (addon && backendName === 'cpu') {
    // tfjs-cpu's element-wise kernels are scalar JavaScript loops; wasm's are vectorized already
    for (const [kernelName, op] of Object.entries(UNARY_OPS)) {
      replaceKernel(kernelName, backendName, (stock) => nativeUnary(addon, op, stock!));
      active.push(kernelName);
    }
    for (const [kernelName, op] of Object.entries(BINARY_OPS)) {
      replaceKernel(kernelName, backendName, (stock) => nativeBinary(addon, op, stock!));
      active.push(kernelName);
    }
    // tfjs-cpu transposes, then reduces in scalar JavaScript; Softmax chains five such kernels
    for (const [kernelName, op] of Object.entries(REDUCE_OPS)) {
      replaceKernel(kernelName, backendName, (stock) => nativeReduce(addon, op, stock!));
      active.push(kernelName);
    }
    replaceKernel(tf.ZerosLike, backendName, (stock) => nativeFillLike(0, stock!));
    replaceKernel(tf.OnesLike, backendName, (stock) => nativeFillLike(1, stock!));
    active.push(tf.ZerosLike, tf.OnesLike);
    replaceKernel(tf.Softmax, backendName, (stock) => nativeSoftmax(addon, stock!));
    replaceKernel(tf.ArgMax, backendName, (stock) => nativeArgReduce(addon, true, stock!));
    replaceKernel(tf.ArgMin, backendName, (stock) => nativeArgReduce(addon, false, stock!));
    active.push(tf.Softmax, tf.ArgMax, tf.ArgMin);
    // tfjs-cpu's convolutions are scalar JavaScript loops; the fallback is tfjs' own kernel, not the
    // replacements above (the filter gradient as a convolution, the input gradient's JavaScript col2im)
    for (const [kernelName, make] of CONV_KERNELS) {
      const own = stockKernel(kernelName, backendName)?.kernelFunc as unknown as KernelFunc | undefined;
      replaceKernel(kernelName, backendName, (current) => make(addon, own ?? current!));
      if (!active.includes(kernelName)) active.push(kernelName);
    }
    // tfjs-cpu moves data element by element through index arithmetic, single-threaded
    for (const [kernelName, make] of Object.entries(MOVEMENT_KERNELS)) {
      replaceKernel(kernelName, backendName, (stock) => make(addon, stock!));
      if (!active.includes(kernelName)) active.push(kernelName);
    }
  }
  if (addon && (backendName === 'cpu' || backendName === 'wasm')) {
    // the optimizer's read-back and update: one native call each over every parameter (no stock kernel)
    for (const [kernelName, make] of SGD_KERNEL_FUNCS) {
      replaceKernel(kernelName, backendName, () => make(addon));
      active.push(kernelName);
    }
  }
  registered.set(backendName, active);
  return active;
}

/**
 * The tfjs kernel that registerFastKernels replaced on a backend (undefined when it replaced none), for
 * comparing against it. On wasm it works only if the backend was initialized before the replacement
 * (its setup ran then).
 */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return replaced.get(backendName)?.get(kernelName);
}
