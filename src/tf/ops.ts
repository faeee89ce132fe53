/**
 * The graph ops as TensorFlow.js ops: knnGraph (int32 indices, no gradient), maxRelative (gradient to x
 * and to the neighbour features) and roiAlign (gradient to the features; none to the centres, which the
 * landmark loss trains). Each op validates its arguments and dispatches its kernel (kernel-names.ts)
 * with tf.engine().runKernel; the kernels (kernels/graph-ops.ts) work in place on 'cpu' and 'wasm' and
 * read back on other backends; the gradients are registered apart (gradients.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, KNN_METRICS, type BackendName, type KnnMetric } from '../types.js';
import {
  MAX_ELEMENTS, checkBoolean, checkDim, checkInteger, checkOneOf, checkOptions, checkPositive, describe, formatShape,
  rangeError, typeError,
} from '../util/validate.js';
import { registerGraphGradients } from './gradients.js';
import {
  type OpsBackendAttr, SaclKnnGraph, type SaclKnnGraphAttrs, SaclMaxRelative, type SaclMaxRelativeAttrs, SaclRoiAlign,
  type SaclRoiAlignAttrs,
} from './kernel-names.js';
import { ensureGraphKernels } from './kernels/graph-ops.js';

export interface TfKnnGraphOptions {
  metric?: KnnMetric;
  normalize?: boolean;
  dilation?: number;
  /** Search these [B, M, D] rows instead of x (bipartite graph). */
  candidates?: tf.Tensor3D;
  backend?: BackendName;
}

export interface TfRoiAlignOptions {
  step?: number;
  backend?: BackendName;
}

/** Largest crop side (as the public roiAlign). */
const MAX_SIZE = 4096;

registerGraphGradients();

function checkTensor(name: string, t: unknown, dtype: 'float32' | 'int32'): tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw typeError(name, `a tf.Tensor (${dtype})`, describe(t));
  if (t.dtype !== dtype) throw typeError(`${name}.dtype`, JSON.stringify(dtype), JSON.stringify(t.dtype));
  return t;
}

/** A tensor's shape: the rank dims names, every size ≥ 1 (the messages of the public ops). */
function checkShape(name: string, t: tf.Tensor, dims: readonly string[]): number[] {
  const { shape } = t;
  if (shape.length !== dims.length) {
    throw rangeError(`${name}.shape`, `rank ${dims.length} [${dims.join(', ')}]`, `rank ${shape.length} ${formatShape(shape)}`);
  }
  shape.forEach((d, i) => checkInteger(`${name}.shape[${i}] (${dims[i]})`, d, 1));
  if (t.size > MAX_ELEMENTS) throw rangeError(`${name}.shape`, `at most ${MAX_ELEMENTS} elements`, `${formatShape(shape)} (${t.size} elements)`);
  return shape;
}

function backendAttr(backend: unknown): OpsBackendAttr {
  return backend === undefined ? '' : checkOneOf('options.backend', backend, BACKEND_NAMES);
}

