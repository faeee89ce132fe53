/**
 * Loads the N-API addon (prebuild or local build, via node-gyp-build) once, and exposes its kernels as
 * the 'cpu' and 'cuda' backends. A missing addon is not an error: the reason is kept for backends().
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import type {
  KnnGraphArgs, MaxRelativeArgs, MaxRelativeGradArgs, OpsBackend, RoiAlignArgs, RoiAlignGradArgs,
} from './backend.js';
import { brokenAddonAdvice, buildPlace, missingAddonAdvice, type BuildPlace } from './build-advice.js';

const log = debuglog('sacl');
const require = createRequire(import.meta.url);
/** dist/backends/native.js → the package root, where build/ and prebuilds/ live. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

type Maybe<T> = T | Promise<void>;

/** What a graph-op call adds to its op's arguments: the outputs, where it runs (DEVICE_*) and how. */
type NativeCall<Outputs> = Outputs & { device: number; async: boolean };

/**
 * The addon's raw surface (native/addon/addon.cc). Every kernel takes one object, read by name in
 * native/addon/*_binding.cc (only setNumThreads takes a plain number). A graph op's object holds its
 * arguments as the ops declare them (src/backends/backend.ts) plus its outputs, device and async. The
 * addon re-validates sizes, indices and values itself.
 */
