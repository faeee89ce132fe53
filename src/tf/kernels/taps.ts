/** Convolution geometry shared by the gradient kernels. */
import * as tf from '@tensorflow/tfjs';

/**
 * The geometry convolution gradients walk: for every output cell (b, oh, ow) and tap (kh, kw), the
 * input cell it read, skipping taps that fell in the padding. Channels (c, multiplier m) are innermost and
 * contiguous in NHWC, so each visit is one pass over C·M values. The order is fixed: deterministic sums.
 */
export function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xOffset: number, dyOffset: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth,
    strideHeight, strideWidth, dilationHeight, dilationWidth, padInfo } = info;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight - padInfo.top + kh * dilationHeight;
        if (ih < 0 || ih >= inHeight) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const dyOffset = ((b * outHeight + oh) * outWidth + ow) * outChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - padInfo.left + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            visit(((b * inHeight + ih) * inWidth + iw) * inChannels, dyOffset, kh * filterWidth + kw);
          }
        }
      }
    }
  }
}
