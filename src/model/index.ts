/** The MSPSACL model: configuration and variants, the model, its parts. */
export { AuModel, PARTS, STEM_STRIDE } from './model.js';
export type { Complexity, ModelOutput, Part } from './model.js';
export { VARIANTS, modelConfig, validateConfig, tokenWidth, saclStages, savedConfig, RES_T_LITE } from './config.js';
export type { ModelConfig, SaclConfig, BackboneConfig, ConfigOverrides, GcnType, GraphKind, Fusion, CorrelationLayer } from './config.js';
export {
  FBG_SOURCES, SBG_SOURCES, adjacencyNeighbours, auGcnAdjacency, cooccurrenceFromLabels, emotionPrototypeGraph, fixedGraphOf,
  topKCooccurrenceGraph,
} from './fixed-graphs.js';
export type { FbgSource, NeighbourLists, SbgSource } from './fixed-graphs.js';
export { auCentresTensor } from './au-centres.js';
export type { ForwardContext, GraphRecord } from './params.js';
export { AU_SETS, CENTRE_PAIRS, ROI_PAIRS, EMOTION_PROTOTYPES, auCentres, roisOf } from '../face/au.js';
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