export interface NativeAddon {
  knnGraph(a: KnnGraphArgs & NativeCall<{ out: Int32Array }>): Maybe<void>;
  maxRelative(a: MaxRelativeArgs & NativeCall<{ out: Float32Array; argmax: Int32Array }>): Maybe<void>;
  maxRelativeGrad(a: MaxRelativeGradArgs & NativeCall<{ dx: Float32Array; dy: Float32Array | null }>): Maybe<void>;
  roiAlign(a: RoiAlignArgs & NativeCall<{ out: Float32Array }>): Maybe<void>;
  roiAlignGrad(a: RoiAlignGradArgs & NativeCall<{ dFeatures: Float32Array }>): Maybe<void>;
  info(): NativeInfo;
  setNumThreads(n: number): void;
  /** Milliseconds of CUDA kernels since the last read, host↔device copies excluded; NaN when none ran. */
  cudaKernelMs(): number;
  // The tfjs kernels' bindings (src/tf/kernels/*.ts): one object each too, read by name in
  // native/addon/{gemm,elementwise,reduce,conv,movement}_binding.cc; synchronous.
  /**
   * out [batch, M, N] = op(a)·op(b): op(a) [batchA, M, K], op(b) [batchB, K, N] (op transposes with transA /
   * transB; a batch of 1 broadcasts).
   */
  matMul(a: {
    a: Float32Array; b: Float32Array; batchA: number; batchB: number; M: number; N: number; K: number; transA: boolean;
    transB: boolean; out: Float32Array;
  }): void;
  /** y = op(x) element-wise. */
  unary(a: { op: number; x: Float32Array; y: Float32Array }): void;
  /** out = op(a, b) with broadcasting; shapes as arrays of sizes. */
  binary(a: {
    op: number; a: Float32Array; aShape: readonly number[]; b: Float32Array; bShape: readonly number[]; out: Float32Array;
    outShape: readonly number[];
  }): void;
  /** out = op(x) over `axes`; out holds the kept axes in order. */
  reduce(a: { op: number; x: Float32Array; shape: readonly number[]; axes: readonly number[]; out: Float32Array }): void;
  /** y = softmax of x over its last axis, x viewed as [rows, n]. */
  softmax(a: { x: Float32Array; y: Float32Array; rows: number; n: number }): void;
  /** out = index of the first max (isMax) or min along n, x viewed as [outer, n, inner]. */
  argReduce(a: { isMax: boolean; x: Float32Array; outer: number; n: number; inner: number; out: Int32Array }): void;
  /** The convolutions, NHWC float32. */
  conv2d(a: ConvGeometry & { x: Float32Array; filter: Float32Array; y: Float32Array }): void;
  conv2dBackpropFilter(a: ConvGeometry & { x: Float32Array; dy: Float32Array; dw: Float32Array }): void;
  conv2dBackpropInput(a: ConvGeometry & { dy: Float32Array; filter: Float32Array; dx: Float32Array }): void;
  depthwiseConv2d(a: ConvGeometry & { x: Float32Array; filter: Float32Array; y: Float32Array }): void;
  depthwiseBackpropInput(a: ConvGeometry & { dy: Float32Array; filter: Float32Array; dx: Float32Array }): void;
  depthwiseBackpropFilter(a: ConvGeometry & { x: Float32Array; dy: Float32Array; dw: Float32Array }): void;
  /** Strided copy of 4-byte words: for every index i within shape,
   *  dst[dstOffset + Σ i·dstStrides] = src[srcOffset + Σ i·srcStrides]. */
  copyStrided(a: {
    src: Float32Array; srcOffset: number; srcStrides: readonly number[]; dst: Float32Array; dstOffset: number;
    dstStrides: readonly number[]; shape: readonly number[];
  }): void;
  /** out[b, o, i, :] = x[b, o, indices[b, i], :] on 4-byte words (GatherV2). */
  gather(a: {
    x: Float32Array; indices: Int32Array; batch: number; outer: number; dimSize: number; slice: number; count: number;
    out: Float32Array;
  }): void;
  /** tfjs-cpu's UnsortedSegmentSum over rows of x ([rows, inner]). */
  unsortedSegmentSum(a: {
    x: Float32Array; segmentIds: Int32Array; rows: number; inner: number; numSegments: number; out: Float32Array;
  }): void;
  /** tfjs-cpu's ResizeBilinear on NHWC float32. */
  resizeBilinear(a: ResizeGeometry & { x: Float32Array; out: Float32Array }): void;
  /** dx from dy: the adjoint of resizeBilinear (native/cpu/pool.cc). */
  resizeBilinearGrad(a: ResizeGeometry & { dy: Float32Array; dx: Float32Array }): void;
  /** tfjs-cpu's MaxPool, AvgPool and their gradients (MaxPoolGrad: first maximum wins) on NHWC float32. */
  maxPool(a: PoolGeometry & { x: Float32Array; out: Float32Array }): void;
  avgPool(a: PoolGeometry & { x: Float32Array; out: Float32Array }): void;
  avgPoolGrad(a: PoolGeometry & { dy: Float32Array; dx: Float32Array }): void;
  maxPoolGrad(a: PoolGeometry & { dy: Float32Array; x: Float32Array; dx: Float32Array }): void;
  // The fused kernels behind src/tf/kernels/{gelu,batch-norm,layer-norm,sgd}.ts: one object each, read by name in
  // native/addon/*_binding.cc like the graph ops; synchronous (the arrays may be views of a backend's memory).
  /** out[0] = Σ g² over every gradient (in double, fixed order), out[1 + t] = max |grads[t]| (native/cpu/sgd.cc). */
  sgdStats(a: { grads: Float32Array[]; out: Float32Array }): void;
  /** One Nesterov SGD step of every parameter into wOut and bufOut (buf[t] null: its first step). */
  sgdUpdate(a: {
    w: Float32Array[]; g: Float32Array[]; buf: (Float32Array | null)[]; wOut: Float32Array[]; bufOut: Float32Array[];
    lr: number; momentum: number; weightDecay: number; scale: number;
  }): void;
  /** y = GELU(x + bias), erf form, bias [C] along rows of C or null. */
  gelu(a: { x: Float32Array; bias: Float32Array | null; y: Float32Array }): void;
  /** dx = dy·GELU'(x + bias). */
  geluGrad(a: { dy: Float32Array; x: Float32Array; bias: Float32Array | null; dx: Float32Array }): void;
  /** BatchNorm in training mode over x viewed as [rows, C]: y, and the batch mean and biased variance [C]. */
  batchNorm(a: {
    x: Float32Array; rows: number; C: number; gamma: Float32Array; beta: Float32Array; eps: number; relu: boolean;
    y: Float32Array; mean: Float32Array; variance: Float32Array;
  }): void;
  /** Its backward pass; y (the forward output) is needed with relu only, dMean and dVariance may be null (zero). */
  batchNormGrad(a: {
    dy: Float32Array; x: Float32Array; y: Float32Array | null; rows: number; C: number; gamma: Float32Array;
    mean: Float32Array; variance: Float32Array; dMean: Float32Array | null; dVariance: Float32Array | null; eps: number;
    relu: boolean; dx: Float32Array; dGamma: Float32Array; dBeta: Float32Array;
  }): void;
  /** An ArrayBuffer on memory of the addon's own (a host block), zeroed when asked. */
  allocateBuffer(bytes: number, zero: boolean): ArrayBuffer;
  /** Frees an ArrayBuffer's memory now (detaches it: its views read as empty after). */
  detachBuffer(buffer: ArrayBuffer): void;
  /** LayerNorm over x viewed as [rows, n]; gamma and beta both Float32Array [n] or both null; mean, rstd [rows]. */
  layerNorm(a: {
    x: Float32Array; gamma: Float32Array | null; beta: Float32Array | null; eps: number; rows: number; n: number;
    y: Float32Array; mean: Float32Array; rstd: Float32Array;
  }): void;
  /** Its backward pass; dgamma and dbeta are Float32Array [n] exactly when gamma is given. */
  layerNormGrad(a: {
    dy: Float32Array; x: Float32Array; mean: Float32Array; rstd: Float32Array; gamma: Float32Array | null; rows: number;
    n: number; dx: Float32Array; dgamma: Float32Array | null; dbeta: Float32Array | null;
  }): void;
}

