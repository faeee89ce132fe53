/**
 * The layers the model is built from, channels-last. Each creates its parameters in a ParamStore under
 * `name` (initialized like ResT/timm: linear trunc-normal 0.02, conv normal with fan-out He gain, norms at
 * identity) and counts its multiply-adds into the context's FlopCounter.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, gelu as fusedGelu, layerNorm } from '../tf/fused.js';
import type { ForwardContext, ParamStore } from './params.js';
import { rangeError } from '../util/validate.js';
import { constantScalar } from '../tf/constants.js';

const prod = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * GELU, exact (erf) form as PyTorch's default, of x (+ bias [C] along the last axis): one fused kernel each
 * way where the backend has it.
 */
export function gelu(x: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return fusedGelu(x, bias);
}

export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(store: ParamStore, name: string, readonly inFeatures: number, readonly outFeatures: number, bias = true, std = 0.02) {
    this.weight = store.add(`${name}.weight`, [inFeatures, outFeatures], { kind: 'truncated-normal', std });
    store.setTorchLayout(`${name}.weight`, 'linear');
    this.bias = bias ? store.add(`${name}.bias`, [outFeatures], { kind: 'zeros' }) : null;
  }

  /** Applies to the last axis of x (any rank). */
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return this.applyColumns(x, 0, this.outFeatures, ctx);
  }

  /** gelu(apply(x)), the bias added inside the GELU kernel. */
  applyGelu(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const rows = x.size / this.inFeatures;
    ctx.flops?.add(rows * this.inFeatures * this.outFeatures);
    return tf.tidy(() => {
      const y = gelu(tf.matMul(tf.reshape(x, [rows, this.inFeatures]), this.weight), this.bias ?? undefined);
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }

  /**
   * Output features [start, start + count) only (e.g. keys and values of one kv layer): slicing the weight
   * is far cheaper than slicing the output.
   */
  applyColumns(x: tf.Tensor, start: number, count: number, ctx: ForwardContext): tf.Tensor {
    const rows = x.size / this.inFeatures;
    ctx.flops?.add(rows * this.inFeatures * count);
    return tf.tidy(() => {
      const whole = start === 0 && count === this.outFeatures;
      const w = whole ? this.weight : tf.slice(this.weight, [0, start], [this.inFeatures, count]);
      let y: tf.Tensor = tf.matMul(tf.reshape(x, [rows, this.inFeatures]), w);
      if (this.bias) y = tf.add(y, whole ? this.bias : tf.slice(this.bias, [start], [count]));
      return tf.reshape(y, [...x.shape.slice(0, -1), count]);
    });
  }
}

/**
 * A 1×1 layer with channel groups (the graph convolutions' "Conv2d(2C, C', 1, groups=g)"): group i maps
 * input channels [i·in/g, (i+1)·in/g) to output channels [i·out/g, (i+1)·out/g).
 */
export class GroupedLinear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(store: ParamStore, name: string, readonly inFeatures: number, readonly outFeatures: number, readonly groups: number) {
    if (inFeatures % groups || outFeatures % groups) throw rangeError(`the groups of ${name}`, `a divisor of ${inFeatures} and ${outFeatures}`, groups);
    this.weight = store.add(`${name}.weight`, [groups, inFeatures / groups, outFeatures / groups], { kind: 'truncated-normal', std: 0.02 });
    this.bias = store.add(`${name}.bias`, [outFeatures], { kind: 'zeros' });
  }

  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const g = this.groups;
    const rows = x.size / this.inFeatures;
    ctx.flops?.add((rows * this.inFeatures * this.outFeatures) / g);
    if (g === 1) {
      return tf.tidy(() => tf.reshape(tf.add(tf.matMul(tf.reshape(x, [rows, this.inFeatures]), tf.reshape(this.weight, [this.inFeatures, this.outFeatures])), this.bias),
        [...x.shape.slice(0, -1), this.outFeatures]));
    }
    return tf.tidy(() => {
      const xg = tf.transpose(tf.reshape(x, [rows, g, this.inFeatures / g]), [1, 0, 2]); // [g, rows, in/g]
      const yg = tf.matMul(xg, this.weight); // [g, rows, out/g]
      const y = tf.reshape(tf.transpose(yg, [1, 0, 2]), [rows, this.outFeatures]);
      return tf.reshape(tf.add(y, this.bias), [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }
}

export interface ConvOptions {
  stride?: number;
  /** Symmetric zero padding (PyTorch's padding=k//2 by default). */
  pad?: number;
  bias?: boolean;
  /** Depthwise (groups = channels, multiplier 1). */
  depthwise?: boolean;
}

export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  private readonly stride: number;
  private readonly pad: number;
  private readonly depthwise: boolean;

  constructor(store: ParamStore, name: string, readonly inChannels: number, readonly outChannels: number, readonly kernel: number,
    { stride = 1, pad = Math.floor(kernel / 2), bias = true, depthwise = false }: ConvOptions = {}) {
    if (depthwise && inChannels !== outChannels) throw new RangeError(`${name}: a depthwise conv keeps the channel count`);
    const fanOut = (kernel * kernel * outChannels) / (depthwise ? outChannels : 1);
    const shape = depthwise ? [kernel, kernel, inChannels, 1] : [kernel, kernel, inChannels, outChannels];
    this.weight = store.add(`${name}.weight`, shape, { kind: 'normal', std: Math.sqrt(2 / fanOut) });
    store.setTorchLayout(`${name}.weight`, depthwise ? 'depthwise' : 'conv');
    this.bias = bias ? store.add(`${name}.bias`, [outChannels], { kind: 'zeros' }) : null;
    this.stride = stride;
    this.pad = pad;
    this.depthwise = depthwise;
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      let y = this.depthwise
        ? tf.depthwiseConv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad)
        : tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad);
      ctx.flops?.add(prod(y.shape) * this.kernel * this.kernel * (this.depthwise ? 1 : this.inChannels));
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}

/**
 * BatchNorm over every axis but the last (PyTorch BatchNorm1d/2d semantics: batch statistics while
 * training, running estimates updated with momentum 0.1 and the unbiased variance; eps 1e-5).
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(store: ParamStore, name: string, readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    this.gamma = store.add(`${name}.weight`, [channels], { kind: 'ones' });
    this.beta = store.add(`${name}.bias`, [channels], { kind: 'zeros' });
    this.runningMean = store.add(`${name}.running_mean`, [channels], { kind: 'zeros' }, false);
    this.runningVar = store.add(`${name}.running_var`, [channels], { kind: 'ones' }, false);
  }

  /** Normalizes x [..., C]; with relu, max(·, 0) after it (fused into the training-mode kernel). */
  apply<T extends tf.Tensor>(x: T, ctx: ForwardContext, relu = false): T {
    const count = x.size / this.channels;
    if (!ctx.training || count < 2) {
      return tf.tidy(() => {
        const y = tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.eps);
        return relu ? tf.relu(y) : y;
      }) as T;
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, this.gamma, this.beta, { eps: this.eps, relu });
      const m = this.momentum;
      const keep = constantScalar(1 - m);
      const take = constantScalar(m);
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, keep), tf.mul(mean, take)));
      // the unbiased variance's factor depends on the batch's size and the map's: a few values in a run
      // (the last, smaller batch of an epoch adds its own), kept like the momentum terms
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, keep), tf.mul(variance, constantScalar((m * count) / (count - 1)))));
      return y;
    });
  }
}

