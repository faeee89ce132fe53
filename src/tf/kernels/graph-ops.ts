/**
 * The graph-op kernels (kernel-names.ts) for every tfjs backend. On 'cpu' and 'wasm' they read and write
 * tensor memory in place (host.ts) and call the sacl-au op backend's synchronous entry point (the native
 * addon, which validates lengths, index ranges and finite values itself); the reference backend goes
 * through the public ops, which validate for it. Any other tfjs backend gets the read-back fallback: read
 * the inputs (a copy), run the same code on host arrays, upload the outputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { OpsBackend, RoiAlignGeometry } from '../../backends/backend.js';
import { resolveBackend } from '../../backends/registry.js';
import { knnGraph as knnGraphOp } from '../../ops/knn-graph.js';
import { maxRelative as maxRelativeOp, maxRelativeGrad as maxRelativeGradOp } from '../../ops/max-relative.js';
import { roiAlign as roiAlignOp, roiAlignGrad as roiAlignGradOp } from '../../ops/roi-align.js';
import {
  GRAPH_KERNELS, type OpsBackendAttr, SaclKnnGraph, type SaclKnnGraphAttrs, SaclMaxRelative, SaclMaxRelativeGrad,
  type SaclMaxRelativeAttrs, SaclRoiAlign, type SaclRoiAlignAttrs, type SaclRoiAlignGradAttrs, SaclRoiAlignGrad,
} from '../kernel-names.js';
import { type Info, type KernelFunc, hostInput, hostInputInt32, hostOutputOverwritten } from './host.js';

/** An output to make: its shape and dtype. */
type OutSpec = [shape: number[], dtype: 'float32' | 'int32'];
type HostArray = Float32Array | Int32Array;

/**
 * How a kernel reaches memory: make its outputs (every element is written by the kernels: not zeroed) and
 * view its inputs. All outputs are made before any view is taken: on wasm, making one may grow the heap.
 */
interface Memory {
  outputs(specs: OutSpec[]): { infos: Info[]; data: HostArray[] };
  f32(t: Info): Float32Array;
  i32(t: Info): Int32Array;
}

function hostMemory(backend: unknown): Memory {
  const view = (t: Info) => (t.dtype === 'int32' ? hostInputInt32(backend, t) : hostInput(backend, t));
  return {
    outputs(specs) {
      const infos = specs.map(([shape, dtype]) => hostOutputOverwritten(backend, shape, dtype).info);
      return { infos, data: infos.map(view) };
    },
    f32: (t) => hostInput(backend, t),
    i32: (t) => hostInputInt32(backend, t),
  };
}

interface AnyBackend {
  readSync(dataId: object): ArrayLike<number>;
  write(values: HostArray, shape: number[], dtype: tf.DataType): object;
}

/** The read-back path: inputs copied out of the backend, outputs made on the host and uploaded after. */
function readBackMemory(backend: AnyBackend, pending: (() => Info)[]): Memory {
  return {
    outputs(specs) {
      const data = specs.map(([shape, dtype]) => {
        const n = shape.reduce((a, b) => a * b, 1);
        return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      });
      // uploaded once the kernel has filled them (runGraphKernel calls these)
      specs.forEach(([shape, dtype], i) => pending.push(() => ({ dataId: backend.write(data[i]!, shape, dtype), shape, dtype })));
      return { infos: [], data };
    },
    f32: (t) => Float32Array.from(backend.readSync(t.dataId)),
    i32: (t) => Int32Array.from(backend.readSync(t.dataId)),
  };
}

const opsBackend = (name: OpsBackendAttr): OpsBackend => resolveBackend(name === '' ? undefined : name);
/** The native backends validate sizes, index ranges and finite values in the addon; the reference does not. */
const validatesItself = (ops: OpsBackend) => ops.name !== 'reference';
const backendOption = (name: OpsBackendAttr) => (name === '' ? {} : { backend: name });

type Inputs = Record<string, Info | undefined>;
type GraphKernel = (mem: Memory, inputs: Inputs, attrs: Record<string, unknown>) => Info[];

