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
import { SaclSgdStats, type SaclSgdUpdateAttrs, SaclSgdUpdate } from '../tf/kernel-names.js';

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
   * With the fused kernels on the backend (SaclSgdStats, SaclSgdUpdate: registerFastKernels with the addon)
   * that is two native calls; otherwise the same math as stock tfjs ops.
   */
  step(params: Map<string, tf.Variable>, grads: tf.NamedTensorMap, lr: number): number {
    const { clipNorm } = this.options;
    const given = [...params].filter(([, v]) => grads[v.name]);
    if (given.length === 0) return 0;
    const backend = tf.getBackend();
    const fused = tf.getKernel(SaclSgdStats, backend) !== undefined && tf.getKernel(SaclSgdUpdate, backend) !== undefined;
    // one read-back: the global squared norm, then each gradient's largest magnitude (0: no gradient)
    const gs = given.map(([, v]) => grads[v.name]!);
    const read = fused ? fusedStats(gs) : compositeStats(gs);
    const norm = Math.sqrt(read[0]!);
    const entries = given.filter((_, i) => read[i + 1] !== 0);
    if (!Number.isFinite(norm)) throw new RangeError(`non-finite gradient norm (${norm}): training diverged; lower the learning rate (--lr)`);
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / (norm + 1e-6) : 1;
    if (fused) this.fusedUpdate(entries, grads, lr, scale);
    else this.compositeUpdate(entries, grads, lr, scale);
    return norm;
  }

  private compositeUpdate(entries: [string, tf.Variable][], grads: tf.NamedTensorMap, lr: number, scale: number): void {
    const { momentum, weightDecay } = this.options;
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
  }

  /** The same update as one SaclSgdUpdate kernel over every parameter (native/cpu/sgd.cc, float32 in the same order). */
  private fusedUpdate(entries: [string, tf.Variable][], grads: tf.NamedTensorMap, lr: number, scale: number): void {
    if (entries.length === 0) return;
    const { momentum, weightDecay } = this.options;
    tf.tidy(() => {
      const inputs: tf.NamedTensorMap = {};
      entries.forEach(([name, w], i) => {
        inputs[`w${i}`] = w;
        inputs[`g${i}`] = grads[w.name]!;
        const buf = this.buffers.get(name);
        if (buf) inputs[`buf${i}`] = buf;
      });
      const attrs: SaclSgdUpdateAttrs = { count: entries.length, lr, momentum, weightDecay, scale };
      const out = tf.engine().runKernel(SaclSgdUpdate, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      entries.forEach(([name, w], i) => {
        w.assign(out[2 * i]!);
        const buf = this.buffers.get(name);
        if (buf) buf.assign(out[2 * i + 1]!);
        else this.buffers.set(name, tf.variable(out[2 * i + 1]!, false));
      });
    });
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

/** [Σ g², max |g| of each] as stock tfjs ops (float32 throughout). */
function compositeStats(gs: tf.Tensor[]): Float32Array {
  return tf.tidy(() => tf.concat([
    tf.reshape(tf.addN(gs.map((g) => tf.sum(tf.square(g)))), [1]),
    tf.stack(gs.map((g) => tf.max(tf.abs(g)))),
  ]).dataSync() as Float32Array);
}

/** The same as one SaclSgdStats kernel: Σ g² accumulated in double in a fixed order, for any thread count. */
function fusedStats(gs: tf.Tensor[]): Float32Array {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    gs.forEach((g, i) => { inputs[`g${i}`] = g; });
    return (tf.engine().runKernel(SaclSgdStats, inputs) as tf.Tensor).dataSync() as Float32Array;
  });
}