/** A convolution's geometry: x [B, H, W, Ci], filter [KH, KW, Ci, Co] (depthwise [KH, KW, Ci, Co / Ci]), y [B, OH, OW, Co]. */
export interface ConvGeometry {
  B: number; H: number; W: number; Ci: number; KH: number; KW: number; Co: number; OH: number; OW: number;
  strideH: number; strideW: number; padTop: number; padLeft: number;
}

/** A 2-D pool's geometry as tfjs' computePool2DInfo gives it (dilation 1): x [batch, inHeight, inWidth, channels]. */
export interface PoolGeometry {
  batch: number; inHeight: number; inWidth: number; channels: number; outHeight: number; outWidth: number;
  filterHeight: number; filterWidth: number; strideHeight: number; strideWidth: number; padTop: number; padLeft: number;
}

/** A bilinear resize of [batch, inHeight, inWidth, channels] to [batch, outHeight, outWidth, channels]. */
export interface ResizeGeometry {
  batch: number; inHeight: number; inWidth: number; channels: number; outHeight: number; outWidth: number;
  alignCorners: boolean; halfPixelCenters: boolean;
}

export interface NativeInfo {
  version: string;
  threads: number;
  /** parallelFor calls split over the pool's workers so far (tests: does a kernel use the pool at all). */
  pooledRuns: number;
  isa: string;
  malloc: string;
  /** Host blocks (kernel outputs) whose memory is not yet freed. */
  hostBlocks: number;
  /** V8's count of external memory (ArrayBuffers), which the addon's host blocks are kept out of. */
  v8ExternalBytes: number;
  cuda: { compiled: boolean; available: boolean; devices: number; reason: string };
}

export const DEVICE_CPU = 0;
export const DEVICE_CUDA = 1;

let loaded: { addon: NativeAddon | null; error: string } | undefined;

/** Where the package is and which prebuilds it ships, for advice on building the addon. */
export function addonPlace(): BuildPlace {
  return buildPlace(packageRoot);
}

function explain(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (/No native build was found/.test(text)) return missingAddonAdvice(addonPlace());
  return brokenAddonAdvice(addonPlace(), text.split('\n')[0]!);
}

/** The addon, or null with the reason (SACL_NATIVE=0 disables it on purpose; SACL_ADDON=<file> picks one). */
export function loadNative(): { addon: NativeAddon | null; error: string } {
  if (loaded) return loaded;
  if (process.env.SACL_NATIVE === '0') {
    loaded = { addon: null, error: 'disabled by the environment (SACL_NATIVE=0)' };
  } else {
    try {
      // SACL_ADDON names a specific binary (e.g. the CUDA-emulation test build in build-emu/)
      const file = process.env.SACL_ADDON;
      if (file) loaded = { addon: require(resolve(file)) as NativeAddon, error: '' };
      else loaded = { addon: (require('node-gyp-build') as (dir: string) => NativeAddon)(packageRoot), error: '' };
    } catch (e) {
      loaded = { addon: null, error: explain(e) };
    }
  }
  log('native addon: %s', loaded.addon ? 'loaded' : loaded.error);
  return loaded;
}

/** The addon's kernels on one device as a backend. */
export function nativeBackend(addon: NativeAddon, device: number): OpsBackend {
  return {
    name: device === DEVICE_CUDA ? 'cuda' : 'cpu',
    checksFinite: true,
    checksIndices: true,
    // Object.assign, not {...a, out}: V8 (Node 20) builds the spread-then-add literal several µs slower
    knnGraph: (a, out, async) => addon.knnGraph(Object.assign({ out, device, async }, a)),
    maxRelative: (a, out, argmax, async) => addon.maxRelative(Object.assign({ out, argmax, device, async }, a)),
    maxRelativeGrad: (a, dx, dy, async) => addon.maxRelativeGrad(Object.assign({ dx, dy, device, async }, a)),
    roiAlign: (a, out, async) => addon.roiAlign(Object.assign({ out, device, async }, a)),
    roiAlignGrad: (a, dFeatures, async) => addon.roiAlignGrad(Object.assign({ dFeatures, device, async }, a)),
  };
}
