/**
 * The graph ops written with stock tfjs ops only (gather, max, topk): a second reference for the native
 * ones, and what runs where the addon cannot. Slower and memory-hungrier (the KNN builds the full B×N×M
 * distance tensor), differentiable by tfjs' own autodiff. Ties may resolve differently from the native
 * rule (tfjs' max gradient reaches every tied neighbour), so compare them on tie-free data.
 */
import * as tf from '@tensorflow/tfjs';
import type { KnnMetric } from '../types.js';

/** Full distance tensor [B, N, M] for a metric (float32). */
function distances(x: tf.Tensor3D, y: tf.Tensor3D, metric: KnnMetric, normalize: boolean): tf.Tensor3D {
  return tf.tidy(() => {
    const unit = (t: tf.Tensor3D) => {
      const n = tf.sqrt(tf.sum(tf.square(t), 2, true));
      return tf.div(t, tf.where(tf.equal(n, 0), tf.onesLike(n), n)) as tf.Tensor3D;
    };
    const xs = normalize ? unit(x) : x;
    const ys = normalize ? unit(y) : y;
    if (metric === 'cosine') {
      const dot = tf.matMul(xs, ys, false, true);
      const nx = tf.sqrt(tf.sum(tf.square(xs), 2, true));
      const ny = tf.transpose(tf.sqrt(tf.sum(tf.square(ys), 2, true)), [0, 2, 1]);
      const denom = tf.mul(nx, ny);
      const cos = tf.div(dot, tf.where(tf.equal(denom, 0), tf.onesLike(denom), denom));
      return tf.where(tf.equal(denom, 0), tf.onesLike(dot), tf.relu(tf.sub(1, cos))) as tf.Tensor3D;
    }
    const diff = tf.sub(tf.expandDims(xs, 2), tf.expandDims(ys, 1)); // [B, N, M, D]
    return tf.sum(metric === 'manhattan' ? tf.abs(diff) : tf.square(diff), 3) as tf.Tensor3D;
  });
}

export function knnGraphPure(x: tf.Tensor3D, k: number,
  { metric = 'euclidean', normalize = false, dilation = 1, candidates }: { metric?: KnnMetric; normalize?: boolean; dilation?: number; candidates?: tf.Tensor3D } = {}): tf.Tensor3D {
  return tf.tidy(() => {
    const d = distances(x, candidates ?? x, metric, normalize);
    const { indices } = tf.topk(tf.neg(d), k * dilation, true);
    if (dilation === 1) return indices as tf.Tensor3D;
    const keep = tf.range(0, k * dilation, dilation, 'int32');
    return tf.gather(indices, keep, 2) as tf.Tensor3D;
  });
}

export function maxRelativePure(x: tf.Tensor3D, idx: tf.Tensor3D, y?: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const neighbours = tf.gather(y ?? x, idx, 1, 1); // [B, N, K, C]
    return tf.sub(tf.max(neighbours, 2), x) as tf.Tensor3D;
  });
}

/**
 * ROI align from gathers: the taps and weights of every sample are computed on the host from the centres
 * (docs/ops.md, roiAlign, torchvision's border rule), then out = Σ w · gather(features); the gradient flows through
 * the gathers to the features.
 */
export function roiAlignPure(features: tf.Tensor4D, centers: tf.Tensor3D, size: number, step = 1): tf.Tensor5D {
  const [B, H, W, C] = features.shape;
  const R = centers.shape[1];
  const S = size;
  const c = centers.dataSync();
  const count = B * R * S * S;
  const taps = [0, 1, 2, 3].map(() => ({ index: new Int32Array(count), weight: new Float32Array(count) }));
  const half = (S - 1) / 2;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < S; v++) {
        for (let u = 0; u < S; u++) {
          const s = ((b * R + r) * S + v) * S + u;
          let y = c[(b * R + r) * 2 + 1]! + (v - half) * step;
          let x = c[(b * R + r) * 2]! + (u - half) * step;
          if (y < -1 || y > H || x < -1 || x > W) continue; // weights stay 0
          y = Math.min(Math.max(y, 0), H - 1);
          x = Math.min(Math.max(x, 0), W - 1);
          const y0 = Math.floor(y), x0 = Math.floor(x);
          const y1 = Math.min(y0 + 1, H - 1), x1 = Math.min(x0 + 1, W - 1);
          const ly = y - y0, lx = x - x0;
          const cells = [[y0, x0, (1 - ly) * (1 - lx)], [y0, x1, (1 - ly) * lx], [y1, x0, ly * (1 - lx)], [y1, x1, ly * lx]];
          cells.forEach(([yy, xx, w], t) => {
            taps[t]!.index[s] = (b * H + yy!) * W + xx!;
            taps[t]!.weight[s] = w!;
          });
        }
      }
    }
  }
  return tf.tidy(() => {
    const flat = tf.reshape(features, [B * H * W, C]);
    let out: tf.Tensor = tf.zeros([count, C]);
    for (const t of taps) {
      out = tf.add(out, tf.mul(tf.gather(flat, tf.tensor1d(t.index, 'int32')), tf.tensor2d(t.weight, [count, 1])));
    }
    return tf.reshape(out, [B, R, S, S, C]) as tf.Tensor5D;
  });
}
