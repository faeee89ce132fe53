/**
 * tf.variableGrads with PyTorch's memory profile. tfjs-core's backprop keeps every node's saved tensors and
 * every activation gradient until the whole backward pass ends, so a full-model step at batch 16 peaked at
 * twice the forward's memory. Here each node's saved tensors are released once its gradient has run, and each
 * activation's gradient once the node that made the activation has consumed it: the peak is the forward's
 * saved tensors plus the gradients in flight.
 *
 * Kernels whose gradient reads only the shapes of what they saved (Add, Reshape, Concat…) would keep those
 * buffers alive through the backward pass for nothing (0.85 GB of the full model's 2.6 GB at batch 16):
 * their saved tensors are swapped for shape records before the walk.
 *
 * It records the forward on tfjs's own tape (the engine's startTape/endTape and its tape nodes, which the
 * public API does not export) and walks it like tfjs-core's backpropagateGradients: the same gradient
 * functions in the same order, so the same bits. Inside another gradient computation (a tape already
 * recording) it defers to tf.variableGrads, whose tape the outer computation needs.
 */
import * as tf from '@tensorflow/tfjs';
import { zerosForGradient } from './kernels/host.js';

/** A recorded kernel call, as tfjs-core's engine pushes it on its tape. */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: Array<tf.Tensor | ShapeRecord>;
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

/** The engine members used here (present on tfjs-core 4.x's Engine, checked at first use). */
interface TapeEngine {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
}

function tapeEngine(): TapeEngine | null {
  const e = tf.engine() as unknown as Partial<TapeEngine>;
  const ok = typeof e.startTape === 'function' && typeof e.endTape === 'function' && typeof e.scopedRun === 'function' &&
    e.state != null && typeof e.state.gradientDepth === 'number';
  return ok ? (e as TapeEngine) : null;
}

/**
 * Kernels whose registered gradient (tfjs-core 4.x) reads nothing of its saved tensors but shape and rank.
 * A change there fails the whole-model test against tf.variableGrads (a shape record is no tensor).
 */
const SAVES_ONLY_SHAPES = new Set(['Add', 'Sub', 'Reshape', 'Slice', 'Concat', 'Sum', 'Mean', 'PadV2']);

/** What SAVES_ONLY_SHAPES' gradients read of a saved tensor. */
type ShapeRecord = Pick<tf.Tensor, 'shape' | 'rank' | 'size' | 'dtype'>;

const isTensor = (t: tf.Tensor | ShapeRecord): t is tf.Tensor => t instanceof tf.Tensor;

/**
 * Before the walk: disposes the saved tensors of nodes off the path (they get no gradient call) and swaps
 * those of shape-only gradients for shape records, in place (each node's gradient closure holds that array).
 */
function releaseUnneededSaves(tape: readonly TapeNode[], onPath: readonly TapeNode[]): void {
  const ids = new Set(onPath.map((n) => n.id));
  for (const node of tape) {
    const saved = node.saved ?? [];
    const onlyShapes = SAVES_ONLY_SHAPES.has(node.kernelName);
    if (ids.has(node.id) && !onlyShapes) continue;
    saved.forEach((t, i) => {
      if (!isTensor(t)) return;
      if (onlyShapes) saved[i] = { shape: t.shape, rank: t.rank, size: t.size, dtype: t.dtype };
      t.dispose();
    });
  }
}

/**
 * The nodes on a path from xs to y, in tape order, each with only the inputs that depend on xs (the ones that
 * get a gradient). A node off every path gets no gradient call.
 */
function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromXs = new Set(xs.map((x) => x.id));
  const onPathForward = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromXs.has(t.id))) {
      onPathForward.add(node.id);
      for (const o of node.outputs) fromXs.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const onPathBackward = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      onPathBackward.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape.filter((n) => onPathForward.has(n.id) && onPathBackward.has(n.id)).map((n) => ({
    ...n,
    inputs: Object.fromEntries(Object.entries(n.inputs).filter(([, t]) => fromXs.has(t.id))),
  }));
}

/**
 * The gradient map of the walk: a tensor's id → its gradient so far. One gradient tensor may stand for
 * several ids (a gradient function may hand dy on unchanged), so it is disposed when no id holds it.
 */
class GradientMap {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly holders = new Map<tf.Tensor, number>();

