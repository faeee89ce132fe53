/**
 * sacl-au: native graph ops (KNN graph, Max-Relative aggregation, ROI align) on plain { shape, data } arrays,
 * and the backends that run them. The model, the tfjs ops and the face pipeline are the subpaths sacl-au/model,
 * sacl-au/tf and sacl-au/face. The reference kernels are reached as a backend ({ backend: 'reference' }).
 */
export type {
  BackendInfo, BackendName, BackendOption, Float32Tensor, Int32Tensor, KnnGraphOptions, KnnMetric, MaxRelativeGradOptions,
  MaxRelativeGradResult, MaxRelativeOptions, MaxRelativeResult, RoiAlignOptions,
} from './types.js';
export { BACKEND_NAMES, KNN_METRICS } from './types.js';
export { knnGraph, knnGraphAsync } from './ops/knn-graph.js';
export { maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync } from './ops/max-relative.js';
export { roiAlign, roiAlignAsync, roiAlignGrad, roiAlignGradAsync } from './ops/roi-align.js';
export { backends, getDefaultBackend, setDefaultBackend, setNumThreads } from './backends/registry.js';
