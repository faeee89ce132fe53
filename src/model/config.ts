/**
 * Model configuration: every variant the paper reports is a configuration of one model (paper Tables 7–9), never
 * a fork. `modelConfig(variant, overrides)` gives a complete, validated config; the saved config of a
 * checkpoint is exactly this object.
 */
import { KNN_METRICS, type KnnMetric } from '../types.js';
import { AU_SET_NAMES, AU_SETS, ROI_PAIRS, type AuSet } from '../face/au.js';
import { checkOneOf, checkSquareMatrix, rangeError, typeError } from '../util/validate.js';

// The closed option sets of a config, each declared once: the types, validateConfig and the CLI help read them.
export const GRAPH_KINDS = ['knn', 'facs', 'stats'] as const;
export type GraphKind = (typeof GRAPH_KINDS)[number];
export const GCN_TYPES = ['max-relative', 'edgeconv', 'gin', 'graphsage'] as const;
export type GcnType = (typeof GCN_TYPES)[number];
export const CORRELATION_LAYERS = ['gcn', 'transformer'] as const;
export type CorrelationLayer = (typeof CORRELATION_LAYERS)[number];
export const FUSIONS = ['concat', 'cross-attention'] as const;
export type Fusion = (typeof FUSIONS)[number];
export const POOLINGS = ['mean', 'attention'] as const;
export type Pooling = (typeof POOLINGS)[number];
/** FBG sources that are encoded. [1]'s own graph ('kdsrl') is not: see `fixedGraphOf`. */
export const FBG_SOURCES = ['emotion-prototype'] as const;
export type FbgSource = (typeof FBG_SOURCES)[number];
/** SBG sources: [3]'s thresholded co-occurrence graph, or our ranked top-K alternative. */
export const SBG_SOURCES = ['au-gcn', 'top-k'] as const;
export type SbgSource = (typeof SBG_SOURCES)[number];

export interface BackboneConfig {
  /** Channels of the four stages; the stem outputs dims[0]. */
  dims: number[];
  heads: number[];
  depths: number[];
  /** EMSA spatial-reduction ratio per stage. */
  srRatios: number[];
  mlpRatio: number;
}

export interface SaclConfig {
  /**
   * Width and number of graph blocks per stage. An input FC maps the flattened ROI (S·S·dims[0]) to
   * widths[0]; each stage ends with an FC to the next stage's width (the last one to the token width D).
   */
  widths: number[];
  depths: number[];
  k: number;
  metric: KnnMetric;
  dilation: number;
  /** knn: rebuilt after every FFN (SACL); facs / stats: one fixed graph (FBG / SBG). */
  graph: GraphKind;
  /** Which FACS-based graph 'facs' uses (docs/model.md, "Fixed graphs"). */
  fbg: FbgSource;
  /** Which statistics-based graph 'stats' uses: 'au-gcn' ([3], the paper's SBG) or our 'top-k'. */
  sbg: SbgSource;
  /** τ of the 'au-gcn' graph: AUs i, j are linked when P(j | i) ≥ τ or P(i | j) ≥ τ. */
  sbgThreshold: number;
  /** AU × AU P(j present | i present) on the training fold, for graph 'stats'. */
  cooccurrence: number[][] | null;
  layer: CorrelationLayer;
  gcn: GcnType;
  /** Groups of the graph convolution's 1×1 layer (Vision GNN uses 4). */
  groups: number;
  ffnRatio: number;
  /** Attention heads when layer = 'transformer'. */
  heads: number;
}

export interface ModelConfig {
  variant: string;
  auSet: AuSet;
  inputSize: number;
  backbone: BackboneConfig;
  /** Multi-scale feature learning: tokens are all four stages up-sampled to the stem grid (D = Σ dims). */
  msfl: boolean;
  /** Conv widths of the landmark predictor's three blocks; null = no landmark predictor. */
  landmarks: number[] | null;
  /** ROI side S on the stem map, and the sampling step. */
  roiSize: number;
  roiStep: number;
  sacl: SaclConfig | null;
  fusion: Fusion;
  classifier: {
    /** mean: global average of the tokens (ResT's head); attention: a learned query per AU. */
    pooling: Pooling;
    /** Hidden width of each AU's head; 0 = a single linear layer. */
    hidden: number;
  };
}

