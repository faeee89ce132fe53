/**
 * The MSPSACL model (paper Fig. 2): ResT-Lite stem + stages, MSFL tokens, landmark predictor, AU-centre
 * ROI crops through SACL, fusion and per-AU classifier. Every variant is a ModelConfig; parameters live in
 * a ParamStore and are saved with the config, so a checkpoint rebuilds exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { roiAlign } from '../tf/ops.js';
import { join } from 'node:path';
import { readModelDir, writeModelDir, type FitCheck, type NamedTensor, type SavedModel } from './checkpoint.js';
import { AU_SETS } from '../face/au.js';
import { inputTemplate } from '../face/landmarks.js';
import { auCentresTensor } from './au-centres.js';
import { ResTBackbone } from './backbone.js';
import { AuClassifier, CrossAttentionFusion } from './classifier.js';
import { tokenWidth, validateConfig, type ModelConfig } from './config.js';
import { LandmarkPredictor } from './landmark-predictor.js';
import { msflTokens } from './msfl.js';
import { FlopCounter, ParamStore, inPart, type ForwardContext, type GraphRecord } from './params.js';
import { Sacl } from './sacl.js';
import { rangeError, typeError } from '../util/validate.js';

/** Stride of the stem map relative to the input; η = 1 / STEM_STRIDE (paper Table 2; docs/model.md, Landmarks and AU centres: 0.25). */
export const STEM_STRIDE = 4;

export interface ModelOutput {
  /** [B, numAus] logits; sigmoid gives the AU probabilities. */
  logits: tf.Tensor2D;
  /** [B, 49, 2] predicted landmarks in input pixels, or null without a landmark predictor. */
  landmarks: tf.Tensor3D | null;
}

/** Model parts, in forward order; their parameter-name prefixes are the same words. */
export const PARTS = ['backbone', 'msfl', 'landmarks', 'rois', 'sacl', 'fusion', 'classifier'] as const;
export type Part = (typeof PARTS)[number];

export interface Complexity {
  inputSize: number;
  params: number;
  /** Multiply-adds of one image's forward pass (the paper's "FLOPs", as fvcore/thop count them). */
  flops: number;
  parts: { part: Part; params: number; flops: number }[];
}

/** tf.tidy for results holding nullable tensors (tidy keeps every tensor found in the returned object). */
function tidyResult<T>(fn: () => T): T {
  return tf.tidy(fn as () => tf.TensorContainer) as T;
}

export class AuModel {
  readonly store: ParamStore;
  readonly numAus: number;
  private readonly backbone: ResTBackbone;
  private readonly landmarkPredictor: LandmarkPredictor | null;
  private readonly sacl: Sacl | null;
  private readonly fusion: CrossAttentionFusion | null;
  private readonly classifier: AuClassifier;

  /**
   * `shapesOnly`: only the parameters' names and shapes, nothing allocated (see {@link ParamStore}); such a
   * model cannot run. `saved`: the parameters' values by name, used instead of drawn ones ({@link load}).
   */
  constructor(readonly config: ModelConfig, readonly seed = 1, { shapesOnly = false, saved = null }: { shapesOnly?: boolean; saved?: ReadonlyMap<string, tf.Tensor> | null } = {}) {
    validateConfig(config);
    this.store = new ParamStore(seed, shapesOnly, saved);
    const s = this.store;
    const D = tokenWidth(config);
    const dims = config.backbone.dims;
    const grid = config.inputSize / STEM_STRIDE;
    this.numAus = AU_SETS[config.auSet].length;
    this.backbone = new ResTBackbone(s, 'backbone', config.backbone);
    this.landmarkPredictor = config.landmarks ? new LandmarkPredictor(s, 'landmarks', dims[0]!, config.landmarks, grid, config.inputSize) : null;
    this.sacl = config.sacl
      ? new Sacl(s, 'sacl', config.sacl, config.auSet, config.roiSize * config.roiSize * dims[0]!, D)
      : null;
    this.fusion = config.fusion === 'cross-attention' ? new CrossAttentionFusion(s, 'fusion', D, 8, grid / 8) : null;
    this.classifier = new AuClassifier(s, 'classifier', config.classifier, this.numAus, D);
  }