  get(id: number): tf.Tensor | undefined {
    return this.byId.get(id);
  }

  set(id: number, g: tf.Tensor): void {
    this.release(id);
    this.byId.set(id, g);
    this.holders.set(g, (this.holders.get(g) ?? 0) + 1);
  }

  /** Forgets id's gradient, disposing it unless another id holds the same tensor. */
  release(id: number): void {
    const g = this.byId.get(id);
    if (g === undefined) return;
    this.byId.delete(id);
    const n = this.holders.get(g)! - 1;
    if (n > 0) {
      this.holders.set(g, n);
    } else {
      this.holders.delete(g);
      g.dispose();
    }
  }

  /** Whether g is held under some id. */
  holds(g: tf.Tensor): boolean {
    return this.holders.has(g);
  }
}

/**
 * Walks the filtered tape backward from dy = 1 at y, releasing as it goes; returns the gradient of each x
 * that one reaches, by the variable's name. Runs inside the caller's tidy.
 */
function backpropReleasing(nodes: readonly TapeNode[], xs: readonly tf.Variable[], y: tf.Tensor): tf.NamedTensorMap {
  const keep = new Set(xs.map((x) => x.id));
  const grads = new GradientMap();
  grads.set(y.id, tf.onesLike(y));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (node.gradient == null) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const zeros: tf.Tensor[] = []; // made here for outputs no gradient reached, freed after this node
    const dys = node.outputs.map((o) => {
      const dy = grads.get(o.id);
      if (dy !== undefined) return dy;
      const zero = zerosForGradient(o.shape, o.dtype);
      if (zero !== null) zeros.push(zero);
      return zero;
    });
    const closures = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      const closure = closures[name];
      if (closure === undefined) {
        throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}. Available gradients found: ${Object.keys(closures)}.`);
      }
      const dx = tf.tidy(closure);
      if (dx.dtype !== 'float32') {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
      }
      const soFar = grads.get(x.id);
      if (soFar === undefined) {
        grads.set(x.id, dx);
      } else {
        grads.set(x.id, tf.add(soFar, dx)); // releases soFar
        if (!grads.holds(dx)) dx.dispose();
      }
    }
    // every consumer of this node's outputs comes later on the tape: their gradients are complete and used
    for (const o of node.outputs) if (!keep.has(o.id)) grads.release(o.id);
    for (const t of [...(node.saved ?? []), ...zeros]) if (isTensor(t) && !grads.holds(t)) t.dispose();
    node.saved = [];
  }
  const byName: tf.NamedTensorMap = {};
  for (const x of xs) {
    const g = grads.get(x.id);
    if (g !== undefined) byName[x.name] = g;
  }
  return byName;
}

/**
 * tf.variableGrads(f, vars) for trainable variables, releasing saved tensors and activation gradients as the
 * backward pass goes (see the module comment). Returns f's value (rank 0) and the gradient of each variable
 * f depends on, by variable name.
 */
export function variableGradsReleasing(f: () => tf.Scalar, vars: readonly tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tapeEngine();
  if (engine === null || engine.state.gradientDepth > 0) return tf.variableGrads(f, [...vars]);
  const trainable = vars.filter((v) => v.trainable);
  if (trainable.length === 0) throw new Error('variableGradsReleasing: none of the given variables is trainable');
  let tape: TapeNode[] = [];
  try {
    const value = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => {
      const y = tf.tidy('forward', f);
      tape = engine.state.activeTape ?? [];
      return y;
    });
    if (!(value instanceof tf.Tensor) || value.rank !== 0) {
      throw new Error(`variableGradsReleasing: f must return a scalar tensor, but it returned ${value instanceof tf.Tensor ? `a rank-${value.rank} tensor` : typeof value}`);
    }
    const onPath = nodesFromXsToY(tape, trainable, value);
    releaseUnneededSaves(tape, onPath);
    const grads = tf.tidy(() => backpropReleasing(onPath, trainable, value));
    if (Object.keys(grads).length === 0) throw new Error('variableGradsReleasing: no variable is connected to the result of f');
    return { value, grads };
  } finally {
    for (const node of tape) for (const t of node.saved ?? []) if (isTensor(t)) t.dispose();
    engine.state.activeTape = null;
  }
}
