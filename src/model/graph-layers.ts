/**
 * The node-update layers SACL can use (paper Table 9), Vision GNN style, on node features [B, N, C] and a
 * neighbour list [B, N, K]: Max-Relative GraphConv (default), EdgeConv, GIN and GraphSAGE each output 2C
 * channels through a grouped 1×1 layer + BN + GELU; and a pre-norm multi-head self-attention for the
 * Transformer variant (no graph).
 */
import * as tf from '@tensorflow/tfjs';
import { maxRelative } from '../tf/ops.js';
import type { GcnType } from './config.js';
import { BatchNorm, GroupedLinear, LayerNorm, Linear, gelu, matMul } from './layers.js';
import type { ForwardContext, ParamStore } from './params.js';
import { constantScalar } from '../tf/constants.js';

/** Neighbour features [B, N, K, C]. */
function neighbours(x: tf.Tensor3D, idx: tf.Tensor3D): tf.Tensor4D {
  return tf.gather(x, idx, 1, 1) as unknown as tf.Tensor4D;
}

/** [a0, b0, a1, b1, …] along the last axis (Vision GNN's channel interleave). */
function interleave(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.reshape(tf.stack([a, b], -1), [...a.shape.slice(0, -1), 2 * a.shape[a.rank - 1]!]);
}

/** Grouped 1×1 + BatchNorm + GELU. */
class BasicConv {
  private readonly fc: GroupedLinear;
  private readonly bn: BatchNorm;

  constructor(store: ParamStore, name: string, inF: number, outF: number, groups: number) {
    this.fc = new GroupedLinear(store, `${name}.0`, inF, outF, groups);
    this.bn = new BatchNorm(store, `${name}.1`, outF);
  }

  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => gelu(this.bn.apply(this.fc.apply(x, ctx), ctx)));
  }
}

export interface GraphConv {
  apply(x: tf.Tensor3D, idx: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D;
}

/** [x, max_j(x_j − x_i)] interleaved → 2C. The max runs in the native maxRelative op. */
class MaxRelativeConv implements GraphConv {
  private readonly nn: BasicConv;

  constructor(store: ParamStore, name: string, c: number, groups: number) {
    this.nn = new BasicConv(store, `${name}.nn`, 2 * c, 2 * c, groups);
  }

  apply(x: tf.Tensor3D, idx: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => this.nn.apply(interleave(x, maxRelative(x, idx)), ctx) as tf.Tensor3D);
  }
}

/** max_j nn([x_i, x_j − x_i]) → 2C. */
class EdgeConv implements GraphConv {
  private readonly nn: BasicConv;

  constructor(store: ParamStore, name: string, c: number, groups: number) {
    this.nn = new BasicConv(store, `${name}.nn`, 2 * c, 2 * c, groups);
  }

  apply(x: tf.Tensor3D, idx: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      const xj = neighbours(x, idx);
      const xi = tf.broadcastTo(tf.expandDims(x, 2), xj.shape);
      return tf.max(this.nn.apply(tf.concat([xi, tf.sub(xj, xi)], -1), ctx), 2) as tf.Tensor3D;
    });
  }
}

/** nn((1 + ε)·x_i + Σ_j x_j) → 2C, ε learned (starts at 0). */
class GinConv implements GraphConv {
  private readonly nn: BasicConv;
  private readonly eps: tf.Variable;

  constructor(store: ParamStore, name: string, c: number, groups: number) {
    this.nn = new BasicConv(store, `${name}.nn`, c, 2 * c, groups);
    this.eps = store.add(`${name}.eps`, [1], { kind: 'zeros' });
  }

  apply(x: tf.Tensor3D, idx: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => this.nn.apply(tf.add(tf.mul(tf.add(this.eps, constantScalar(1)), x), tf.sum(neighbours(x, idx), 2)), ctx) as tf.Tensor3D);
  }
}

/** nn2([x_i, max_j nn1(x_j)]) → 2C. */
class SageConv implements GraphConv {
  private readonly nn1: BasicConv;
  private readonly nn2: BasicConv;

  constructor(store: ParamStore, name: string, c: number, groups: number) {
    this.nn1 = new BasicConv(store, `${name}.nn1`, c, c, groups);
    this.nn2 = new BasicConv(store, `${name}.nn2`, 2 * c, 2 * c, groups);
  }

  apply(x: tf.Tensor3D, idx: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => this.nn2.apply(tf.concat([x, tf.max(this.nn1.apply(neighbours(x, idx), ctx), 2)], -1), ctx) as tf.Tensor3D);
  }
}

export function graphConv(type: GcnType, store: ParamStore, name: string, channels: number, groups: number): GraphConv {
  switch (type) {
    case 'max-relative': return new MaxRelativeConv(store, name, channels, groups);
    case 'edgeconv': return new EdgeConv(store, name, channels, groups);
    case 'gin': return new GinConv(store, name, channels, groups);
    case 'graphsage': return new SageConv(store, name, channels, groups);
  }
}

/** Multi-head attention of queries x over keys/values y (self-attention when y = x). */
export class MultiHeadAttention {
  private readonly q: Linear;
  private readonly kv: Linear;
  private readonly proj: Linear;

  constructor(store: ParamStore, name: string, readonly dim: number, readonly heads: number, keyDim = dim) {
    this.q = new Linear(store, `${name}.q`, dim, dim);
    this.kv = new Linear(store, `${name}.kv`, keyDim, 2 * dim);
    this.proj = new Linear(store, `${name}.proj`, dim, dim);
  }

  apply(x: tf.Tensor3D, y: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    const [B, N, C] = x.shape;
    const M = y.shape[1];
    const h = this.heads;
    const d = C / h;
    return tf.tidy(() => {
      const q = tf.transpose(tf.reshape(this.q.apply(x, ctx), [B, N, h, d]), [0, 2, 1, 3]);
      const k = tf.transpose(tf.reshape(this.kv.applyColumns(y, 0, C, ctx), [B, M, h, d]), [0, 2, 1, 3]);
      const v = tf.transpose(tf.reshape(this.kv.applyColumns(y, C, C, ctx), [B, M, h, d]), [0, 2, 1, 3]);
      const attn = tf.softmax(tf.mul(matMul(q, k!, ctx, true), 1 / Math.sqrt(d)));
      const out = tf.reshape(tf.transpose(matMul(attn, v!, ctx), [0, 2, 1, 3]), [B, N, C]);
      return this.proj.apply(out, ctx) as tf.Tensor3D;
    });
  }
}

/** Pre-norm Transformer encoder block: x + MHSA(LN x), then + MLP(LN x). */
export class TransformerBlock {
  private readonly norm1: LayerNorm;
  private readonly attn: MultiHeadAttention;
  private readonly norm2: LayerNorm;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(store: ParamStore, name: string, dim: number, heads: number, mlpRatio: number) {
    this.norm1 = new LayerNorm(store, `${name}.norm1`, dim);
    this.attn = new MultiHeadAttention(store, `${name}.attn`, dim, heads);
    this.norm2 = new LayerNorm(store, `${name}.norm2`, dim);
    this.fc1 = new Linear(store, `${name}.mlp.fc1`, dim, dim * mlpRatio);
    this.fc2 = new Linear(store, `${name}.mlp.fc2`, dim * mlpRatio, dim);
  }

  apply(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      const n = this.norm1.apply(x, ctx);
      const y = tf.add(x, this.attn.apply(n, n, ctx)) as tf.Tensor3D;
      return tf.add(y, this.fc2.apply(this.fc1.applyGelu(this.norm2.apply(y, ctx), ctx), ctx)) as tf.Tensor3D;
    });
  }
}