  /** images: [B, inputSize, inputSize, 3], ImageNet-normalized. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): ModelOutput {
    const { inputSize } = this.config;
    if (images.rank !== 4 || images.shape[1] !== inputSize || images.shape[2] !== inputSize || images.shape[3] !== 3) {
      throw rangeError('images', `shape [B, ${inputSize}, ${inputSize}, 3]`, `[${images.shape}]`);
    }
    return tidyResult(() => {
      const { stem, stages } = inPart(ctx, 'backbone', () => this.backbone.apply(images, ctx));
      const map = this.config.msfl ? inPart(ctx, 'msfl', () => msflTokens(stages, ctx)) : stages[3]!;
      const tokens = tf.reshape(map, [map.shape[0], -1, map.shape[3]]) as tf.Tensor3D;
      const landmarks = this.landmarkPredictor ? inPart(ctx, 'landmarks', () => this.landmarkPredictor!.apply(stem, ctx)) : null;
      let classified = tokens;
      if (this.sacl && landmarks) {
        const rois = inPart(ctx, 'rois', () => {
          const centres = auCentresTensor(landmarks, this.config.auSet, 1 / STEM_STRIDE);
          const crops = roiAlign(stem, centres, this.config.roiSize, { step: this.config.roiStep });
          const [B, R, S, , C] = crops.shape;
          ctx.flops?.add(B * R * S * S * C * 4);
          return tf.reshape(crops, [B, R, S * S * C]) as tf.Tensor3D;
        });
        const nodes = inPart(ctx, 'sacl', () => this.sacl!.apply(rois, ctx));
        classified = this.fusion
          ? inPart(ctx, 'fusion', () => this.fusion!.apply(nodes, map, ctx))
          : tf.concat([tokens, nodes], 1);
      }
      const logits = inPart(ctx, 'classifier', () => this.classifier.apply(classified, ctx));
      return { logits, landmarks };
    });
  }

  /** AU probabilities [B, numAus] in inference mode (running BatchNorm statistics). */
  predict(images: tf.Tensor4D): { probabilities: tf.Tensor2D; landmarks: tf.Tensor3D | null } {
    return tidyResult(() => {
      const { logits, landmarks } = this.apply(images, { training: false });
      return { probabilities: tf.sigmoid(logits), landmarks };
    });
  }

  /** The graphs SACL builds for `images` (inference mode), block by block. */
  graphs(images: tf.Tensor4D): GraphRecord[] {
    const graphs: GraphRecord[] = [];
    tf.tidy(() => { this.apply(images, { training: false, graphs }); });
    return graphs;
  }

  /** Trainable parameter count per part and multiply-adds of one forward pass at the config's input size. */
  complexity(): Complexity {
    const flops = new FlopCounter();
    const size = this.config.inputSize;
    tf.tidy(() => { this.apply(tf.zeros([1, size, size, 3]) as tf.Tensor4D, { training: false, flops }); });
    const parts = PARTS.map((part) => ({ part, params: this.store.count(`${part}.`), flops: flops.byPart.get(part) ?? 0 }));
    return { inputSize: size, params: this.store.count(), flops: flops.total(), parts };
  }

  trainableVariables(): tf.Variable[] {
    return this.store.trainable();
  }

  /** Every parameter and buffer by name (what {@link save} writes). */
  named(): NamedTensor[] {
    return this.store.named().map(({ name, tensor }) => ({ name, tensor }));
  }

  /** Writes config + weights to a directory (the format: model/checkpoint.ts). */
  async save(dir: string): Promise<void> {
    await writeModelDir(dir, this);
  }

  /**
   * The check a saved model passes before anything is allocated: the weights' names and shapes against a
   * shapes-only model of the saved config. Errors name `file` (the model.json read).
   */
  static fits(file: string): FitCheck {
    return (config, seed, specs) => {
      try {
        new AuModel(config, seed, { shapesOnly: true }).store.checkFits(specs);
      } catch (e) {
        const error = e as Error;
        throw new (error instanceof TypeError ? TypeError : RangeError)(`${file}: model config: ${error.message}`);
      }
    };
  }

  /**
   * A model whose parameters are the saved tensors (checked by {@link fits}): nothing drawn, nothing
   * copied. The tensors are disposed here; the parameters keep their data.
   */
  static fromSaved(saved: SavedModel): AuModel {
    try {
      return new AuModel(saved.config, saved.seed, { saved: new Map(saved.tensors.map((t) => [t.name, t.tensor])) });
    } finally {
      tf.dispose(saved.tensors.map((t) => t.tensor));
    }
  }

  /**
   * Rebuilds a model from {@link save}'s directory (any format version); predictions are bit-identical.
   * The saved config and the weights' names and shapes are checked against each other before anything is
   * allocated; the parameters are then made from the file's tensors (no initial values drawn).
   */
  static async load(dir: string): Promise<AuModel> {
    return AuModel.fromSaved(await readModelDir(dir, AuModel.fits(join(dir, 'model.json'))));
  }

  dispose(): void {
    this.store.dispose();
  }
}
