/** sacl-au: native graph ops (KNN graph, Max-Relative aggregation, ROI align) and the SACL + MSFL AU model. */
export type {
  BackendInfo, BackendName, Float32Tensor, Int32Tensor, KnnGraphOptions, KnnMetric, MaxRelativeGradOptions, MaxRelativeGradResult,
  MaxRelativeOptions, MaxRelativeResult, RoiAlignOptions,
} from './types.js';
export { knnGraph, knnGraphAsync } from './ops/knn-graph.js';
export { maxRelative, maxRelativeAsync, maxRelativeGrad, maxRelativeGradAsync } from './ops/max-relative.js';
export { roiAlign, roiAlignAsync, roiAlignGrad, roiAlignGradAsync } from './ops/roi-align.js';
export { backends, getDefaultBackend, setDefaultBackend, setNumThreads } from './backends/registry.js';
export {
  knnGraphReference, maxRelativeReference, maxRelativeGradReference, referenceDistance, roiAlignReference,
  roiAlignGradReference, bilinearTaps,
} from './backends/reference/index.js';
