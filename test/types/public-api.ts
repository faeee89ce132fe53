/**
 * The public overloads, checked by the compiler against the built declarations, imported by the package's own
 * names (the "exports" map) as a user imports them. Run by public-api.test.js (tsc --noEmit on this folder).
 * Each `@ts-expect-error` line must fail to compile: if it compiles, tsc reports the unused directive.
 */
import {
  BACKEND_NAMES, KNN_METRICS, backends, getDefaultBackend, knnGraph, knnGraphAsync, maxRelative, maxRelativeAsync, maxRelativeGrad,
  maxRelativeGradAsync, roiAlign, roiAlignAsync, roiAlignGrad, roiAlignGradAsync, setDefaultBackend, setNumThreads,
  type BackendInfo, type BackendName, type Float32Tensor, type Int32Tensor, type KnnMetric, type MaxRelativeGradOptions,
  type MaxRelativeGradResult, type MaxRelativeResult,
} from 'sacl-au';
import * as lib from 'sacl-au';
import * as tf from '@tensorflow/tfjs';
import { knnGraph as tfKnnGraph, maxRelative as tfMaxRelative, roiAlign as tfRoiAlign } from 'sacl-au/tf';
import { AU_SET_NAMES, GCN_TYPES, modelConfig, type AuSet, type GcnType, type ModelConfig } from 'sacl-au/model';
import { DETECTORS, detectFaces, type DetectorName } from 'sacl-au/face';

/** true when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(): T | void {}

declare const x: Float32Tensor;
declare const idx: Int32Tensor;
declare const options: MaxRelativeGradOptions;

// knnGraph: Int32 [B, N, k]; the metric and backend are closed sets, the same as the exported constants.
const graph = knnGraph(x, 9, { metric: 'cosine', normalize: true, dilation: 2, candidates: x, into: idx, backend: 'cpu' });
expectType<Equal<typeof graph, Int32Tensor>>();
expectType<Equal<ReturnType<typeof knnGraphAsync>, Promise<Int32Tensor>>>();
expectType<Equal<KnnMetric, (typeof KNN_METRICS)[number]>>();
expectType<Equal<KnnMetric, 'euclidean' | 'cosine' | 'manhattan'>>();
expectType<Equal<BackendName, (typeof BACKEND_NAMES)[number]>>();
expectType<Equal<BackendName, 'reference' | 'cpu' | 'cuda'>>();
// @ts-expect-error: not a metric
knnGraph(x, 9, { metric: 'chebyshev' });
// @ts-expect-error: not a backend
knnGraph(x, 9, { backend: 'gpu' });
// @ts-expect-error: k is required
knnGraph(x);
// @ts-expect-error: the output of a KNN graph is Int32
knnGraph(x, 9, { into: x });
// @ts-expect-error: the constants are read-only
KNN_METRICS.push('chebyshev');

// maxRelative: { out, argmax }; its gradient is dx alone, or { dx, dy } when the forward call had candidates.
expectType<Equal<ReturnType<typeof maxRelative>, MaxRelativeResult>>();
expectType<Equal<Awaited<ReturnType<typeof maxRelativeAsync>>, MaxRelativeResult>>();
const { out, argmax } = maxRelative(x, idx, { candidates: x });
expectType<Equal<typeof out, Float32Tensor>>();
expectType<Equal<typeof argmax, Int32Tensor>>();
// @ts-expect-error: idx is Int32
maxRelative(x, x);
const dx = maxRelativeGrad(out, idx, argmax);
expectType<Equal<typeof dx, Float32Tensor>>();
const both = maxRelativeGrad(out, idx, argmax, { candidates: x });
expectType<Equal<typeof both, MaxRelativeGradResult>>();
const asyncDx = maxRelativeGradAsync(out, idx, argmax, { backend: 'reference' });
expectType<Equal<typeof asyncDx, Promise<Float32Tensor>>>();
const asyncBoth = maxRelativeGradAsync(out, idx, argmax, { candidates: x, into: { dx: x, dy: x } });
expectType<Equal<typeof asyncBoth, Promise<MaxRelativeGradResult>>>();
// options whose candidates the compiler cannot see: typed by the overload without them
const unknownCandidates = maxRelativeGrad(out, idx, argmax, options);
expectType<Equal<typeof unknownCandidates, Float32Tensor>>();

// roiAlign: crops [B, R, S, S, C]; its gradient takes the feature shape.
expectType<Equal<ReturnType<typeof roiAlign>, Float32Tensor>>();
expectType<Equal<ReturnType<typeof roiAlignAsync>, Promise<Float32Tensor>>>();
expectType<Equal<ReturnType<typeof roiAlignGrad>, Float32Tensor>>();
expectType<Equal<ReturnType<typeof roiAlignGradAsync>, Promise<Float32Tensor>>>();
roiAlign(x, x, 8, { step: 0.5, into: x });
roiAlignGrad(x, x, [1, 56, 56, 64] as const);
// @ts-expect-error: the size is a number
roiAlign(x, x, '8');

// The backends.
expectType<Equal<ReturnType<typeof backends>, BackendInfo[]>>();
expectType<Equal<ReturnType<typeof getDefaultBackend>, BackendName>>();
setDefaultBackend('reference');
setNumThreads(2);
// @ts-expect-error: not a backend
setDefaultBackend('gpu');

// The reference kernels' internals are no part of the package's face (they run as { backend: 'reference' }).
// @ts-expect-error: not exported
lib.bilinearTaps;
// @ts-expect-error: not exported
lib.referenceDistance;
// @ts-expect-error: not exported
lib.knnGraphReference;

// sacl-au/tf: the same ops on tf.Tensors.
declare const t3: tf.Tensor3D;
declare const t4: tf.Tensor4D;
expectType<Equal<ReturnType<typeof tfKnnGraph>, tf.Tensor3D>>();
expectType<Equal<ReturnType<typeof tfMaxRelative>, tf.Tensor3D>>();
expectType<Equal<ReturnType<typeof tfRoiAlign>, tf.Tensor5D>>();
tfKnnGraph(t3, 4, { metric: 'manhattan', backend: 'reference' });
// @ts-expect-error: not a metric
tfKnnGraph(t3, 4, { metric: 'chebyshev' });
tfRoiAlign(t4, t3, 8, { step: 1 });

// sacl-au/model: the config's closed sets are its types.
expectType<Equal<GcnType, (typeof GCN_TYPES)[number]>>();
const config: ModelConfig = modelConfig('full', { sacl: { gcn: 'gin', metric: 'cosine' } });
expectType<Equal<typeof config.sacl, ModelConfig['sacl']>>();
// @ts-expect-error: not a GCN type
modelConfig('full', { sacl: { gcn: 'gat' } });
expectType<Equal<AuSet, (typeof AU_SET_NAMES)[number]>>();
expectType<Equal<AuSet, 'bp4d' | 'disfa'>>();

// sacl-au/face: the detectors.
expectType<Equal<DetectorName, (typeof DETECTORS)[number]>>();
declare const image: Parameters<typeof detectFaces>[0];
void detectFaces(image, { detector: 'tiny', minConfidence: 0.3 });
// @ts-expect-error: not a detector
void detectFaces(image, { detector: 'yolo' });
