/**
 * Gradients of the graph kernels and of the fused kernels, registered apart from the forward kernels (as
 * tfjs-core does): each backward pass is a kernel of its own (SaclMaxRelativeGrad, SaclRoiAlignGrad,
 * SaclGeluGrad, SaclBatchNormGrad), so every backend's backward can be tested alone. knnGraph has none: its
 * op hands out indices detached from the tape.
 */
import * as tf from '@tensorflow/tfjs';
import {
  SaclBatchNorm, type SaclBatchNormAttrs, SaclBatchNormGrad, SaclBiasGelu, SaclGelu, SaclGeluGrad,
  SaclMaxRelative, type SaclMaxRelativeAttrs, SaclMaxRelativeGrad, SaclRoiAlign, type SaclRoiAlignAttrs, SaclRoiAlignGrad,
} from './kernel-names.js';
import { SaclLayerNorm, SaclLayerNormGrad, SaclLayerNormNoAffine } from './kernel-names.js';

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as unknown as tf.Tensor | tf.Tensor[];
const first = (t: tf.Tensor | tf.Tensor[]) => (Array.isArray(t) ? t[0]! : t);

/** A function that registers these gradients on its first call and does nothing after. */
function registerOnce(configs: tf.GradConfig[]): () => void {
  let registered = false;
  return () => {
    if (registered) return;
    configs.forEach((c) => tf.registerGradient(c));
    registered = true;
  };
}

/** The neighbour indices and the argmax slots get no gradient (tfjs wants float32 zeros of their shape). */
const none = (t: tf.Tensor) => () => tf.zeros(t.shape, 'float32');

const maxRelativeGradConfig: tf.GradConfig = {
  kernelName: SaclMaxRelative,
  inputsToSave: ['idx'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [idx, argmax] = saved as [tf.Tensor, tf.Tensor];
    const dy = first(dys as tf.Tensor | tf.Tensor[]);
    const { candidateRows, backend } = attrs as unknown as SaclMaxRelativeAttrs;
    // one kernel call makes both gradients: made here, not in the per-input closures (the tape runs
    // each closure in its own tidy, which would dispose the other's tensor)
    const [dx, dCandidates] = [run(SaclMaxRelativeGrad, { dy, idx, argmax }, { candidateRows, backend })].flat();
    const grads: Record<string, () => tf.Tensor> = { x: () => dx!, idx: none(idx) };
    if (candidateRows > 0) grads.candidates = () => dCandidates!;
    return grads;
  },
};

const roiAlignGradConfig: tf.GradConfig = {
  kernelName: SaclRoiAlign,
  inputsToSave: ['features', 'centers'],
  gradFunc: (dy, saved, attrs) => {
    const [features, centers] = saved as [tf.Tensor, tf.Tensor];
    const { step, backend } = attrs as unknown as SaclRoiAlignAttrs;
    return {
      features: () => first(run(SaclRoiAlignGrad, { dy: dy as tf.Tensor, centers }, { featureShape: features.shape, step, backend })),
      // none reaches the centres (the landmark loss trains them)
      centers: () => tf.zerosLike(centers),
    };
  },
};

/** Registers the graph kernels' gradients (once). */
export const registerGraphGradients = registerOnce([maxRelativeGradConfig, roiAlignGradConfig]);

// ---- LayerNorm: the backward pass is one kernel (SaclLayerNormGrad) from x, γ and the saved mean and rstd ----

const layerNormGradConfig: tf.GradConfig = {
  kernelName: SaclLayerNorm,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const [x, gamma, mean, rstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    // mean and rstd are not op outputs (the op disposes them): only y's gradient flows back
    const dy = first(dys as tf.Tensor | tf.Tensor[]);
    // one call makes the three gradients (see maxRelativeGradConfig for why here)
    const [dx, dgamma, dbeta] = [run(SaclLayerNormGrad, { dy, x, mean, rstd, gamma }, {})].flat();
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
};

const layerNormNoAffineGradConfig: tf.GradConfig = {
  kernelName: SaclLayerNormNoAffine,
  inputsToSave: ['x'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved) => {
    const [x, mean, rstd] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const dy = first(dys as tf.Tensor | tf.Tensor[]);
    return { x: () => first(run(SaclLayerNormGrad, { dy, x, mean, rstd }, {})) };
  },
};

/** Registers the LayerNorm kernels' gradients (once). */
export const registerLayerNormGradients = registerOnce([layerNormGradConfig, layerNormNoAffineGradConfig]);

/** GELU's backward kernel from the forward input alone. */
const geluGradConfig: tf.GradConfig = {
  kernelName: SaclGelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    return { x: () => first(run(SaclGeluGrad, { dy: dy as tf.Tensor, x }, {})) };
  },
};

/** The same with the bias: its gradient is dx summed over every axis but the last. */
const biasGeluGradConfig: tf.GradConfig = {
  kernelName: SaclBiasGelu,
  inputsToSave: ['x', 'bias'],
  gradFunc: (dy, saved) => {
    const [x, bias] = saved as [tf.Tensor, tf.Tensor];
    const dx = first(run(SaclGeluGrad, { dy: dy as tf.Tensor, x, bias }, {}));
    return { x: () => dx, bias: () => tf.sum(dx, x.shape.slice(0, -1).map((_, i) => i)) };
  },
};

/**
 * BatchNorm's backward kernel from x, gamma, the statistics and (for the ReLU mask) y; all three outputs'
 * gradients go in (tfjs hands zeros for the statistics when only y is used).
 */
const batchNormGradConfig: tf.GradConfig = {
  kernelName: SaclBatchNorm,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, gamma, y, mean, variance] = saved as tf.Tensor[];
    const [dy, dMean, dVariance] = dys as tf.Tensor[];
    const { eps, relu } = attrs as unknown as SaclBatchNormAttrs;
    // one call makes the three gradients (made here, not in the closures: see maxRelativeGradConfig)
    const inputs = { dy: dy!, dMean: dMean!, dVariance: dVariance!, x: x!, y: y!, gamma: gamma!, mean: mean!, variance: variance! };
    const [dx, dGamma, dBeta] = run(SaclBatchNormGrad, inputs, { eps, relu }) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dGamma!, beta: () => dBeta! };
  },
};

/** Registers the gradients of the fused kernels SaclGelu, SaclBiasGelu and SaclBatchNorm (once). */
export const registerGeluBatchNormGradients = registerOnce([geluGradConfig, biasGeluGradConfig, batchNormGradConfig]);

/**
 * Sum's gradient: dy, reshaped with the summed axes kept as 1, tiled over them. tfjs-core's multiplies it
 * by a ones tensor of x's shape that JavaScript fills, which on the cpu backend is a V8 backing store
 * and so a forced young-generation GC in the middle of a step (release.ts); the tile is a copy, the
 * same values bit for bit (dy · 1 = dy, −0 and NaN included), and on the cpu backend a native kernel.
 */
const sumGradConfig: tf.GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x!.shape);
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reps = x!.shape.map((d, i) => (axes.includes(i) ? d : 1));
    const g = tf.reshape(dy as tf.Tensor, kept);
    return { x: () => (reps.every((r) => r === 1) ? tf.clone(g) : tf.tile(g, reps)) };
  },
};
export const registerReductionGradients = registerOnce([sumGradConfig]);
