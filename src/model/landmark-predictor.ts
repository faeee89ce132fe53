/**
 * Landmark predictor (paper §3.3): three blocks of [conv3×3+BN+ReLU, conv3×3+BN+ReLU, maxpool 2×2] on the
 * stem features (56 → 7 at 224 input), flattened, one FC → 49 (x, y) in input pixels. The FC predicts
 * offsets that are added to a constant mean face (the aligned template where the centre crop puts it,
 * v·256 − 16 at 224): the first ROIs already sit on a face, and since the template is no parameter,
 * neither weight decay nor a missing landmark loss can move it. The FC's weights start near zero, its
 * bias at zero.
 */
import * as tf from '@tensorflow/tfjs';
import { NUM_LANDMARKS, inputTemplate } from '../face/landmarks.js';
import { BatchNorm, Conv2d, Linear } from './layers.js';
import type { ForwardContext, ParamStore } from './params.js';

class ConvBnRelu {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(store: ParamStore, name: string, inC: number, outC: number) {
    this.conv = new Conv2d(store, `${name}.conv`, inC, outC, 3);
    this.bn = new BatchNorm(store, `${name}.bn`, outC);
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => this.bn.apply(this.conv.apply(x, ctx), ctx, true)); // BN + ReLU, one kernel when training
  }
}

export class LandmarkPredictor {
  private readonly convs: ConvBnRelu[] = [];
  private readonly fc: Linear;
  private readonly fcBias: tf.Variable;
  /** [98] mean face in input pixels, a constant. */
  readonly template: Float32Array;

  constructor(store: ParamStore, name: string, inChannels: number, widths: number[], gridSize: number, inputSize: number) {
    let c = inChannels;
    widths.forEach((w, b) => {
      this.convs.push(new ConvBnRelu(store, `${name}.blocks.${b}.0`, c, w), new ConvBnRelu(store, `${name}.blocks.${b}.1`, w, w));
      c = w;
    });
    const side = gridSize >> widths.length;
    if (side < 1) throw new RangeError(`landmarks: ${widths.length} pooling blocks do not fit a ${gridSize}×${gridSize} stem map`);
    this.fc = new Linear(store, `${name}.fc`, side * side * c, 2 * NUM_LANDMARKS, false, 1e-4);
    this.fcBias = store.add(`${name}.fc.bias`, [2 * NUM_LANDMARKS], { kind: 'zeros' });
    this.template = inputTemplate(inputSize);
  }

  /** stem: [B, h, w, C] → landmarks [B, 49, 2] in input-image pixels. */
  apply(stem: tf.Tensor4D, ctx: ForwardContext): tf.Tensor3D {
    return tf.tidy(() => {
      let x = stem;
      this.convs.forEach((conv, i) => {
        x = conv.apply(x, ctx);
        if (i % 2 === 1) x = tf.maxPool(x, 2, 2, 'valid');
      });
      const flat = tf.reshape(x, [x.shape[0], -1]);
      const offsets = tf.add(this.fc.apply(flat, ctx), this.fcBias);
      return tf.reshape(tf.add(offsets, tf.tensor1d(this.template)), [x.shape[0], NUM_LANDMARKS, 2]) as tf.Tensor3D;
    });
  }
}
