/**
 * Multi-scale feature learning (paper eq. 1): A = concat(F1, up2(F2), up4(F3), up8(F4)) on the stem grid,
 * bilinear (PyTorch align_corners=False, i.e. half-pixel centres), D = Σ dims channels. No parameters.
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from './params.js';

export function msflTokens(stages: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D {
  const [B, H, W] = stages[0]!.shape;
  return tf.tidy(() => {
    const maps = stages.map((f, i) => {
      if (i === 0) return f;
      ctx.flops?.add(B * H * W * f.shape[3] * 4); // four taps per up-sampled value
      return tf.image.resizeBilinear(f, [H, W], false, true);
    });
    return tf.concat(maps, 3) as tf.Tensor4D;
  });
}
