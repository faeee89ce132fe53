/**
 * ResT-Lite (the paper's backbone, §3.2; ImageNet-pretrained, §4.1.3), channels-last: a convolutional
 * stem with pixel attention, then four stages of pre-norm Transformer blocks with efficient multi-head
 * self-attention (EMSA), stages 2–4 opened by a strided patch embedding. Parameter names are those of the
 * ResT authors' PyTorch model (`stem.conv1`, `stem.norm1`, `stage1.0.attn.q`, …) under `backbone.`, so
 * their ImageNet weights load by name (model/pretrained.ts); each weight records its PyTorch layout.
 */
import * as tf from '@tensorflow/tfjs';
import { layerNorm } from '../tf/fused.js';
import type { BackboneConfig } from './config.js';
import { BatchNorm, Conv2d, LayerNorm, Linear, gelu, matMul, project } from './layers.js';
import type { ForwardContext, ParamStore } from './params.js';
import { constantScalar } from '../tf/constants.js';

/** Pixel attention: x · sigmoid(depthwise conv3×3(x)). */
class PixelAttention {
  private readonly conv: Conv2d;

  constructor(store: ParamStore, name: string, channels: number) {
    this.conv = new Conv2d(store, `${name}.pa_conv`, channels, channels, 3, { depthwise: true });
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => tf.mul(x, tf.sigmoid(this.conv.apply(x, ctx))));
  }
}

/** conv3×3 s2 (no bias) + BN + ReLU; conv3×3 s1 + BN + ReLU; conv3×3 s2; PA. 224 → 56. */
class Stem {
  private readonly conv1: Conv2d;
  private readonly norm1: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly norm2: BatchNorm;
  private readonly conv3: Conv2d;
  private readonly pos: PixelAttention;

  constructor(store: ParamStore, name: string, out: number) {
    const mid = out / 2;
    this.conv1 = new Conv2d(store, `${name}.conv1`, 3, mid, 3, { stride: 2, bias: false });
    this.norm1 = new BatchNorm(store, `${name}.norm1`, mid);
    this.conv2 = new Conv2d(store, `${name}.conv2`, mid, mid, 3, { bias: false });
    this.norm2 = new BatchNorm(store, `${name}.norm2`, mid);
    this.conv3 = new Conv2d(store, `${name}.conv3`, mid, out, 3, { stride: 2, bias: false });
    this.pos = new PixelAttention(store, `${name}.pos`, out);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      let y = this.norm1.apply(this.conv1.apply(x, ctx), ctx, true);
      y = this.norm2.apply(this.conv2.apply(y, ctx), ctx, true);
      return this.pos.apply(this.conv3.apply(y, ctx), ctx);
    });
  }
}

/** Stages 2–4: conv3×3 s2 (bias) + BN + PA. */
class PatchEmbed {
  private readonly conv: Conv2d;
  private readonly norm: BatchNorm;
  private readonly pos: PixelAttention;

  constructor(store: ParamStore, name: string, inChannels: number, out: number) {
    this.conv = new Conv2d(store, `${name}.conv`, inChannels, out, 3, { stride: 2 });
    this.norm = new BatchNorm(store, `${name}.norm`, out);
    this.pos = new PixelAttention(store, `${name}.pos`, out);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => this.pos.apply(this.norm.apply(this.conv.apply(x, ctx), ctx), ctx));
  }
}

/**
 * Efficient multi-head self-attention: keys and values from a depthwise-strided, layer-normed copy of the
 * map (when sr > 1); with several heads, a 1×1 conv mixes the heads' logits, then softmax and instance
 * norm over each head's attention map.
 */
class Emsa {
  private readonly q: Linear;
  private readonly kv: Linear;
  private readonly proj: Linear;
  private readonly sr: Conv2d | null;
  private readonly srNorm: LayerNorm | null;
  private readonly transform: { weight: tf.Variable; bias: tf.Variable } | null;
  private readonly headDim: number;

  constructor(store: ParamStore, name: string, readonly dim: number, readonly heads: number, readonly srRatio: number) {
    this.headDim = dim / heads;
    this.q = new Linear(store, `${name}.q`, dim, dim);
    this.kv = new Linear(store, `${name}.kv`, dim, 2 * dim);
    this.proj = new Linear(store, `${name}.proj`, dim, dim);
    this.sr = srRatio > 1 ? new Conv2d(store, `${name}.sr`, dim, dim, srRatio + 1, { stride: srRatio, pad: Math.floor(srRatio / 2), depthwise: true }) : null;
    this.srNorm = srRatio > 1 ? new LayerNorm(store, `${name}.sr_norm`, dim) : null;
    this.transform = heads > 1 ? {
      weight: store.add(`${name}.transform_conv.weight`, [heads, heads], { kind: 'normal', std: Math.sqrt(2 / heads) }),
      bias: store.add(`${name}.transform_conv.bias`, [heads], { kind: 'zeros' }),
    } : null;
    if (this.transform) store.setTorchLayout(`${name}.transform_conv.weight`, 'conv1x1');
  }