/** Runs a graph kernel on the active tfjs backend (registering the kernels there first if needed). */
function run(kernelName: string, inputs: Record<string, tf.Tensor | undefined>, attrs: object): tf.Tensor[] {
  ensureGraphKernels(tf.getBackend());
  const named = Object.fromEntries(Object.entries(inputs).filter(([, t]) => t !== undefined)) as tf.NamedTensorMap;
  const out = tf.engine().runKernel(kernelName, named, attrs as tf.NamedAttrMap) as unknown as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** Indices [B, N, k] (int32) of each row's k nearest candidates; see the native knnGraph. No gradient. */
export function knnGraph(x: tf.Tensor3D, k: number, options: TfKnnGraphOptions = {}): tf.Tensor3D {
  checkTensor('x', x, 'float32');
  const opts = checkOptions('options', options);
  const { candidates } = opts;
  if (candidates !== undefined) checkTensor('options.candidates', candidates, 'float32');
  const [B, N, D] = checkShape('x', x, ['B', 'N', 'D']) as [number, number, number];
  checkInteger('k', k, 1);
  const attrs: SaclKnnGraphAttrs = {
    k,
    metric: opts.metric === undefined ? 'euclidean' : checkOneOf('options.metric', opts.metric, KNN_METRICS),
    normalize: opts.normalize === undefined ? false : checkBoolean('options.normalize', opts.normalize),
    dilation: opts.dilation === undefined ? 1 : checkInteger('options.dilation', opts.dilation, 1),
    backend: backendAttr(opts.backend),
  };
  let M = N;
  if (candidates) {
    const yShape = checkShape('options.candidates', candidates, ['B', 'M', 'D']);
    checkDim('options.candidates', yShape, 0, 'B', B, 'x.shape[0]');
    checkDim('options.candidates', yShape, 2, 'D', D, 'x.shape[2]');
    M = yShape[1]!;
  }
  if (k * attrs.dilation > M) {
    throw rangeError('k', `k·dilation ≤ M = ${M}`, `k = ${k} with dilation ${attrs.dilation} (${k * attrs.dilation})`);
  }
  if (B * N * k > MAX_ELEMENTS) throw rangeError('k', `B·N·k ≤ ${MAX_ELEMENTS}`, `${B}·${N}·${k} = ${B * N * k}`);
  return detach(run(SaclKnnGraph, { x, candidates }, attrs)[0]!) as tf.Tensor3D;
}

/**
 * The same memory as a tensor no tape node produced: the indices are constants to every gradient, so
 * tf.grad never walks into the search (which has no gradient) or sends zeros through it. A backend that
 * keeps no reference counts gets a copy.
 */
function detach(t: tf.Tensor): tf.Tensor {
  const engine = tf.engine();
  let out: tf.Tensor;
  try {
    engine.backend.incRef(t.dataId);
    out = engine.makeTensorFromDataId(t.dataId, t.shape, t.dtype);
  } catch {
    out = tf.tensor(t.dataSync(), t.shape, t.dtype);
  }
  t.dispose();
  return out;
}

/**
 * Max-Relative aggregation max_k y[idx] − x ([B, N, C]), y = x unless neighbour features are given.
 * Differentiable in x and y; ties send the gradient to the lowest slot.
 */
export function maxRelative(x: tf.Tensor3D, idx: tf.Tensor3D, y?: tf.Tensor3D, backend?: BackendName): tf.Tensor3D {
  checkTensor('x', x, 'float32');
  checkTensor('idx', idx, 'int32');
  if (y !== undefined) checkTensor('y', y, 'float32');
  const [B, N, C] = checkShape('x', x, ['B', 'N', 'C']) as [number, number, number];
  let M = 0;
  if (y !== undefined) {
    const yShape = checkShape('y', y, ['B', 'M', 'C']);
    checkDim('y', yShape, 0, 'B', B, 'x.shape[0]');
    checkDim('y', yShape, 2, 'C', C, 'x.shape[2]');
    M = yShape[1]!;
  }
  const idxShape = checkShape('idx', idx, ['B', 'N', 'K']);
  checkDim('idx', idxShape, 0, 'B', B, 'x.shape[0]');
  checkDim('idx', idxShape, 1, 'N', N, 'x.shape[1]');
  // the index range is checked where the values are: in the addon, or the public op on the reference
  const attrs: SaclMaxRelativeAttrs = { candidateRows: M, backend: backendAttr(backend) };
  const [out, argmax] = run(SaclMaxRelative, { x, idx, candidates: y }, attrs) as [tf.Tensor, tf.Tensor];
  argmax.dispose(); // the gradient keeps its own reference
  return out as tf.Tensor3D;
}

/** S×S bilinear crops [B, R, S, S, C] around centres [B, R, 2] (x, y); gradient to the features only. */
export function roiAlign(features: tf.Tensor4D, centers: tf.Tensor3D, size: number, options: TfRoiAlignOptions = {}): tf.Tensor5D {
  checkTensor('features', features, 'float32');
  checkTensor('centers', centers, 'float32');
  const opts = checkOptions('options', options);
  const [B, , , C] = checkShape('features', features, ['B', 'H', 'W', 'C']) as [number, number, number, number];
  const S = checkInteger('size', size, 1, MAX_SIZE);
  const cShape = checkShape('centers', centers, ['B', 'R', '2']);
  checkDim('centers', cShape, 0, 'B', B, 'features.shape[0]');
  checkDim('centers', cShape, 2, '2', 2, 'an (x, y) pair');
  const R = cShape[1]!;
  if (B * R * S * S * C > MAX_ELEMENTS) {
    throw rangeError('size', `B·R·S·S·C ≤ ${MAX_ELEMENTS}`, `${B}·${R}·${S}·${S}·${C} = ${B * R * S * S * C}`);
  }
  const attrs: SaclRoiAlignAttrs = {
    size: S,
    step: opts.step === undefined ? 1 : checkPositive('options.step', opts.step),
    backend: backendAttr(opts.backend),
  };
  // the centres' values (finite) are checked where they are read
  return run(SaclRoiAlign, { features, centers }, attrs)[0] as tf.Tensor5D;
}