export const RES_T_LITE: BackboneConfig = {
  dims: [64, 128, 256, 512], heads: [1, 2, 4, 8], depths: [2, 2, 2, 2], srRatios: [8, 4, 2, 1], mlpRatio: 4,
};

/** SACL stage layout for S stages: widths double from 64 up to 512; depths as Table 4 (2, 2, 6, 2, then 2). */
export function saclStages(stages: number): { widths: number[]; depths: number[] } {
  const widths = Array.from({ length: stages }, (_, i) => Math.min(64 << i, 512));
  const depths = Array.from({ length: stages }, (_, i) => (i === 2 ? 6 : 2));
  return { widths, depths };
}

const SACL_DEFAULT: SaclConfig = {
  ...saclStages(4), k: 9, metric: 'euclidean', dilation: 1, graph: 'knn',
  fbg: 'emotion-prototype', sbg: 'au-gcn', sbgThreshold: 0.4, cooccurrence: null,
  layer: 'gcn', gcn: 'max-relative', groups: 4, ffnRatio: 4, heads: 4,
};

const FULL: ModelConfig = {
  variant: 'full', auSet: 'bp4d', inputSize: 224, backbone: RES_T_LITE, msfl: true,
  landmarks: [96, 128, 160], roiSize: 8, roiStep: 1, sacl: SACL_DEFAULT, fusion: 'concat',
  classifier: { pooling: 'attention', hidden: 256 },
};

/** Deep partial, for overrides. */
export type ConfigOverrides = {
  [K in keyof ModelConfig]?: ModelConfig[K] extends object | null ? (ModelConfig[K] extends unknown[] | null ? ModelConfig[K] : Partial<NonNullable<ModelConfig[K]>> | null) : ModelConfig[K];
};

/** The paper's variants (Table 7/8), its Table 9 alternatives, and `tiny` for CPU demos and tests. */
export const VARIANTS: Readonly<Record<string, { describe: string; config: ConfigOverrides }>> = {
  baseline: {
    describe: 'Baseline*: ResT-Lite, global average pooling, one linear head per AU (Table 7 row 2)',
    config: { msfl: false, landmarks: null, sacl: null, classifier: { pooling: 'mean', hidden: 0 } },
  },
  msfl: {
    describe: 'Baseline*+MSFL: multi-scale tokens (56·56 × 960), attention-pooled AU heads',
    config: { landmarks: null, sacl: null },
  },
  sacl: {
    describe: 'Baseline*+SACL: landmark ROIs through SACL (final width 512), joined with the stage-4 tokens',
    config: { msfl: false },
  },
  fbg: {
    describe: 'Baseline*+MSFL+FBG: SACL\'s blocks on one fixed FACS-based graph (our emotion-prototype stand-in)',
    config: { sacl: { graph: 'facs' } },
  },
  sbg: {
    describe: 'Baseline*+MSFL+SBG: SACL\'s blocks on one fixed AU co-occurrence graph of the training fold (AU-GCN\'s by default)',
    config: { sacl: { graph: 'stats' } },
  },
  full: {
    describe: 'Baseline*+MSFL+SACL: the paper\'s model (Table 4)',
    config: {},
  },
  'cross-attention': {
    describe: 'Table 9: ROI nodes attend to the multi-scale tokens instead of being concatenated with them',
    config: { fusion: 'cross-attention' },
  },
  transformer: {
    // §4.3.3: six blocks give 74.0 M parameters and 3.41 G FLOPs; width 872 (8 heads) gives 73.8 M / 3.41 G
    describe: 'Table 9: six Transformer blocks (width 872, 8 heads) on the ROI nodes instead of the graph stages',
    config: { sacl: { layer: 'transformer', widths: [872], depths: [6], heads: 8 } },
  },
  tiny: {
    describe: 'The full model narrowed to train in minutes on 2 CPU cores (112 px input, stages 16…128)',
    config: {
      inputSize: 112,
      backbone: { dims: [16, 32, 64, 128], heads: [1, 1, 2, 4], depths: [1, 1, 1, 1], srRatios: [8, 4, 2, 1], mlpRatio: 2 },
      landmarks: [16, 24, 32],
      roiSize: 4,
      sacl: { widths: [32, 64], depths: [1, 1], k: 6, groups: 2, ffnRatio: 2 },
      classifier: { pooling: 'attention', hidden: 32 },
    },
  },
};

