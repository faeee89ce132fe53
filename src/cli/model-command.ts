/** `sacl-au model`: a variant's parameters and multiply-adds per part, as a table or JSON. */
import { parseArgs } from 'node:util';
import {
  AuModel, FBG_SOURCES, FUSIONS, GCN_TYPES, SBG_SOURCES, VARIANTS, modelConfig, saclStages, type ConfigOverrides, type ModelConfig,
} from '../model/index.js';
import { AU_SET_NAMES, AU_SETS, type AuSet } from '../face/au.js';
import { KNN_METRICS } from '../types.js';
import { checkOneOf } from '../util/validate.js';
import { initTf } from '../tf/engine.js';
import { numberFlag } from './flags.js';
import { asUsage } from '../util/errors.js';

export const MODEL_USAGE = `Usage: sacl-au model [--variant <name>] [--input <px>] [options] [--json]

Builds a model variant and reports its trainable parameters and FLOPs per part and in total. FLOPs are
counted as the paper (fvcore/thop) does: one multiply-add = one FLOP, for one 3-channel image at the
input size; the JSON also gives flops2 = 2 × multiply-adds.

Variants:
${Object.entries(VARIANTS).map(([name, v]) => `  ${name.padEnd(16)} ${v.describe}`).join('\n')}

Options:
  --variant <name>      default full
  --input <px>          input side (default: the variant's, 224; tiny 112)
  --au-set <set>        ${AU_SET_NAMES.join(' | ')}: AU set and ROI layout (default bp4d)
  --gcn <type>          ${GCN_TYPES.join(' | ')}
  --metric <m>          ${KNN_METRICS.join(' | ')} (KNN distance)
  --fusion <f>          ${FUSIONS.join(' | ')}
  --stages <S>          SACL stages (widths 64·2^i up to 512; depths 2, 2, 6, 2, 2, …)
  --k <K>               neighbours per node
  --fbg <source>        FACS-based graph of the fbg variant: ${FBG_SOURCES.join(' | ')} (our stand-in; KDSRL's graph
                        is not public)
  --sbg <source>        statistics-based graph of the sbg variant: ${SBG_SOURCES.join(' | ')} (AU-GCN's, default; top-k is ours)
  --sbg-threshold <τ>   au-gcn: link AUs i, j when P(j|i) or P(i|j) ≥ τ on the training fold (default 0.4)
  --roi-size <S>        ROI side on the stem map
  --json                one JSON object: { variant, config, inputSize, params, flops, flops2, parts }
  --help`;

/** Flags shared by the commands that build a model. */
export const MODEL_FLAGS = {
  variant: { type: 'string' },
  input: { type: 'string' },
  'au-set': { type: 'string' },
  gcn: { type: 'string' },
  metric: { type: 'string' },
  fusion: { type: 'string' },
  stages: { type: 'string' },
  k: { type: 'string' },
  fbg: { type: 'string' },
  sbg: { type: 'string' },
  'sbg-threshold': { type: 'string' },
  'roi-size': { type: 'string' },
} as const;

/** The config the model flags describe, on top of `base` overrides (a config file's "model"); flags win. */
export function configFromFlags(values: Record<string, string | boolean | undefined>, base: ConfigOverrides = {}): ModelConfig {
  return asUsage(() => flagConfig(values, base));
}

function flagConfig(values: Record<string, string | boolean | undefined>, base: ConfigOverrides): ModelConfig {
  const str = (k: string) => values[k] as string | undefined;
  const variant = str('variant') ?? 'full';
  const auSet = str('au-set');
  if (auSet !== undefined) checkOneOf('--au-set', auSet, AU_SET_NAMES);
  const overrides: ConfigOverrides = structuredClone(base);
  const input = numberFlag('input', str('input'), { integer: true, min: 1 });
  if (input !== undefined) overrides.inputSize = input;
  if (auSet) overrides.auSet = auSet as AuSet;
  if (str('fusion')) overrides.fusion = str('fusion') as ModelConfig['fusion'];
  const sacl: Record<string, unknown> = { ...(base.sacl ?? {}) };
  if (str('gcn')) sacl.gcn = str('gcn');
  if (str('metric')) sacl.metric = str('metric');
  const k = numberFlag('k', str('k'), { integer: true, min: 1 });
  if (k !== undefined) sacl.k = k;
  if (str('fbg')) sacl.fbg = str('fbg');
  if (str('sbg')) sacl.sbg = str('sbg');
  const tau = numberFlag('sbg-threshold', str('sbg-threshold'));
  if (tau !== undefined) sacl.sbgThreshold = tau;
  const stages = numberFlag('stages', str('stages'), { integer: true, min: 1 });
  if (stages !== undefined) Object.assign(sacl, saclStages(stages));
  const roi = numberFlag('roi-size', str('roi-size'), { integer: true, min: 1 });
  if (roi !== undefined) overrides.roiSize = roi;
  if (Object.keys(sacl).length) overrides.sacl = sacl as ConfigOverrides['sacl'];
  return modelConfig(variant, overrides);
}

const M = (n: number) => `${(n / 1e6).toFixed(3)} M`;
const G = (n: number) => `${(n / 1e9).toFixed(3)} G`;

export async function modelCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...MODEL_FLAGS, json: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) {
    process.stdout.write(`${MODEL_USAGE}\n`);
    return 0;
  }
  const config = configFromFlags(values);
  // Counting needs a graph; the statistics graph's matrix only exists once a training fold is read
  // (train computes it), and its values change no parameter or counted FLOP (the graph's max is not counted).
  if (config.sacl?.graph === 'stats' && !config.sacl.cooccurrence) {
    const n = AU_SETS[config.auSet].length;
    config.sacl.cooccurrence = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  }
  await initTf();
  const model = new AuModel(config);
  try {
    const c = model.complexity();
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ variant: config.variant, inputSize: c.inputSize, params: c.params, flops: c.flops, flops2: 2 * c.flops,
        convention: 'flops = multiply-adds (fvcore/thop, as the paper); flops2 = 2 × multiply-adds', parts: c.parts, config })}\n`);
      return 0;
    }
    process.stdout.write(`${config.variant} at ${c.inputSize}×${c.inputSize} (${config.auSet}); FLOPs = multiply-adds\n\n`);
    process.stdout.write(`${'part'.padEnd(12)}${'params'.padStart(12)}${'FLOPs'.padStart(12)}\n`);
    for (const p of c.parts) if (p.params || p.flops) process.stdout.write(`${p.part.padEnd(12)}${M(p.params).padStart(12)}${G(p.flops).padStart(12)}\n`);
    process.stdout.write(`${'total'.padEnd(12)}${M(c.params).padStart(12)}${G(c.flops).padStart(12)}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}