function knnGraphKernel(mem: Memory, inputs: Inputs, attrs: Record<string, unknown>): Info[] {
  const { k, metric, normalize, dilation, backend } = attrs as unknown as SaclKnnGraphAttrs;
  const { x, candidates } = inputs as { x: Info; candidates?: Info };
  const [B, N, D] = x.shape as [number, number, number];
  const M = candidates ? candidates.shape[1]! : N;
  const ops = opsBackend(backend);
  const { infos, data: [out] } = mem.outputs([[[B, N, k], 'int32']]);
  const xs = mem.f32(x);
  const ys = candidates ? mem.f32(candidates) : null;
  if (validatesItself(ops)) {
    ops.knnGraph({ x: xs, y: ys, B, N, M, D, k, dilation, metric, normalize }, out as Int32Array, false);
  } else {
    knnGraphOp({ shape: x.shape, data: xs }, k, {
      metric, normalize, dilation, ...backendOption(backend), into: { shape: [B, N, k], data: out as Int32Array },
      ...(ys && { candidates: { shape: candidates!.shape, data: ys } }),
    });
  }
  return infos;
}

function maxRelativeKernel(mem: Memory, inputs: Inputs, attrs: Record<string, unknown>): Info[] {
  const { backend } = attrs as unknown as SaclMaxRelativeAttrs;
  const { x, idx, candidates } = inputs as { x: Info; idx: Info; candidates?: Info };
  const [B, N, C] = x.shape as [number, number, number];
  const K = idx.shape[2]!;
  const M = candidates ? candidates.shape[1]! : N;
  const ops = opsBackend(backend);
  const { infos, data: [out, argmax] } = mem.outputs([[x.shape, 'float32'], [x.shape, 'int32']]);
  const xs = mem.f32(x);
  const is = mem.i32(idx);
  const ys = candidates ? mem.f32(candidates) : null;
  if (validatesItself(ops)) {
    ops.maxRelative({ x: xs, y: ys, idx: is, B, N, M, C, K }, out as Float32Array, argmax as Int32Array, false);
  } else {
    maxRelativeOp({ shape: x.shape, data: xs }, { shape: idx.shape, data: is }, {
      ...backendOption(backend),
      ...(ys && { candidates: { shape: candidates!.shape, data: ys } }),
      into: { out: { shape: x.shape, data: out as Float32Array }, argmax: { shape: x.shape, data: argmax as Int32Array } },
    });
  }
  return infos;
}

function maxRelativeGradKernel(mem: Memory, inputs: Inputs, attrs: Record<string, unknown>): Info[] {
  const { candidateRows, backend } = attrs as unknown as SaclMaxRelativeAttrs;
  const { dy, idx, argmax } = inputs as { dy: Info; idx: Info; argmax: Info };
  const [B, N, C] = dy.shape as [number, number, number];
  const K = idx.shape[2]!;
  const bipartite = candidateRows > 0;
  const M = bipartite ? candidateRows : N;
  const ops = opsBackend(backend);
  const specs: OutSpec[] = [[dy.shape, 'float32']];
  if (bipartite) specs.push([[B, M, C], 'float32']);
  const { infos, data: [dx, dCand] } = mem.outputs(specs);
  const g = mem.f32(dy);
  const is = mem.i32(idx);
  const am = mem.i32(argmax);
  if (validatesItself(ops)) {
    ops.maxRelativeGrad({ dOut: g, idx: is, argmax: am, B, N, M, C, K }, dx as Float32Array, (dCand as Float32Array | undefined) ?? null, false);
  } else {
    // the op layer takes M from the candidates' shape; their values are not read
    const candidates = bipartite ? { candidates: { shape: [B, M, C], data: new Float32Array(B * M * C) } } : {};
    maxRelativeGradOp({ shape: dy.shape, data: g }, { shape: idx.shape, data: is }, { shape: dy.shape, data: am }, {
      ...backendOption(backend), ...candidates,
      into: { dx: { shape: dy.shape, data: dx as Float32Array }, ...(bipartite && { dy: { shape: [B, M, C], data: dCand as Float32Array } }) },
    });
  }
  return infos;
}

/**
 * What both ROI kernels hand a native backend besides their one tensor: the feature map's [B, H, W, C], the
 * R centres (a view: take it after the outputs are made), S × S samples and the step.
 */
