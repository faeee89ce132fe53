/** sacl-au/tf: the graph ops and the fused LayerNorm as TensorFlow.js ops with gradients, and the graph ops' pure-tfjs twins. */
export { knnGraph, maxRelative, roiAlign } from './ops.js';
export type { TfKnnGraphOptions, TfRoiAlignOptions } from './ops.js';
export { knnGraphPure, maxRelativePure, roiAlignPure } from './pure.js';
export { fileSystem, loadTensors, saveTensors, writeFileAtomic } from './weights-io.js';
export type { NamedTensor } from './weights-io.js';
export { initTf } from './engine.js';
export type { TfBackendName, TfBackendReport } from './engine.js';
export { registerFastKernels, stockKernel, withStockKernels } from './kernels.js';
export { releaseKeptBlocks } from './kernels/release.js';
export { layerNorm, layerNormComposite } from './fused.js';
export { LAYER_NORM_KERNELS, SaclLayerNorm, SaclLayerNormGrad, SaclLayerNormNoAffine } from './kernel-names.js';
export type { SaclLayerNormAttrs, SaclLayerNormGradInputs, SaclLayerNormInputs, SaclLayerNormNoAffineInputs } from './kernel-names.js';
export { readStateDict } from './state-dict.js';
export type { StateDict, StoredTensor, StoredDtype } from './state-dict.js';
export { SGD_KERNELS, SaclSgdStats, SaclSgdUpdate } from './kernel-names.js';
export type { SaclSgdStatsInputs, SaclSgdUpdateAttrs, SaclSgdUpdateInputs } from './kernel-names.js';
export { GRAPH_KERNELS, SaclKnnGraph, SaclMaxRelative, SaclMaxRelativeGrad, SaclRoiAlign, SaclRoiAlignGrad } from './kernel-names.js';
export type {
  SaclKnnGraphAttrs, SaclKnnGraphInputs, SaclMaxRelativeAttrs, SaclMaxRelativeGradAttrs, SaclMaxRelativeGradInputs,
  SaclMaxRelativeInputs, SaclRoiAlignAttrs, SaclRoiAlignGradAttrs, SaclRoiAlignGradInputs, SaclRoiAlignInputs,
} from './kernel-names.js';