/** LayerNorm over the last axis; eps 1e-5 as PyTorch's nn.LayerNorm, which ResT uses with its default. */
export class LayerNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(store: ParamStore, name: string, readonly channels: number, readonly eps = 1e-5) {
    this.gamma = store.add(`${name}.weight`, [channels], { kind: 'ones' });
    this.beta = store.add(`${name}.bias`, [channels], { kind: 'zeros' });
  }

  /** One fused kernel forward and one backward where the backend has them (src/tf/fused.ts). */
  apply<T extends tf.Tensor>(x: T, _ctx: ForwardContext): T {
    return layerNorm(x, this.gamma, this.beta, this.eps);
  }
}

/**
 * x (any rank) times a 2-D matrix along x's last axis, as one 2-D product (tfjs' broadcasting batched
 * matMul has a wrong gradient shape for the broadcast operand), multiply-adds counted.
 */
export function project(x: tf.Tensor, w: tf.Tensor, ctx: ForwardContext, transposeW = false): tf.Tensor {
  const k = x.shape[x.rank - 1]!;
  const n = transposeW ? w.shape[0]! : w.shape[1]!;
  const rows = x.size / k;
  ctx.flops?.add(rows * k * n);
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [rows, k]), w, false, transposeW), [...x.shape.slice(0, -1), n]));
}

/** Matrix product a·b (batched over equal leading axes) with its multiply-adds counted. */
export function matMul(a: tf.Tensor, b: tf.Tensor, ctx: ForwardContext, transposeB = false): tf.Tensor {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = transposeB ? b.shape[b.rank - 2]! : b.shape[b.rank - 1]!;
  ctx.flops?.add((a.size / (m * k)) * m * k * n);
  return tf.matMul(a, b, false, transposeB);
}
