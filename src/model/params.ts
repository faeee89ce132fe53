/**
 * Named parameters and the forward context. Parameters carry PyTorch-style dotted names
 * (`backbone.stages.0.blocks.1.attn.q.weight`), are initialized from (seed, name) so adding a module never
 * changes another module's initial values, and are saved/loaded by those names.
 */
import * as tf from '@tensorflow/tfjs';
import { Random } from '../util/random.js';
import { rangeError } from '../util/validate.js';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'truncated-normal'; std: number }
  | { kind: 'normal'; std: number }
  | { kind: 'values'; values: Float32Array };

/**
 * How PyTorch stores a parameter that this project stores channels-last: `linear` [out, in] (ours
 * [in, out]); `conv` [out, in, kh, kw] (ours [kh, kw, in, out]); `depthwise` [C, 1, kh, kw] (ours
 * [kh, kw, C, 1]); `conv1x1` [out, in, 1, 1] (ours [out, in]). Parameters without one have PyTorch's shape.
 */
export type TorchLayout = 'linear' | 'conv' | 'depthwise' | 'conv1x1';

interface Entry {
  variable: tf.Variable;
  trainable: boolean;
  torchLayout?: TorchLayout;
}

let storeCount = 0;

export class ParamStore {
  private readonly entries = new Map<string, Entry>();
  /** tfjs registers variables globally by name: each store gets its own prefix. */
  private readonly prefix = `sacl${++storeCount}/`;

  /**
   * `shapesOnly`: a plan of the parameters, nothing allocated (add returns a stand-in that has only a
   * name, shape and size); used to check saved weights against a config before building the model.
   */
  /**
   * `saved`: values by name (a model read from its file): each parameter is allocated from its saved
   * tensor, sharing its data, instead of drawing initial values; names and shapes must match exactly.
   */
  constructor(readonly seed: number, readonly shapesOnly = false, private readonly saved: ReadonlyMap<string, tf.Tensor> | null = null) {}

  add(name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter ${name} is defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (this.shapesOnly) {
      const variable = { name: `${this.prefix}${name}`, shape: [...shape], size, dispose() {} } as unknown as tf.Variable;
      this.entries.set(name, { variable, trainable });
      return variable;
    }
    if (this.saved) {
      const t = this.saved.get(name);
      if (!t) throw new RangeError(`weights do not fit this model: ${name} is missing`);
      if (t.shape.join() !== shape.join()) throw rangeError(`the weights of ${name}`, `shape [${shape}]`, `[${t.shape}]`);
      const variable = tf.variable(t, trainable, `${this.prefix}${name}`); // shares t's data: no copy
      this.entries.set(name, { variable, trainable });
      return variable;
    }
    const values = new Float32Array(size);
    if (init.kind === 'ones') values.fill(1);
    else if (init.kind === 'values') {
      if (init.values.length !== size) throw rangeError(`the initial values of ${name}`, `${size} entries (shape [${shape}])`, init.values.length);
      values.set(init.values);
    } else if (init.kind !== 'zeros') {
      const rng = new Random(this.seed, name);
      for (let i = 0; i < size; i++) values[i] = init.kind === 'normal' ? rng.normal() * init.std : rng.truncatedNormal(init.std);
    }
    const initial = tf.tensor(values, shape, 'float32');
    const variable = tf.variable(initial, trainable, `${this.prefix}${name}`);
    initial.dispose(); // the variable holds its own reference to the data
    this.entries.set(name, { variable, trainable });
    return variable;
  }

  /** Records how PyTorch lays out a parameter already added (for loading PyTorch checkpoints). */
  setTorchLayout(name: string, layout: TorchLayout): void {
    const e = this.entries.get(name);
    if (!e) throw new RangeError(`parameter ${name} is not defined`);
    e.torchLayout = layout;
  }

  /** Every parameter and buffer with its PyTorch layout (undefined: the same shape as ours). */
  layouts(): { name: string; tensor: tf.Variable; torchLayout: TorchLayout | undefined }[] {
    return [...this.entries].map(([name, e]) => ({ name, tensor: e.variable, torchLayout: e.torchLayout }));
  }

  /** Trainable variables, in definition order. */
  trainable(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  /** Every parameter and buffer (BatchNorm running statistics) by name, in definition order. */
  named(): { name: string; tensor: tf.Variable; trainable: boolean }[] {
    return [...this.entries].map(([name, e]) => ({ name, tensor: e.variable, trainable: e.trainable }));
  }

  /** The store's name of a variable (for optimizer state), or undefined. */
  nameOf(variable: tf.Variable): string | undefined {
    return variable.name.startsWith(this.prefix) ? variable.name.slice(this.prefix.length) : undefined;
  }

  /** Number of trainable values whose name starts with `prefix` (all when omitted). */
  count(prefix = ''): number {
    let n = 0;
    for (const [name, e] of this.entries) if (e.trainable && name.startsWith(prefix)) n += e.variable.size;
    return n;
  }

  /** Throws a RangeError unless `tensors` have exactly this store's names and shapes (allocates nothing). */
  checkFits(tensors: { name: string; shape: readonly number[] }[]): void {
    const given = new Map(tensors.map((t) => [t.name, t]));
    const missing = [...this.entries.keys()].filter((n) => !given.has(n));
    const unknown = [...given.keys()].filter((n) => !this.entries.has(n));
    if (missing.length || unknown.length) {
      throw new RangeError(`weights do not fit this model: ${missing.length} missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}), `
        + `${unknown.length} unknown (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''})`);
    }
    for (const [name, e] of this.entries) {
      const t = given.get(name)!;
      if (t.shape.join() !== e.variable.shape.join()) {
        throw rangeError(`the weights of ${name}`, `shape [${e.variable.shape}]`, `[${t.shape}]`);
      }
    }
  }

  /** Assigns every saved tensor to the parameter of the same name; names and shapes must match exactly. */
  assign(tensors: { name: string; tensor: tf.Tensor }[]): void {
    if (this.shapesOnly) throw new Error('a shapes-only ParamStore holds no values');
    this.checkFits(tensors.map((t) => ({ name: t.name, shape: t.tensor.shape })));
    const given = new Map(tensors.map((t) => [t.name, t.tensor]));
    for (const [name, e] of this.entries) e.variable.assign(given.get(name)!);
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}

/** Multiply-adds per model part, recorded by the layers while a forward pass runs. */
export class FlopCounter {
  readonly byPart = new Map<string, number>();
  private part = 'other';

  add(multiplyAdds: number): void {
    this.byPart.set(this.part, (this.byPart.get(this.part) ?? 0) + multiplyAdds);
  }

  within<T>(part: string, fn: () => T): T {
    const outer = this.part;
    this.part = part;
    try {
      return fn();
    } finally {
      this.part = outer;
    }
  }

  total(): number {
    let n = 0;
    for (const v of this.byPart.values()) n += v;
    return n;
  }
}

/** One SACL block's graph, as built: the features it was built from and the neighbour indices. */
export interface GraphRecord {
  stage: number;
  block: number;
  features: Float32Array;
  featureShape: number[];
  neighbours: Int32Array;
  neighbourShape: number[];
}

export interface ForwardContext {
  training: boolean;
  /** When set, layers add their multiply-adds to it. */
  flops?: FlopCounter;
  /** When set, SACL records every graph it builds (tests, the correlation-graph figure). */
  graphs?: GraphRecord[];
}

export function inPart<T>(ctx: ForwardContext, part: string, fn: () => T): T {
  return ctx.flops ? ctx.flops.within(part, fn) : fn();
}
