/**
 * ImageNet-pretrained ResT-Lite weights for the backbone (paper §4.1.3: "ResT-Lite (pretrained on
 * ImageNet-1k) as the backbone"), from the ResT authors' PyTorch state dict (`.pth`, as they distribute
 * it) or a `.safetensors` copy. Their names equal ours without the `backbone.` prefix; PyTorch's
 * channels-first weights are permuted to this project's channels-last layouts (params.ts, TorchLayout).
 * Names the backbone does not have (the ImageNet `head.*`) and shapes that do not fit are reported,
 * not fatal; BatchNorm's `num_batches_tracked` counter has no counterpart and is skipped.
 */
import * as tf from '@tensorflow/tfjs';
import { readStateDict, type StateDict, type StoredTensor } from '../tf/state-dict.js';
import type { ParamStore, TorchLayout } from './params.js';
import { message } from '../util/validate.js';

export interface BackboneLoadReport {
  file: string;
  format: 'pth' | 'safetensors';
  /** Backbone parameters and buffers given their values. */
  assigned: number;
  /** Backbone parameters the file has no tensor for (they keep their initialization). */
  missing: string[];
  /** The file's tensors that name no backbone parameter (e.g. the ImageNet head), plus non-tensor entries. */
  unused: string[];
  /** Names present on both sides whose shapes do not fit (left at their initialization). */
  mismatched: { name: string; expected: number[]; got: number[] }[];
  /** `num_batches_tracked` buffers skipped. */
  skipped: number;
}

/** PyTorch's shape of a parameter whose shape here is `shape`. */
export function torchShape(shape: number[], layout: TorchLayout | undefined): number[] {
  switch (layout) {
    case 'linear': return [shape[1]!, shape[0]!];
    case 'conv': return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
    case 'depthwise': return [shape[2]!, 1, shape[0]!, shape[1]!];
    case 'conv1x1': return [shape[0]!, shape[1]!, 1, 1];
    default: return [...shape];
  }
}

/** PyTorch's row-major values (shape `torchShape(shape, layout)`) in this project's layout `shape`. */
export function fromTorchLayout(values: Float32Array, shape: number[], layout: TorchLayout | undefined): Float32Array {
  if (layout === 'linear') {
    const [inF, outF] = shape as [number, number];
    const out = new Float32Array(values.length);
    for (let o = 0; o < outF; o++) for (let i = 0; i < inF; i++) out[i * outF + o] = values[o * inF + i]!;
    return out;
  }
  if (layout === 'conv' || layout === 'depthwise') {
    // ours [kh, kw, I, O] (depthwise: [kh, kw, C, 1]); PyTorch [O, I, kh, kw] (depthwise: [C, 1, kh, kw])
    const [kh, kw, I, O] = shape as [number, number, number, number];
    const out = new Float32Array(values.length);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < I; i++) {
          for (let o = 0; o < O; o++) {
            const src = layout === 'conv' ? ((o * I + i) * kh + y) * kw + x : (i * kh + y) * kw + x;
            out[((y * kw + x) * I + i) * O + o] = values[src]!;
          }
        }
      }
    }
    return out;
  }
  return values; // conv1x1 [O, I, 1, 1] → [O, I] and vectors: the same row-major order
}

/** Assigns the state dict's tensors to `store`'s `backbone.*` parameters by name. */
export function assignBackbone(store: ParamStore, tensors: StoredTensor[], file: string, others: string[] = []): Omit<BackboneLoadReport, 'format'> {
  const params = new Map(store.layouts().filter((p) => p.name.startsWith('backbone.')).map((p) => [p.name, p]));
  const report: Omit<BackboneLoadReport, 'format'> = { file, assigned: 0, missing: [], unused: [...others], mismatched: [], skipped: 0 };
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name.endsWith('num_batches_tracked')) {
      report.skipped++;
      continue;
    }
    const name = t.name.startsWith('backbone.') ? t.name : `backbone.${t.name}`;
    const p = params.get(name);
    if (!p) {
      report.unused.push(t.name);
      continue;
    }
    seen.add(name);
    const expected = torchShape(p.tensor.shape, p.torchLayout);
    if (expected.join() !== t.shape.join()) {
      report.mismatched.push({ name: t.name, expected, got: t.shape });
      continue;
    }
    const values = fromTorchLayout(t.read(), p.tensor.shape, p.torchLayout);
    p.tensor.assign(tf.tensor(values, p.tensor.shape, 'float32'));
    report.assigned++;
  }
  report.missing = [...params.keys()].filter((n) => !seen.has(n));
  return report;
}

/**
 * Loads ResT weights from a file (`.pth` from torch.save, or `.safetensors`), or from a state dict
 * already read from one, into the `backbone.*` parameters of `store`. Throws when nothing in the file
 * fits (the wrong file), naming it.
 */
export function loadBackboneWeights(store: ParamStore, source: string | StateDict): BackboneLoadReport {
  const dict = typeof source === 'string' ? readStateDict(source) : source;
  const file = dict.file;
  const report = tf.tidy(() => assignBackbone(store, dict.tensors, file, dict.others));
  if (report.assigned === 0) {
    const sample = dict.tensors.slice(0, 3).map((t) => t.name).join(', ');
    const m = report.mismatched[0];
    throw new Error(message(file, 'ResT backbone weights (names such as stem.conv1.weight)',
      `none of the ${report.missing.length} backbone names among its ${dict.tensors.length} tensors${sample ? ` (${sample}, …)` : ''}`
      + (m ? `; ${report.mismatched.length} names matched with other shapes, e.g. ${m.name} [${m.got.join(', ')}] where the model needs [${m.expected.join(', ')}]` : '')));
  }
  return { ...report, format: dict.format };
}
