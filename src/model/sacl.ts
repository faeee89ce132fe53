/**
 * Self-adjusting AU-correlation learning (paper §3.4). ROI crops → flattened nodes → an input
 * FC → S stages; each stage holds L_i blocks of
 *   G'  = BN(FC_after(GCN(BN(FC_before(G)), graph))) + G      (eq. 2; GCN = grouped 1×1 + BN + GELU)
 *   G'' = BN(FC_2(GELU(BN(FC_1(G'))))) + G'                    (eq. 3)
 * and ends with an FC (+BN) that widens the features. With graph 'knn' every block builds its graph
 * afresh from its input features (the previous FFN's output), so the graph adjusts itself as features
 * deepen; 'facs' and 'stats' use one fixed graph throughout (FBG, SBG; fixed-graphs.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { knnGraph } from '../tf/ops.js';
import type { AuSet } from '../face/au.js';
import type { SaclConfig } from './config.js';
import { fixedGraphOf, type NeighbourLists } from './fixed-graphs.js';
import { graphConv, TransformerBlock, type GraphConv } from './graph-layers.js';
import { BatchNorm, Linear, gelu } from './layers.js';
import type { ForwardContext, ParamStore } from './params.js';

/** FC + BN. */
class Dense {
  private readonly fc: Linear;
  private readonly bn: BatchNorm;

  constructor(store: ParamStore, name: string, inF: number, outF: number) {
    this.fc = new Linear(store, `${name}.0`, inF, outF);
    this.bn = new BatchNorm(store, `${name}.1`, outF);
  }

  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    return tf.tidy(() => this.bn.apply(this.fc.apply(x, ctx), ctx));
  }
}

class GraphBlock {
  private readonly before: Dense;
  private readonly conv: GraphConv;
  private readonly after: Dense;
  private readonly ffn1: Dense;
  private readonly ffn2: Dense;

  constructor(store: ParamStore, name: string, c: number, cfg: SaclConfig) {
    this.before = new Dense(store, `${name}.grapher.fc1`, c, c);
    this.conv = graphConv(cfg.gcn, store, `${name}.grapher.graph_conv`, c, cfg.groups);
    this.after = new Dense(store, `${name}.grapher.fc2`, 2 * c, c);
    this.ffn1 = new Dense(store, `${name}.ffn.fc1`, c, c * cfg.ffnRatio);
    this.ffn2 = new Dense(store, `${name}.ffn.fc2`, c * cfg.ffnRatio, c);
  }

  apply(x: tf.Tensor3D, graph: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      const g = tf.add(this.after.apply(this.conv.apply(this.before.apply(x, ctx) as tf.Tensor3D, graph, ctx), ctx), x) as tf.Tensor3D;
      return tf.add(this.ffn2.apply(gelu(this.ffn1.apply(g, ctx)), ctx), g) as tf.Tensor3D;
    });
  }
}

export class Sacl {
  private readonly input: Dense;
  private readonly stages: (GraphBlock | TransformerBlock)[][] = [];
  private readonly widen: Dense[] = [];
  private readonly fixedGraph: NeighbourLists | null;

  constructor(store: ParamStore, name: string, readonly config: SaclConfig, readonly auSet: AuSet, nodeDim: number, outDim: number) {
    const { widths, depths } = config;
    this.input = new Dense(store, `${name}.input`, nodeDim, widths[0]!);
    widths.forEach((w, s) => {
      this.stages.push(Array.from({ length: depths[s]! }, (_, i) => (config.layer === 'transformer'
        ? new TransformerBlock(store, `${name}.stages.${s}.${i}`, w, config.heads, config.ffnRatio)
        : new GraphBlock(store, `${name}.stages.${s}.${i}`, w, config))));
      const next = s + 1 < widths.length ? widths[s + 1]! : outDim;
      this.widen.push(new Dense(store, `${name}.widen.${s}`, w, next));
    });
    this.fixedGraph = fixedGraphOf(auSet, config);
  }

  /** The KNN graph of a block's input features (self-adjusting). */
  private knn(x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    const [B, N, C] = x.shape;
    ctx.flops?.add(B * N * N * C);
    return knnGraph(x, this.config.k, { metric: this.config.metric, dilation: this.config.dilation });
  }

  /** roiFeatures: [B, N, S·S·C0] → node features [B, N, outDim]. */
  apply(roiFeatures: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      let x = this.input.apply(roiFeatures, ctx) as tf.Tensor3D;
      const [B, N] = x.shape;
      // the fixed graph (FBG, SBG) is the same for every block: build its batch once per pass
      const fixed = this.fixedGraph
        ? tf.tile(tf.tensor3d(this.fixedGraph.neighbours, [1, N, this.fixedGraph.width], 'int32'), [B, 1, 1]) as tf.Tensor3D : null;
      this.stages.forEach((blocks, s) => {
        blocks.forEach((block, i) => {
          if (block instanceof TransformerBlock) {
            x = block.apply(x, ctx);
            return;
          }
          const graph = fixed ?? this.knn(x, ctx);
          if (ctx.graphs) {
            ctx.graphs.push({ stage: s, block: i, features: (x.dataSync() as Float32Array).slice(), featureShape: x.shape,
              neighbours: (graph.dataSync() as Int32Array).slice(), neighbourShape: graph.shape });
          }
          x = block.apply(x, graph, ctx);
        });
        x = this.widen[s]!.apply(x, ctx) as tf.Tensor3D;
      });
      return x;
    });
  }
}