function merge<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (over === null || Array.isArray(over) || typeof over !== 'object' || base === null || typeof base !== 'object' || Array.isArray(base)) {
    return over as T;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over as Record<string, unknown>)) out[key] = merge(out[key], value);
  return out as T;
}

/** A complete config for a variant with overrides applied (deep merge; arrays replace), validated. */
export function modelConfig(variant = 'full', overrides: ConfigOverrides = {}): ModelConfig {
  const preset = VARIANTS[checkOneOf('variant', variant, Object.keys(VARIANTS))]!;
  let config = merge(structuredClone(FULL), preset.config);
  // Overriding SACL fields of a variant without SACL starts from the default SACL.
  if (overrides.sacl && config.sacl === null) config.sacl = structuredClone(SACL_DEFAULT);
  config = merge(config, overrides);
  config.variant = variant;
  validateConfig(config);
  return config;
}

/**
 * Upper bounds of the config's sizes: far above every variant the paper reports (widths ≤ 960, 12 blocks a
 * stage, 224 px), low enough that a config cannot ask for a model no machine holds before any check runs.
 */
export const CONFIG_LIMITS = { inputSize: 2048, width: 4096, depth: 64, heads: 64, ratio: 16, stages: 16 } as const;

function positiveInts(name: string, values: unknown, length?: number, max = Infinity): void {
  if (!Array.isArray(values) || values.some((v) => !Number.isInteger(v) || v < 1) || (length !== undefined && values.length !== length)) {
    throw rangeError(name, `${length ?? 'a list of'} positive integers`, JSON.stringify(values));
  }
  const big = values.findIndex((v) => v > max);
  if (big >= 0) throw rangeError(name, `integers ≤ ${max}`, JSON.stringify(values.length === 1 ? values[0] : values));
}

/** A number in (0, max]. */
function inHalfOpen(name: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !(value > 0 && value <= max)) throw rangeError(name, `a number in (0, ${max}]`, JSON.stringify(value));
}

