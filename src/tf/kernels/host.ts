/** What the sacl-au tfjs kernels share: kernel lookup, and reading/writing tensor memory on the host. */
import * as tf from '@tensorflow/tfjs';
import { adoptOutput, allocateHost } from './release.js';

export type Info = tf.TensorInfo;
export type KernelFunc = (params: { inputs: Record<string, Info>; backend: unknown; attrs?: Record<string, unknown> }) => Info | Info[];

/** A backend's registered kernel function (throws when it has none). */
export function kernel(name: string, backend: string): KernelFunc {
  const k = tf.getKernel(name, backend);
  if (!k) throw new Error(`tfjs backend '${backend}' has no ${name} kernel`);
  return k.kernelFunc as unknown as KernelFunc;
}

export interface Disposable {
  disposeData(dataId: object): unknown;
}

/** What the wasm backend offers for reading inputs and writing a kernel's output in place. */
export interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array | Int32Array;
}

interface CpuBackendLike {
  readSync(dataId: object): ArrayLike<number>;
}

function isWasm(backend: unknown): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

/**
 * A float32 output the kernel fills in place: wasm heap memory, or a new array the cpu backend adopts;
 * zeroed unless the kernel overwrites every element (zero = false: the memory is left as it was, which
 * saves a pass over it now that freed blocks are reused instead of coming fresh from the kernel). On wasm, making an output may grow
 * the heap and detach earlier views: take input views after.
 */
export function hostOutput(backend: unknown, shape: number[], zero = true): { info: Info; data: Float32Array } {
  if (isWasm(backend)) {
    const info = backend.makeOutput(shape, 'float32');
    const data = backend.typedArrayFromHeap(info) as Float32Array;
    if (zero) data.fill(0);
    return { info, data };
  }
  return cpuOutput(backend, shape, 'float32', zero) as { info: Info; data: Float32Array };
}

/** A new cpu-backend output on host memory (release.ts), zeroed when asked. */
function cpuOutput(backend: unknown, shape: number[], dtype: 'float32' | 'int32', zero: boolean): { info: Info; data: Float32Array | Int32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const buffer = allocateHost(n * 4, zero);
  const data = dtype === 'int32' ? new Int32Array(buffer, 0, n) : new Float32Array(buffer, 0, n);
  return { info: adoptOutput(backend, shape, dtype, data), data };
}

/**
 * A float32 input's values without a copy: a view of the wasm heap, or the cpu backend's own array. The
 * cpu backend may keep a float32 tensor in another array type (a cast from bool shares the Uint8Array):
 * those are converted.
 */
export function hostInput(backend: unknown, t: Info): Float32Array {
  if (isWasm(backend)) return backend.typedArrayFromHeap(t) as Float32Array;
  const values = (backend as CpuBackendLike).readSync(t.dataId);
  return values instanceof Float32Array ? values : Float32Array.from(values);
}

/** As {@link hostInput}, for an int32 input (other array types the cpu backend keeps are converted). */
export function hostInputInt32(backend: unknown, t: Info): Int32Array {
  if (isWasm(backend)) return backend.typedArrayFromHeap(t) as Int32Array;
  const values = (backend as CpuBackendLike).readSync(t.dataId);
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

/**
 * An output the kernel overwrites in full, left uninitialized: wasm heap memory, or on cpu host memory
 * of its own (release.ts) that the backend adopts. Cheaper than the zeroed arrays of hostOutput for
 * small, frequent calls.
 */
export function hostOutputOverwritten(backend: unknown, shape: number[], dtype: 'float32' | 'int32'): { info: Info; data: Float32Array | Int32Array } {
  if (isWasm(backend)) {
    const info = backend.makeOutput(shape, dtype);
    return { info, data: backend.typedArrayFromHeap(info) };
  }
  return cpuOutput(backend, shape, dtype, false);
}

/**
 * ZerosLike and OnesLike on the cpu backend (registered there only, as the other cpu kernels): the output
 * on host memory, zeroed by the allocator or filled here. tfjs-cpu's fill JavaScript arrays, each one a
 * V8 backing store and so a forced young-generation GC in the middle of a step (release.ts). Other dtypes
 * go to the stock kernel.
 */
export function nativeFillLike(value: 0 | 1, fallback: KernelFunc): KernelFunc {
  return (params) => {
    const { x } = params.inputs as { x: Info };
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return fallback(params);
    const { info, data } = cpuOutput(params.backend, x.shape.slice(), x.dtype, value === 0);
    if (value !== 0) data.fill(value);
    return info;
  };
}

/**
 * Zeros for an output no gradient reached, as the backward pass hands them to a gradient function: on
 * the cpu backend, host memory released with the tensor (tfjs's own zeros are V8 allocations, each one a
 * forced scavenge in the middle of a step, see release.ts); null elsewhere, for tfjs to make.
 */
export function zerosForGradient(shape: number[], dtype: tf.DataType): tf.Tensor | null {
  if (tf.getBackend() !== 'cpu' || (dtype !== 'float32' && dtype !== 'int32')) return null;
  const { info } = cpuOutput(tf.backend(), shape, dtype, true);
  return (tf.engine() as unknown as { makeTensorFromTensorInfo(info: Info): tf.Tensor }).makeTensorFromTensorInfo(info);
}
