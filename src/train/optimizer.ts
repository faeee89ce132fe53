/**
 * SGD with Nesterov momentum and weight decay, PyTorch's semantics (torch.optim.SGD with nesterov=True):
 *   d = g + wd·w;  buf = μ·buf + d (buf = d on the first step);  w −= lr · (d + μ·buf)
 * preceded by global gradient-norm clipping (torch.nn.utils.clip_grad_norm_). Its state (the momentum
 * buffers, by parameter name) saves and loads, so a resumed run continues exactly.
 *
 * A parameter whose gradient is zero everywhere in a step got no gradient (its loss term was masked
 * out, e.g. the landmark head on data without landmarks) and is skipped like a PyTorch parameter whose
 * .grad is None: no weight decay, no momentum, no change.
 */
import * as tf from '@tensorflow/tfjs';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  clipNorm: number;
}

export class NesterovSgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(readonly options: SgdOptions) {}

  /**
   * One update of `params` (name → variable) with `grads` (variable name → gradient). Returns the global
   * gradient norm before clipping. Parameters without a gradient, or with an all-zero one, are left alone.
   */
  step(params: Map<string, tf.Variable>, grads: tf.NamedTensorMap, lr: number): number {
    const { momentum, weightDecay, clipNorm } = this.options;
    const given = [...params].filter(([, v]) => grads[v.name]);
    if (given.length === 0) return 0;
    // one read-back: the global squared norm, then each gradient's largest magnitude (0: no gradient)
    const read = tf.tidy(() => tf.concat([
      tf.reshape(tf.addN(given.map(([, v]) => tf.sum(tf.square(grads[v.name]!)))), [1]),
      tf.stack(given.map(([, v]) => tf.max(tf.abs(grads[v.name]!)))),
    ]).dataSync());
    const norm = Math.sqrt(read[0]!);
    const entries = given.filter((_, i) => read[i + 1] !== 0);
    if (!Number.isFinite(norm)) throw new RangeError(`non-finite gradient norm (${norm}): training diverged; lower the learning rate (--lr)`);
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    tf.tidy(() => {
      for (const [name, w] of entries) {
        let d = tf.mul(grads[w.name]!, scale);
        if (weightDecay) d = tf.add(d, tf.mul(w, weightDecay));
        const buf = this.buffers.get(name);
        if (buf) buf.assign(tf.add(tf.mul(buf, momentum), d));
        else this.buffers.set(name, tf.variable(d, false));
        const b = this.buffers.get(name)!;
        w.assign(tf.sub(w, tf.mul(tf.add(d, tf.mul(b, momentum)), lr)));
      }
    });
    return norm;
  }

  /** The momentum buffers by parameter name (for checkpoints). */
  state(): { name: string; tensor: tf.Tensor }[] {
    return [...this.buffers].map(([name, tensor]) => ({ name, tensor }));
  }

  loadState(tensors: { name: string; tensor: tf.Tensor }[]): void {
    this.dispose();
    for (const { name, tensor } of tensors) this.buffers.set(name, tf.variable(tensor, false));
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