/** Throws a RangeError naming the first inconsistent or out-of-range field (TypeError for a field of the wrong kind). */
export function validateConfig(c: ModelConfig): void {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw typeError('config', 'an object', JSON.stringify(c));
  for (const key of ['backbone', 'classifier'] as const) {
    if (c[key] === null || typeof c[key] !== 'object') throw typeError(key, 'an object', JSON.stringify(c[key]));
  }
  if (typeof c.msfl !== 'boolean') throw typeError('msfl', 'true or false', JSON.stringify(c.msfl));
  if (c.sacl !== null && (typeof c.sacl !== 'object' || Array.isArray(c.sacl))) throw typeError('sacl', 'an object or null', JSON.stringify(c.sacl));
  checkOneOf('auSet', c.auSet, AU_SET_NAMES);
  const L = CONFIG_LIMITS;
  const b = c.backbone;
  positiveInts('backbone.dims', b.dims, 4, L.width);
  positiveInts('backbone.heads', b.heads, 4, L.heads);
  positiveInts('backbone.depths', b.depths, 4, L.depth);
  b.dims.forEach((d, i) => {
    if (d % b.heads[i]! !== 0) throw rangeError(`backbone.dims[${i}]`, `a multiple of backbone.heads[${i}] = ${b.heads[i]}`, d);
  });
  if (!Number.isInteger(c.inputSize) || c.inputSize < 32 || c.inputSize % 16 !== 0 || c.inputSize > L.inputSize) {
    throw rangeError('inputSize', `a multiple of 16 in [32, ${L.inputSize}]`, JSON.stringify(c.inputSize));
  }
  // stage i's map is inputSize / 2^(i+2) on a side; its spatial reduction cannot exceed that
  positiveInts('backbone.srRatios', b.srRatios, 4, c.inputSize / 4);
  positiveInts('backbone.mlpRatio', [b.mlpRatio], undefined, L.ratio);
  if (c.landmarks !== null) positiveInts('landmarks', c.landmarks, 3, L.width);
  if (c.sacl && !c.landmarks) throw rangeError('landmarks', 'the landmark predictor\'s widths when sacl is set (SACL places its ROIs by the landmarks)', 'null');
  positiveInts('roiSize', [c.roiSize], undefined, c.inputSize / 4);
  inHalfOpen('roiStep', c.roiStep, c.inputSize);
  checkOneOf('fusion', c.fusion, FUSIONS);
  if (c.fusion === 'cross-attention' && !c.sacl) throw rangeError('fusion', '"concat" when sacl is null (cross-attention attends from SACL nodes)', '"cross-attention"');
  checkOneOf('classifier.pooling', c.classifier.pooling, POOLINGS);
  if (!Number.isInteger(c.classifier.hidden) || c.classifier.hidden < 0 || c.classifier.hidden > L.width) {
    throw rangeError('classifier.hidden', `an integer in [0, ${L.width}]`, JSON.stringify(c.classifier.hidden));
  }
  const s = c.sacl;
  if (!s) return;
  positiveInts('sacl.widths', s.widths, undefined, L.width);
  if (s.widths.length > L.stages) throw rangeError('sacl.widths', `at most ${L.stages} stages`, `${s.widths.length}`);
  positiveInts('sacl.depths', s.depths, s.widths.length, L.depth);
  positiveInts('sacl.k', [s.k]);
  positiveInts('sacl.dilation', [s.dilation]);
  const nodes = 2 * ROI_PAIRS[c.auSet].length;
  if (s.k * s.dilation > nodes) throw rangeError('sacl.k · sacl.dilation', `at most the ${nodes} ROI nodes of ${c.auSet}`, `${s.k} · ${s.dilation} = ${s.k * s.dilation}`);
  checkOneOf('sacl.metric', s.metric, KNN_METRICS);
  checkOneOf('sacl.graph', s.graph, GRAPH_KINDS);
  if ((s.fbg as string) === 'kdsrl') {
    throw rangeError('sacl.fbg', '"emotion-prototype" (KDSRL\'s FACS-based graph, the paper\'s [1], is not encoded: its definition is not public; docs/model.md, "Fixed graphs")', '"kdsrl"');
  }
  checkOneOf('sacl.fbg', s.fbg, FBG_SOURCES);
  checkOneOf('sacl.sbg', s.sbg, SBG_SOURCES);
  inHalfOpen('sacl.sbgThreshold', s.sbgThreshold, 1);
  checkOneOf('sacl.layer', s.layer, CORRELATION_LAYERS);
  checkOneOf('sacl.gcn', s.gcn, GCN_TYPES);
  positiveInts('sacl.groups', [s.groups], undefined, L.width);
  positiveInts('sacl.ffnRatio', [s.ffnRatio], undefined, L.ratio);
  positiveInts('sacl.heads', [s.heads], undefined, L.heads);
  for (const w of s.widths) {
    if ((2 * w) % s.groups !== 0) throw rangeError('sacl.groups', `a divisor of twice every stage width (${2 * w} for width ${w})`, s.groups);
    if (s.layer === 'transformer' && w % s.heads !== 0) throw rangeError('sacl.heads', `a divisor of every stage width (${w})`, s.heads);
  }
  if (s.cooccurrence) checkSquareMatrix('sacl.cooccurrence', s.cooccurrence, AU_SETS[c.auSet].length, ` for the AUs of ${c.auSet}`);
}

/**
 * A config read from a checkpoint, completed with what older checkpoints were built with: the graph-source
 * fields came later, and before them 'stats' meant the top-K graph and 'facs' the emotion-prototype one.
 */
export function savedConfig(c: ModelConfig): ModelConfig {
  if (c === null || typeof c !== 'object' || !c.sacl || typeof c.sacl !== 'object') return c;
  const sacl = { ...c.sacl };
  sacl.fbg ??= 'emotion-prototype';
  sacl.sbg ??= 'top-k';
  sacl.sbgThreshold ??= SACL_DEFAULT.sbgThreshold;
  return { ...c, sacl };
}

/** Token width the classifier sees: Σ dims with MSFL, else the last stage's width. */
export function tokenWidth(c: ModelConfig): number {
  return c.msfl ? c.backbone.dims.reduce((a, b) => a + b, 0) : c.backbone.dims[3]!;
}
