/** The MSPSACL model: configuration and variants, the model, its parts. */
export { AuModel, PARTS, STEM_STRIDE } from './model.js';
export type { Complexity, ModelOutput, Part } from './model.js';
export {
  VARIANTS, modelConfig, validateConfig, tokenWidth, saclStages, savedConfig, RES_T_LITE, CORRELATION_LAYERS, FBG_SOURCES, FUSIONS,
  GCN_TYPES, GRAPH_KINDS, POOLINGS, SBG_SOURCES,
} from './config.js';
export type {
  ModelConfig, SaclConfig, BackboneConfig, ConfigOverrides, CorrelationLayer, FbgSource, Fusion, GcnType, GraphKind, Pooling, SbgSource,
} from './config.js';
export {
  adjacencyNeighbours, auGcnAdjacency, cooccurrenceFromLabels, emotionPrototypeGraph, fixedGraphOf, topKCooccurrenceGraph,
} from './fixed-graphs.js';
export type { NeighbourLists } from './fixed-graphs.js';
export { auCentresTensor } from './au-centres.js';
export type { ForwardContext, GraphRecord } from './params.js';
export { AU_SET_NAMES, AU_SETS, CENTRE_PAIRS, ROI_PAIRS, EMOTION_PROTOTYPES, auCentres, roisOf } from '../face/au.js';
export type { AuSet, CentrePair, Roi } from '../face/au.js';
export { FLIP_PERMUTATION, NUM_LANDMARKS, alignedSize, alignedTemplate, centreCropOffset, flipLandmarks, inputTemplate, interOcular } from '../face/landmarks.js';
export { DISFA_FROM_BP4D, auMapping, transferWeights } from './transfer.js';
export type { TransferReport } from './transfer.js';
export { ResTBackbone } from './backbone.js';
export type { BackboneOutput } from './backbone.js';
export { ParamStore } from './params.js';
export type { TorchLayout } from './params.js';
export { loadBackboneWeights, assignBackbone, torchShape, fromTorchLayout } from './pretrained.js';
export type { BackboneLoadReport } from './pretrained.js';
