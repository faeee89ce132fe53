/**
 * The graph ops as TensorFlow.js ops with gradients: knnGraph (int32 indices, no gradient), maxRelative
 * (gradient to x and to the neighbour features) and roiAlign (gradient to the features; none to the
 * centres, which the landmark loss trains). Each reads its inputs through the tensor's own backend
 * (dataSync), runs the active sacl-au backend (CUDA → native CPU → reference) and wraps the result, so
 * it works on every tfjs backend. Gradients are registered with tf.customGrad and call the ops' own
 * backward kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName, Float32Tensor, Int32Tensor, KnnMetric } from '../types.js';
import { knnGraph as knnGraphOp } from '../ops/knn-graph.js';
import { maxRelative as maxRelativeOp, maxRelativeGrad as maxRelativeGradOp } from '../ops/max-relative.js';
import { roiAlign as roiAlignOp, roiAlignGrad as roiAlignGradOp } from '../ops/roi-align.js';
import { describe, typeError } from '../ops/validate.js';

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

function checkTensor(name: string, t: unknown, dtype: 'float32' | 'int32'): tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw typeError(name, `a tf.Tensor (${dtype})`, describe(t));
  if (t.dtype !== dtype) throw typeError(`${name}.dtype`, JSON.stringify(dtype), JSON.stringify(t.dtype));
  return t;
}

/** A tensor's values as an op input (the backend's copy; the ops never write their inputs). */
function f32(t: tf.Tensor): Float32Tensor {
  return { shape: t.shape, data: t.dataSync() as Float32Array };
}

function i32(t: tf.Tensor): Int32Tensor {
  return { shape: t.shape, data: t.dataSync() as Int32Array };
}

function tensor(t: Float32Tensor | Int32Tensor, dtype: 'float32' | 'int32'): tf.Tensor {
  return tf.tensor(t.data, t.shape.slice(), dtype);
}

type Gradients = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/**
 * tf.customGrad with the signature written out: f takes the input tensors, then tfjs' save function. (tfjs
 * types every argument as Tensor | GradSaveFunc, which no concrete signature satisfies.)
 */
type ForwardWithGradient = (...args: never[]) => { value: tf.Tensor; gradFunc: Gradients };
function withGradient(f: ForwardWithGradient): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor;
}

/** Indices [B, N, k] (int32) of each row's k nearest candidates; see the native knnGraph. No gradient. */
export function knnGraph(x: tf.Tensor3D, k: number, options: TfKnnGraphOptions = {}): tf.Tensor3D {
  checkTensor('x', x, 'float32');
  const { candidates, ...rest } = options;
  if (candidates !== undefined) checkTensor('options.candidates', candidates, 'float32');
  const idx = knnGraphOp(f32(x), k, { ...rest, ...(candidates && { candidates: f32(candidates) }) });
  return tensor(idx, 'int32') as tf.Tensor3D;
}

/**
 * Max-Relative aggregation max_k y[idx] − x ([B, N, C]), y = x unless neighbour features are given.
 * Differentiable in x and y; ties send the gradient to the lowest slot.
 */
export function maxRelative(x: tf.Tensor3D, idx: tf.Tensor3D, y?: tf.Tensor3D, backend?: BackendName): tf.Tensor3D {
  checkTensor('x', x, 'float32');
  checkTensor('idx', idx, 'int32');
  if (y !== undefined) checkTensor('y', y, 'float32');
  const graph = i32(idx);
  const opts = { ...(backend && { backend }) };
  if (y === undefined) {
    const op = withGradient((xt: tf.Tensor, save: tf.GradSaveFunc) => {
      const r = maxRelativeOp(f32(xt), graph, opts);
      save([tensor(r.argmax, 'int32')]);
      return {
        value: tensor(r.out, 'float32'),
        gradFunc: (dy: tf.Tensor, [argmax]: tf.Tensor[]) => tensor(maxRelativeGradOp(f32(dy), graph, i32(argmax!), opts), 'float32'),
      };
    });
    return op(x) as tf.Tensor3D;
  }
  const op = withGradient((xt: tf.Tensor, yt: tf.Tensor, save: tf.GradSaveFunc) => {
    const candidates = f32(yt);
    const r = maxRelativeOp(f32(xt), graph, { ...opts, candidates });
    save([tensor(r.argmax, 'int32')]);
    return {
      value: tensor(r.out, 'float32'),
      gradFunc: (dy: tf.Tensor, [argmax]: tf.Tensor[]) => {
        const g = maxRelativeGradOp(f32(dy), graph, i32(argmax!), { ...opts, candidates });
        return [tensor(g.dx, 'float32'), tensor(g.dy, 'float32')];
      },
    };
  });
  return op(x, y) as tf.Tensor3D;
}

/** S×S bilinear crops [B, R, S, S, C] around centres [B, R, 2] (x, y); gradient to the features only. */
export function roiAlign(features: tf.Tensor4D, centers: tf.Tensor3D, size: number, options: TfRoiAlignOptions = {}): tf.Tensor5D {
  checkTensor('features', features, 'float32');
  checkTensor('centers', centers, 'float32');
  const op = withGradient((ft: tf.Tensor, ct: tf.Tensor) => {
    const c = f32(ct);
    return {
      value: tensor(roiAlignOp(f32(ft), c, size, options), 'float32'),
      gradFunc: (dy: tf.Tensor) => [tensor(roiAlignGradOp(f32(dy), c, ft.shape, options), 'float32'), tf.zerosLike(ct)],
    };
  });
  return op(features, centers) as tf.Tensor5D;
}