function roiGeometry(mem: Memory, featureShape: number[], centers: Info, S: number, step: number): RoiAlignGeometry {
  const [B, H, W, C] = featureShape as [number, number, number, number];
  return { B, H, W, C, centers: mem.f32(centers), R: centers.shape[1]!, S, step };
}

function roiAlignKernel(mem: Memory, inputs: Inputs, attrs: Record<string, unknown>): Info[] {
  const { size: S, step, backend } = attrs as unknown as SaclRoiAlignAttrs;
  const { features, centers } = inputs as { features: Info; centers: Info };
  const outShape = [features.shape[0]!, centers.shape[1]!, S, S, features.shape[3]!];
  const ops = opsBackend(backend);
  const { infos, data: [out] } = mem.outputs([[outShape, 'float32']]);
  const f = mem.f32(features);
  const geometry = roiGeometry(mem, features.shape, centers, S, step);
  if (validatesItself(ops)) {
    ops.roiAlign({ ...geometry, features: f }, out as Float32Array, false);
  } else {
    roiAlignOp({ shape: features.shape, data: f }, { shape: centers.shape, data: geometry.centers }, S, {
      step, ...backendOption(backend), into: { shape: outShape, data: out as Float32Array },
    });
  }
  return infos;
}

function roiAlignGradKernel(mem: Memory, inputs: Inputs, attrs: Record<string, unknown>): Info[] {
  const { featureShape, step, backend } = attrs as unknown as SaclRoiAlignGradAttrs;
  const { dy, centers } = inputs as { dy: Info; centers: Info };
  const ops = opsBackend(backend);
  const { infos, data: [dF] } = mem.outputs([[featureShape.slice(), 'float32']]);
  const g = mem.f32(dy);
  const geometry = roiGeometry(mem, featureShape, centers, dy.shape[2]!, step);
  if (validatesItself(ops)) {
    ops.roiAlignGrad({ ...geometry, dOut: g }, dF as Float32Array, false);
  } else {
    roiAlignGradOp({ shape: dy.shape, data: g }, { shape: centers.shape, data: geometry.centers }, featureShape, {
      step, ...backendOption(backend), into: { shape: featureShape.slice(), data: dF as Float32Array },
    });
  }
  return infos;
}

const KERNELS: Record<(typeof GRAPH_KERNELS)[number], GraphKernel> = {
  [SaclKnnGraph]: knnGraphKernel,
  [SaclMaxRelative]: maxRelativeKernel,
  [SaclMaxRelativeGrad]: maxRelativeGradKernel,
  [SaclRoiAlign]: roiAlignKernel,
  [SaclRoiAlignGrad]: roiAlignGradKernel,
};

/** The in-place kernel for 'cpu' and 'wasm'. */
export function hostGraphKernel(name: (typeof GRAPH_KERNELS)[number]): KernelFunc {
  const run = KERNELS[name];
  return ({ inputs, backend, attrs }) => run(hostMemory(backend), inputs, attrs ?? {});
}

/** The read-back kernel for any other tfjs backend. */
export function readBackGraphKernel(name: (typeof GRAPH_KERNELS)[number]): KernelFunc {
  const run = KERNELS[name];
  return ({ inputs, backend, attrs }) => {
    const pending: (() => Info)[] = [];
    run(readBackMemory(backend as AnyBackend, pending), inputs, attrs ?? {});
    return pending.map((upload) => upload());
  };
}

/** The backends whose kernels read and write tensor memory in place. */
const HOSTS = new Set(['cpu', 'wasm']);

/**
 * Makes sure the graph kernels exist on a tfjs backend: in place on cpu and wasm, read-back elsewhere.
 * Cheap when they do (one registry lookup), so the ops call it on every dispatch.
 */
export function ensureGraphKernels(backendName: string): void {
  if (tf.getKernel(SaclMaxRelative, backendName)) return;
  const make = HOSTS.has(backendName) ? hostGraphKernel : readBackGraphKernel;
  for (const kernelName of GRAPH_KERNELS) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc: make(kernelName) as unknown as tf.KernelFunc });
    }
  }
}
