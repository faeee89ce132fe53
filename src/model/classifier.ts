/**
 * Fusion and AU classifier (paper §3.5). Concatenation (the paper's choice): the multi-scale
 * tokens A′ and the SACL nodes B form one token set C; each AU pools it with its own learned query
 * (softmax over tokens) and scores the pooled vector with its own head (D → hidden → 1, GELU). Mean
 * pooling with linear heads is ResT's original classifier (the baseline). The queries start at unit
 * scale (not 0.02 like the linear layers): near-zero queries pool every token uniformly, and the
 * uniform average of 3154 tokens hides the local evidence each AU needs to specialise its query. Cross-attention (Table 9): the
 * nodes attend to the multi-scale map (pooled to the stage-4 grid to keep it affordable) and only the
 * nodes are classified.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import { MultiHeadAttention } from './graph-layers.js';
import { LayerNorm, gelu, matMul, project } from './layers.js';
import type { ForwardContext, ParamStore } from './params.js';
import { constantScalar } from '../tf/constants.js';

export class AuClassifier {
  private readonly norm: LayerNorm | null;
  private readonly queries: tf.Variable | null;
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable | null;
  private readonly b2: tf.Variable | null;

  constructor(store: ParamStore, name: string, readonly config: ModelConfig['classifier'], readonly numAus: number, readonly dim: number) {
    const attention = config.pooling === 'attention';
    this.norm = attention ? new LayerNorm(store, `${name}.norm`, dim) : null;
    this.queries = attention ? store.add(`${name}.queries`, [numAus, dim], { kind: 'truncated-normal', std: 1 }) : null;
    const h = config.hidden;
    this.w1 = store.add(`${name}.heads.fc1.weight`, h ? [numAus, dim, h] : [numAus, dim], { kind: 'truncated-normal', std: 0.02 });
    this.b1 = store.add(`${name}.heads.fc1.bias`, h ? [numAus, 1, h] : [numAus], { kind: 'zeros' });
    this.w2 = h ? store.add(`${name}.heads.fc2.weight`, [numAus, h, 1], { kind: 'truncated-normal', std: 0.02 }) : null;
    this.b2 = h ? store.add(`${name}.heads.fc2.bias`, [numAus], { kind: 'zeros' }) : null;
  }

  /** tokens [B, L, D] → logits [B, numAus]. */
  apply(tokens: tf.Tensor3D, ctx: ForwardContext): tf.Tensor2D {
    const [B, , D] = tokens.shape;
    return tf.tidy(() => {
      let pooled: tf.Tensor3D; // [B, A, D]
      if (this.queries) {
        const t = this.norm!.apply(tokens, ctx);
        const scores = tf.transpose(project(t, this.queries, ctx, true), [0, 2, 1]); // [B, A, L]
        pooled = matMul(tf.softmax(tf.mul(scores, constantScalar(1 / Math.sqrt(D)))), t, ctx) as tf.Tensor3D;
      } else {
        pooled = tf.broadcastTo(tf.mean(tokens, 1, true), [B, this.numAus, D]) as tf.Tensor3D;
      }
      if (!this.w2) {
        ctx.flops?.add(B * this.numAus * D);
        return tf.add(tf.sum(tf.mul(pooled, this.w1), 2), this.b1) as tf.Tensor2D;
      }
      const perAu = tf.transpose(pooled, [1, 0, 2]); // [A, B, D]
      const hidden = gelu(tf.add(matMul(perAu, this.w1, ctx), this.b1));
      const out = tf.reshape(matMul(hidden, this.w2, ctx), [this.numAus, B]);
      return tf.add(tf.transpose(out), this.b2!) as tf.Tensor2D;
    });
  }
}

/** Nodes attend to the multi-scale map: B + Attn(LN B, LN pool(A)). */
export class CrossAttentionFusion {
  private readonly normNodes: LayerNorm;
  private readonly normTokens: LayerNorm;
  private readonly attn: MultiHeadAttention;

  constructor(store: ParamStore, name: string, dim: number, heads: number, readonly poolTo: number) {
    this.normNodes = new LayerNorm(store, `${name}.norm_nodes`, dim);
    this.normTokens = new LayerNorm(store, `${name}.norm_tokens`, dim);
    this.attn = new MultiHeadAttention(store, `${name}.attn`, dim, heads);
  }

  apply(nodes: tf.Tensor3D, map: tf.Tensor4D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      const factor = Math.max(1, Math.floor(map.shape[1] / this.poolTo));
      const pooled = factor > 1 ? tf.avgPool(map, factor, factor, 'valid') : map;
      const tokens = tf.reshape(pooled, [pooled.shape[0], -1, pooled.shape[3]]) as tf.Tensor3D;
      return tf.add(nodes, this.attn.apply(this.normNodes.apply(nodes, ctx), this.normTokens.apply(tokens, ctx), ctx)) as tf.Tensor3D;
    });
  }
}
