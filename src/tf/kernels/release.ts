/**
 * Host memory of our kernels' outputs on the cpu backend: where it comes from, and its prompt release.
 *
 * Release: that backend keeps a tensor's values in a JS typed array, freed only when V8 next collects the
 * array; while a training step runs, V8's incremental marking does not finish, so disposed outputs piled up
 * (about 1.4 GB at the backward's peak, full model at batch 16). An output a sacl-au kernel allocated is
 * freed at once (its ArrayBuffer detached) when the last tensor on it is disposed, or, over LARGE_BLOCK
 * bytes, kept for the next output of its size (see there). A reader (dataSync,
 * data, array…) is handed a copy of its own, made at the read, which V8 manages: the output itself never
 * leaves the backend, so it can always be freed at the dispose.
 *
 * Allocation: with the addon, outputs live on its host blocks (native/addon/host_memory.cc), which V8 did
 * not allocate: V8 forces a young-generation GC at each backing store it allocates while 32 MB of young ones
 * are alive, which in a training step meant some 160 scavenges. Without the addon, V8 allocates them. (A
 * host block V8 collected without a detach would wait for the event loop to be freed: none escapes to a
 * reader, so none is left to V8.)
 */
import * as tf from '@tensorflow/tfjs';
import type { Info } from './host.js';

interface CpuStorage {
  has(dataId: object): boolean;
  get(dataId: object): { values?: ArrayBufferView } | undefined;
  set(dataId: object, value: { values?: ArrayBufferView }): void;
  delete(dataId: object): boolean;
}

interface CpuBackendLike {
  data: CpuStorage;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): Info;
}

/** The buffers our kernels allocated → how many data ids hold them now. */
const holders = new WeakMap<ArrayBuffer, number>();
/**
 * Storage entries on one of those buffers → that buffer. An entry's buffer is looked up here, not read off
 * its values: `.buffer` on a small typed array that JavaScript made (a scalar) makes V8 allocate it a
 * backing store, and with the step's large outputs alive V8 runs a young-generation GC first.
 */
const entryBuffers = new WeakMap<object, ArrayBuffer>();
const installed = new WeakSet<object>();

/** What the addon offers: memory of its own, and the freeing of a buffer now (see the module comment). */
export interface HostMemory {
  /** Absent where the runtime refuses external buffers: V8 allocates. */
  allocate?(bytes: number, zero: boolean): ArrayBuffer;
  release(buffer: ArrayBuffer): void;
}
let memory: HostMemory | null = null;

/** Sets where outputs come from and how they are freed; null: V8's memory, left to the GC. */
export function setHostMemory(m: HostMemory | null): void {
  releaseKeptBlocks();
  memory = m;
}

/**
 * Released host blocks over LARGE_BLOCK bytes, kept (up to KEPT_BYTES in all) for the next allocation of
 * the same size: making or freeing a block that large makes V8 run GC work in that very call, even with
 * the addon keeping host blocks out of V8's external-memory count (native/addon/host_memory.cc says why).
 * A training step's large outputs (the classifier's [16, 3154, 960] activations are 194 MB) are the same
 * few sizes every step: made once, then reused. Measured (full model, batch 16, 2 threads): allocation
 * and release went from ~155 to ~35 ms a step.
 */
const LARGE_BLOCK = 64 << 20;
const KEPT_BYTES = 1024 << 20;
const kept = new Map<number, ArrayBuffer[]>();
let keptBytes = 0;

/** Keeps a released host block for reuse when it is large and there is room; false: free it. */
function keep(buffer: ArrayBuffer): boolean {
  const bytes = buffer.byteLength;
  if (!memory?.allocate || bytes <= LARGE_BLOCK || keptBytes + bytes > KEPT_BYTES) return false;
  const list = kept.get(bytes);
  if (list) list.push(buffer);
  else kept.set(bytes, [buffer]);
  keptBytes += bytes;
  return true;
}

function takeKept(bytes: number): ArrayBuffer | undefined {
  const buffer = kept.get(bytes)?.pop();
  if (buffer !== undefined) keptBytes -= bytes;
  return buffer;
}