  /** x: [B, H, W, C] (already layer-normed) → [B, H·W, C]. */
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor3D {
    const [B, H, W, C] = x.shape;
    const h = this.heads;
    const d = this.headDim;
    return tf.tidy(() => {
      const tokens = tf.reshape(x, [B, H * W, C]);
      const q = tf.transpose(tf.reshape(this.q.apply(tokens, ctx), [B, H * W, h, d]), [0, 2, 1, 3]);
      const source = this.sr ? this.srNorm!.apply(this.sr.apply(x, ctx), ctx) : x;
      const n = source.shape[1]! * source.shape[2]!;
      const src = tf.reshape(source, [B, n, C]);
      const k = tf.transpose(tf.reshape(this.kv.applyColumns(src, 0, C, ctx), [B, n, h, d]), [0, 2, 1, 3]);
      const v = tf.transpose(tf.reshape(this.kv.applyColumns(src, C, C, ctx), [B, n, h, d]), [0, 2, 1, 3]);
      let attn = tf.mul(matMul(q, k, ctx, true), constantScalar(1 / Math.sqrt(d))); // [B, h, HW, n]
      if (this.transform) {
        const mixed = tf.add(project(tf.transpose(attn, [0, 2, 3, 1]), this.transform.weight, ctx, true), this.transform.bias);
        attn = tf.softmax(tf.transpose(mixed, [0, 3, 1, 2]));
        // instance norm over each head's [HW, n] map: LayerNorm without affine on the flattened rows
        attn = tf.reshape(layerNorm(tf.reshape(attn, [B, h, H * W * n])), attn.shape);
      } else {
        attn = tf.softmax(attn);
      }
      const out = tf.reshape(tf.transpose(matMul(attn, v, ctx), [0, 2, 1, 3]), [B, H * W, C]);
      return this.proj.apply(out, ctx) as tf.Tensor3D;
    });
  }
}

class Block {
  private readonly norm1: LayerNorm;
  private readonly attn: Emsa;
  private readonly norm2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(store: ParamStore, name: string, dim: number, heads: number, srRatio: number, mlpRatio: number) {
    this.norm1 = new LayerNorm(store, `${name}.norm1`, dim);
    this.attn = new Emsa(store, `${name}.attn`, dim, heads, srRatio);
    this.norm2 = new LayerNorm(store, `${name}.norm2`, dim);
    this.fc1 = new Linear(store, `${name}.mlp.fc1`, dim, dim * mlpRatio);
    this.fc2 = new Linear(store, `${name}.mlp.fc2`, dim * mlpRatio, dim);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      const y = tf.add(x, tf.reshape(this.attn.apply(this.norm1.apply(x, ctx), ctx), x.shape)) as tf.Tensor4D;
      return tf.add(y, this.fc2.apply(this.fc1.applyGelu(this.norm2.apply(y, ctx), ctx), ctx)) as tf.Tensor4D;
    });
  }
}

export interface BackboneOutput {
  /** The stem's "basic features" F ([B, H/4, W/4, dims[0]]): input of the landmark predictor and ROIs. */
  stem: tf.Tensor4D;
  /** F1…F4 at strides 4, 8, 16, 32; F4 after the final LayerNorm. */
  stages: tf.Tensor4D[];
}

export class ResTBackbone {
  private readonly stem: Stem;
  private readonly embeds: PatchEmbed[] = [];
  private readonly stages: Block[][] = [];
  private readonly norm: LayerNorm;

  constructor(store: ParamStore, name: string, readonly config: BackboneConfig) {
    const { dims, heads, depths, srRatios, mlpRatio } = config;
    this.stem = new Stem(store, `${name}.stem`, dims[0]!);
    for (let s = 0; s < 4; s++) {
      if (s > 0) this.embeds.push(new PatchEmbed(store, `${name}.patch_embed_${s + 1}`, dims[s - 1]!, dims[s]!));
      this.stages.push(Array.from({ length: depths[s]! }, (_, i) => new Block(store, `${name}.stage${s + 1}.${i}`, dims[s]!, heads[s]!, srRatios[s]!, mlpRatio)));
    }
    this.norm = new LayerNorm(store, `${name}.norm`, dims[3]!);
  }

  /** images: [B, H, W, 3], normalized. */
  apply(images: tf.Tensor4D, ctx: ForwardContext): BackboneOutput {
    return tf.tidy(() => {
      const stem = this.stem.apply(images, ctx);
      const stages: tf.Tensor4D[] = [];
      let x = stem;
      for (let s = 0; s < 4; s++) {
        if (s > 0) x = this.embeds[s - 1]!.apply(x, ctx);
        for (const block of this.stages[s]!) x = block.apply(x, ctx);
        stages.push(s === 3 ? this.norm.apply(x, ctx) : x);
      }
      return { stem, stages };
    });
  }
}