/** Frees the large blocks kept for reuse (see LARGE_BLOCK); returns how many bytes that was. */
export function releaseKeptBlocks(): number {
  const bytes = keptBytes;
  for (const list of kept.values()) for (const buffer of list) memory?.release(buffer);
  kept.clear();
  keptBytes = 0;
  return bytes;
}

/** An output's memory: `bytes`, zeroed when asked, on a host block when the addon is there. */
export function allocateHost(bytes: number, zero: boolean): ArrayBuffer {
  if (memory?.allocate) {
    const reused = takeKept(bytes);
    if (reused === undefined) return memory.allocate(bytes, zero);
    if (zero) new Uint8Array(reused).fill(0);
    return reused;
  }
  return zero ? new ArrayBuffer(bytes) : Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

/** dataId's entry in a storage, if it has one (get on an id it lacks makes the engine look on another backend). */
const entryOf = (data: CpuStorage, dataId: object) => (data.has(dataId) ? data.get(dataId) : undefined);

const bufferOf = (value: { values?: ArrayBufferView } | undefined): ArrayBuffer | undefined => {
  const b = value?.values?.buffer;
  return b instanceof ArrayBuffer ? b : undefined;
};

function count(buffer: ArrayBuffer | undefined, delta: number): void {
  if (buffer === undefined || !holders.has(buffer)) return;
  const n = holders.get(buffer)! + delta;
  holders.set(buffer, n);
  if (n === 0 && memory !== null) {
    holders.delete(buffer);
    if (!keep(buffer)) memory.release(buffer);
  }
}

/** The storages of the cpu backends installed (a read names a data id, not its backend). */
const storages: CpuStorage[] = [];

/**
 * Before a read through the engine (the route of dataSync, data, array, buffer…): a tensor on one of our
 * outputs gets a copy of its values, which the read hands out, and lets go of the output. At the call, so
 * an async read whose tensor is disposed before the promise settles still gets its values.
 */
function copyForReader(dataId: object): void {
  for (const data of storages) {
    const value = entryOf(data, dataId);
    const b = value && entryBuffers.get(value);
    if (b === undefined) continue;
    const values = value!.values as Float32Array | Int32Array;
    value!.values = values.slice();
    entryBuffers.delete(value!);
    count(b, -1);
  }
}

/** Wraps the backend's storage (to count holders) and the engine's reads (to hand out copies), once each. */
function install(backend: CpuBackendLike): void {
  if (!installed.has(backend)) {
    installed.add(backend);
    const { data } = backend;
    const set = data.set.bind(data);
    const del = data.delete.bind(data);
    const held = (dataId: object) => {
      const entry = entryOf(data, dataId);
      return entry && entryBuffers.get(entry);
    };
    storages.push(data);
    data.set = (dataId, value) => {
      const before = held(dataId);
      set(dataId, value);
      const b = bufferOf(value);
      if (b !== undefined && holders.has(b)) {
        entryBuffers.set(value, b);
        count(b, +1);
      }
      count(before, -1);
    };
    data.delete = (dataId) => {
      const before = held(dataId);
      const deleted = del(dataId);
      if (deleted) count(before, -1);
      return deleted;
    };
  }
  const engine = tf.engine() as unknown as { readSync(dataId: object): unknown; read(dataId: object): Promise<unknown> };
  if (!installed.has(engine)) {
    installed.add(engine);
    const readSync = engine.readSync.bind(engine);
    const read = engine.read.bind(engine);
    engine.readSync = (dataId) => {
      copyForReader(dataId);
      return readSync(dataId);
    };
    engine.read = (dataId) => {
      copyForReader(dataId);
      return read(dataId);
    };
  }
}

/**
 * A cpu-backend tensor on values a sacl-au kernel has just allocated (nothing else holds them): their
 * buffer is freed when the last tensor on it is disposed (a reader has its own copy).
 */
export function adoptOutput(backend: unknown, shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): Info {
  const cpu = backend as CpuBackendLike;
  if (memory !== null && cpu.data !== undefined && values.buffer instanceof ArrayBuffer) {
    install(cpu);
    holders.set(values.buffer, 0);
  }
  return cpu.makeTensorInfo(shape, dtype, values);
}
