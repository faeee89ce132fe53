/**
 * The paper's result tables in one call: Tables 5 and 6 (the full model on the three folds of BP4D or
 * DISFA: per-fold and 3-fold mean F1) and Tables 7 and 9 (the ablations of §4.3 on one fold, with our
 * parameters and FLOPs beside Table 8's). Every run lives in `<out>/table<N>/<run>/`; a run whose report
 * exists is skipped, an interrupted one resumes from its checkpoint. The summary is
 * `<out>/table<N>.md`, `.json` and `.svg`, ours beside the paper's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AuModel } from '../model/model.js';
import { modelConfig, type ConfigOverrides, type ModelConfig, type SaclConfig } from '../model/config.js';
import type { AuDataset } from '../data/dataset.js';
import type { TrainOptions } from '../train/trainer.js';
import { PAPER_F1, PAPER_TABLE7, PAPER_TABLE9, type PaperRow } from '../report/paper.js';
import { barChart } from '../report/svg.js';
import { writeFileAtomic } from '../util/fs.js';
import { UsageError, usageError } from '../util/errors.js';
import { configForDataset, initFrom, trainAndEvaluate } from './pipeline.js';

export type TableNumber = 5 | 6 | 7 | 9;
export const TABLES: readonly TableNumber[] = [5, 6, 7, 9];
/** `paper`: the variants as configured (ResT-Lite at 224 px); `tiny`: the `tiny` preset's sizes applied to each. */
export type VariantSize = 'paper' | 'tiny';

/** A row of a table and the run that produces it (rows of Table 9 that are the full model share one run). */
export interface TableRow {
  id: string;
  run: string;
  /** Table 9's group, Tables 5/6's "fold". */
  group: string;
  /** A variant of model/config.ts. */
  variant: string;
  /** What the row changes beyond its variant (Table 9: metric, GCN type, K). */
  sacl?: Partial<SaclConfig>;
  /** false: Table 7's first row, ResT-Lite without data augmentation. */
  augment?: boolean;
  fold?: number;
  paper: PaperRow | null;
}

const t7 = (id: string, variant: string, extra: Partial<TableRow> = {}): TableRow =>
  ({ id, run: id, group: 'architecture', variant, paper: PAPER_TABLE7[id] ?? null, ...extra });
const t9 = (group: string, id: string, run: string, variant: string, sacl?: Partial<SaclConfig>): TableRow =>
  ({ id, run, group, variant, ...(sacl && { sacl }), paper: PAPER_TABLE9[id] ?? null });

/** The rows of each table, in the paper's order. */
export function tableRows(table: TableNumber): TableRow[] {
  if (table === 5 || table === 6) {
    return [1, 2, 3].map((fold) => ({ id: `fold${fold}`, run: `fold${fold}`, group: 'fold', variant: 'full', fold, paper: null }));
  }
  if (table === 7) {
    return [t7('baseline-no-da', 'baseline', { augment: false }), t7('baseline', 'baseline'), t7('msfl', 'msfl'), t7('sacl', 'sacl'),
      t7('fbg', 'fbg'), t7('sbg', 'sbg'), t7('full', 'full')];
  }
  return [
    t9('fusion mechanism', 'cross-attention', 'cross-attention', 'cross-attention'), t9('fusion mechanism', 'concat', 'full', 'full'),
    t9('correlation learning way', 'transformer', 'transformer', 'transformer'), t9('correlation learning way', 'gcn', 'full', 'full'),
    t9('distance metric', 'manhattan', 'manhattan', 'full', { metric: 'manhattan' }), t9('distance metric', 'cosine', 'cosine', 'full', { metric: 'cosine' }),
    t9('distance metric', 'euclidean', 'full', 'full'),
    t9('GCN type', 'edgeconv', 'edgeconv', 'full', { gcn: 'edgeconv' }), t9('GCN type', 'gin', 'gin', 'full', { gcn: 'gin' }),
    t9('GCN type', 'graphsage', 'graphsage', 'full', { gcn: 'graphsage' }), t9('GCN type', 'max-relative', 'full', 'full'),
    t9('K (Fig. 5b)', 'k3', 'k3', 'full', { k: 3 }), t9('K (Fig. 5b)', 'k6', 'k6', 'full', { k: 6 }), t9('K (Fig. 5b)', 'k9', 'full', 'full'),
    t9('K (Fig. 5b)', 'k12', 'k12', 'full', { k: 12 }),
  ];
}

/**
 * A row's config: its variant at the paper's size, or with the `tiny` preset's sizes (input, backbone,
 * ROI side, landmark predictor, head width, SACL widths/depths/groups/FFN ratio) applied only to the parts
 * the variant has, so the rows still differ in exactly what the ablation changes. K, the metric and the
 * GCN type stay the variant's. The Transformer row keeps its six blocks; its width is scaled as the
 * graph stages' last width is.
 */
export function rowConfig(row: Pick<TableRow, 'variant' | 'sacl'>, size: VariantSize, overrides: ConfigOverrides = {}): ModelConfig {
  const paper = modelConfig(row.variant);
  const o: ConfigOverrides = {};
  if (size === 'tiny') {
    const tiny = modelConfig('tiny');
    Object.assign(o, { inputSize: tiny.inputSize, backbone: tiny.backbone, roiSize: tiny.roiSize });
    if (paper.landmarks) o.landmarks = tiny.landmarks;
    if (paper.classifier.hidden > 0) o.classifier = { hidden: tiny.classifier.hidden };
    const s = paper.sacl;
    const t = tiny.sacl!;
    if (s && s.layer === 'gcn') o.sacl = { widths: t.widths, depths: t.depths, groups: t.groups, ffnRatio: t.ffnRatio };
    if (s && s.layer === 'transformer') {
      const full = modelConfig('full').sacl!;
      const step = s.heads * t.groups;
      const width = Math.max(step, Math.round((s.widths.at(-1)! * t.widths.at(-1)!) / full.widths.at(-1)! / step) * step);
      o.sacl = { widths: s.widths.map(() => width), groups: t.groups, ffnRatio: t.ffnRatio };
    }
  }
  const sacl = { ...(o.sacl ?? {}), ...(row.sacl ?? {}), ...(overrides.sacl ?? {}) };
  return modelConfig(row.variant, { ...o, ...overrides, ...(Object.keys(sacl).length && { sacl }) } as ConfigOverrides);
}

/** One row's outcome. F1 in [0, 1] per AU of the dataset, in its order. */
export interface RowResult {
  id: string;
  run: string;
  group: string;
  variant: string;
  fold: number;
  status: 'trained' | 'skipped' | 'interrupted';
  params: number;
  flops: number;
  inputSize: number;
  meanF1: number | null;
  perAu: number[] | null;
  alwaysPresentMeanF1: number | null;
  /** Training time of the run (sum of its epochs). */
  seconds: number | null;
  paper: PaperRow | null;
}

export interface TableSummary {
  table: TableNumber;
  dataset: string;
  auSet: string;
  aus: number[];
  size: VariantSize;
  training: TrainOptions;
  rows: RowResult[];
  /** Tables 5/6: the 3-fold mean (once all three folds are done). */
  mean: { meanF1: number; perAu: number[] } | null;
  paper: { meanF1: number; perAu: number[] } | null;
  files: string[];
}

export interface ReproduceArgs {
  table: TableNumber;
  dataset: AuDataset;
  /** `<out>/table<N>/<run>/` per run; `<out>/table<N>.md|json|svg`. */
  out: string;
  training: TrainOptions;
  /** The fold of Tables 7/9 (Tables 5/6 run all three). */
  fold?: number;
  size?: VariantSize;
  /** Row ids to run (default: all of the table's). */
  rows?: string[];
  /** Applied to every row's config after its size (e.g. { inputSize }). */
  overrides?: ConfigOverrides;
  /** A saved model every run starts from (DISFA from BP4D, paper §4.1.1). */
  init?: string;
  skipBad?: boolean;
  /** Stop each run after this many epochs of this call, unevaluated (tests interrupt runs with it). */
  stopAfterEpochs?: number;
  log?: (line: string) => void;
}

const TABLE_AU_SET: Record<TableNumber, string> = { 5: 'bp4d', 6: 'disfa', 7: 'bp4d', 9: 'bp4d' };

/** The runs a call will make, checked before any training: row ids, AU set, fold. */
export function plannedRows(table: TableNumber, auSet: string, rows?: string[]): TableRow[] {
  if (!TABLES.includes(table)) throw usageError('table', `one of ${TABLES.join(', ')}`, JSON.stringify(table));
  if (auSet !== TABLE_AU_SET[table]) {
    throw usageError(`the dataset of Table ${table}`, `one with ${TABLE_AU_SET[table]!.toUpperCase()}'s AU set`, `one with ${auSet}'s`);
  }
  const all = tableRows(table);
  if (!rows) return all;
  const unknown = rows.filter((r) => !all.some((a) => a.id === r));
  if (unknown.length) throw usageError('rows', `ids of Table ${table} (${all.map((a) => a.id).join(', ')})`, unknown.join(', '));
  return all.filter((a) => rows.includes(a.id));
}

interface RunRecord {
  format: 'sacl-au-reproduce-run';
  table: TableNumber;
  run: string;
  fold: number;
  config: ModelConfig;
  training: TrainOptions;
  init: string | null;
  params: number;
  flops: number;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Runs (or resumes, or skips) every run of the table's rows, then writes the summary. */
export async function reproduce(args: ReproduceArgs): Promise<TableSummary> {
  const { table, dataset, out, size = 'paper', overrides = {}, log = () => {} } = args;
  const training = { ...args.training, microBatch: args.training.microBatch ?? 0 }; // as the CLI records it, so a run resumes from either

  const fold = args.fold ?? 1;
  if (![1, 2, 3].includes(fold)) throw usageError('fold', '1, 2 or 3', JSON.stringify(args.fold));
  const rows = plannedRows(table, dataset.auSet, args.rows);
  const done = new Map<string, RowResult>();
  for (const row of rows) {
    const known = done.get(row.run);
    if (known) continue;
    done.set(row.run, await runRow(row, { ...args, training, fold: row.fold ?? fold, size, overrides, log }));
  }
  const results = rows.map((row) => ({ ...done.get(row.run)!, id: row.id, group: row.group, paper: row.paper }));
  return writeSummary({ table, dataset, out, size, training, results });
}

async function runRow(row: TableRow, args: ReproduceArgs & { fold: number; size: VariantSize; overrides: ConfigOverrides; log: (line: string) => void }): Promise<RowResult> {
  const { table, dataset, out, fold, log } = args;
  const dir = join(out, `table${table}`, row.run);
  const training: TrainOptions = { ...args.training, ...(row.augment === false && { augment: false }) };
  const config = configForDataset(rowConfig(row, args.size, args.overrides), dataset, fold);
  const recordFile = join(dir, 'run.json');
  const reportFile = join(dir, 'report', 'metrics.json');
  const base = { id: row.id, run: row.run, group: row.group, variant: row.variant, fold, paper: row.paper, inputSize: config.inputSize };
  let record: RunRecord | null = existsSync(recordFile) ? readJson<RunRecord>(recordFile) : null;
  const wanted = { config, training, fold, init: args.init ?? null };
  if (record) {
    const mismatch = (Object.keys(wanted) as (keyof typeof wanted)[]).find((k) => JSON.stringify(record![k]) !== JSON.stringify(wanted[k]));
    if (mismatch) {
      throw new UsageError(`${recordFile}: this run was started with another ${mismatch === 'config' ? 'model config' : mismatch}; `
        + 'pass the same settings to resume it, or another --out');
    }
  }
  if (record && existsSync(reportFile)) {
    log(`table ${table} ${row.run}: done, skipped (${reportFile})`);
    return { ...base, ...reportResult(reportFile, dir), status: 'skipped', params: record.params, flops: record.flops };
  }
  const model = new AuModel(config, training.seed);
  try {
    if (!record) {
      const c = model.complexity();
      record = { format: 'sacl-au-reproduce-run', table, run: row.run, ...wanted, params: c.params, flops: c.flops };
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(recordFile, `${JSON.stringify(record, null, 1)}\n`);
    }
    const resuming = ['checkpoint', 'checkpoint.new', 'checkpoint.old'].some((c) => existsSync(join(dir, c, 'state.json')));
    if (!resuming && args.init) await initFrom(model, args.init);
    log(`table ${table} ${row.run}: ${resuming ? 'resuming' : 'training'} (${config.variant}, fold ${fold}, ${(record.params / 1e6).toFixed(2)} M parameters, ${(record.flops / 1e9).toFixed(3)} G FLOPs)`);
    const r = await trainAndEvaluate({ model, dataset, fold, options: training, out: dir, resume: true, evaluate: true, skipBad: args.skipBad ?? false,
      title: `sacl-au reproduce: Table ${table}, ${row.run} on ${dataset.name}, fold ${fold}`, ...(args.stopAfterEpochs !== undefined && { stopAfterEpochs: args.stopAfterEpochs }) });
    const status = r.reportDir ? 'trained' : 'interrupted';
    const result = r.reportDir ? reportResult(reportFile, dir) : { meanF1: null, perAu: null, alwaysPresentMeanF1: null, seconds: null };
    return { ...base, ...result, status, params: record.params, flops: record.flops };
  } finally {
    model.dispose();
  }
}

function reportResult(reportFile: string, dir: string): Pick<RowResult, 'meanF1' | 'perAu' | 'alwaysPresentMeanF1' | 'seconds'> {
  const m = readJson<{ meanF1: number; alwaysPresentMeanF1: number; perAu: { f1: number }[] }>(reportFile);
  const historyFile = join(dir, 'history.json');
  const seconds = existsSync(historyFile) ? readJson<{ epochs: { seconds: number }[] }>(historyFile).epochs.reduce((a, e) => a + e.seconds, 0) : null;
  return { meanF1: m.meanF1, perAu: m.perAu.map((a) => a.f1), alwaysPresentMeanF1: m.alwaysPresentMeanF1, seconds };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : (100 * v).toFixed(1));
const paperPct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(1));

async function writeSummary({ table, dataset, out, size, training, results }: {
  table: TableNumber; dataset: AuDataset; out: string; size: VariantSize; training: TrainOptions; results: RowResult[];
}): Promise<TableSummary> {
  const aus = [...dataset.aus];
  const folds = table === 5 || table === 6;
  const paperRef = PAPER_F1[dataset.auSet];
  const paperMean = aus.every((a) => a in paperRef.perAu) ? { meanF1: paperRef.mean / 100, perAu: aus.map((a) => paperRef.perAu[a]! / 100) } : null;
  const complete = results.filter((r) => r.perAu);
  // the 3-fold mean of Tables 5/6: per-AU F1 averaged over the folds, then over the AUs (paper §4.1.2)
  const mean = folds && complete.length === 3
    ? (() => {
      const perAu = aus.map((_, i) => complete.reduce((a, r) => a + r.perAu![i]!, 0) / 3);
      return { meanF1: perAu.reduce((a, v) => a + v, 0) / perAu.length, perAu };
    })()
    : null;
  const base = `table${table}`;
  const files = [`${base}.md`, `${base}.json`, `${base}.svg`].map((f) => join(out, f));
  const summary: TableSummary = { table, dataset: dataset.name, auSet: dataset.auSet, aus, size, training, rows: results, mean, paper: folds ? paperMean : null, files };
  await mkdir(out, { recursive: true });
  await writeFileAtomic(files[0]!, summaryMarkdown(summary));
  await writeFileAtomic(files[1]!, `${JSON.stringify(summary, null, 1)}\n`);
  await writeFileAtomic(files[2]!, summarySvg(summary));
  return summary;
}

/** The paper's layout: one row per setting, one column per AU, then the average; ours (paper's) in each cell. */
export function summaryMarkdown(s: TableSummary): string {
  const folds = s.table === 5 || s.table === 6;
  const au = (a: number) => `AU${a}`;
  const cell = (ours: number | null | undefined, paper: number | null | undefined) => `${pct(ours)} (${paperPct(paper)})`;
  const head = folds ? ['Run', ...s.aus.map(au), 'Avg.'] : [...(s.table === 9 ? ['Group'] : []), 'Setting', ...s.aus.map(au), 'Avg.', 'Params (M)', 'FLOPs (G)'];
  const lines = [
    `# Table ${s.table}: ${folds ? `F1 per fold and 3-fold mean on ${s.dataset}` : `${s.table === 7 ? 'ablation of each part' : 'choices of fusion, correlation learning, metric, GCN type and K'} on ${s.dataset}, fold ${s.rows[0]?.fold ?? 1}`}`, '',
    `Ours (the paper's) in each cell: F1 in %, parameters in millions, FLOPs in G multiply-adds at the input size (ours: ${[...new Set(s.rows.map((r) => r.inputSize))].join(', ')} px; paper: 224 px).`,
    `Model sizes: ${s.size === 'tiny' ? 'the tiny preset\'s widths and input applied to each variant' : 'the paper\'s'}; training: ${s.training.epochs} epochs, batch ${s.training.batchSize}, peak lr ${s.training.lr}, seed ${s.training.seed}.`,
    `The paper's numbers are ${s.table === 6 ? 'DISFA' : 'BP4D'} 3-fold means${folds ? '' : ' (Tables 7 and 9 do not say which fold or folds)'}; they are comparable only on that dataset and protocol.`, '',
    `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`,
  ];
  if (folds) {
    for (const r of s.rows) lines.push(`| fold ${r.fold}${r.status === 'interrupted' ? ' (interrupted)' : ''} | ${s.aus.map((_, i) => pct(r.perAu?.[i])).join(' | ')} | ${pct(r.meanF1)} |`);
    lines.push(`| **3-fold mean** | ${s.aus.map((_, i) => pct(s.mean?.perAu[i])).join(' | ')} | **${pct(s.mean?.meanF1)}** |`);
    if (s.paper) lines.push(`| paper (Table ${s.table}) | ${s.paper.perAu.map((v) => pct(v)).join(' | ')} | ${pct(s.paper.meanF1)} |`);
  } else {
    for (const r of s.rows) {
      const p = r.paper;
      const name = `${p?.name ?? r.id}${r.status === 'interrupted' ? ' (interrupted)' : ''}`;
      lines.push(`| ${[...(s.table === 9 ? [r.group] : []), name, ...s.aus.map((_, i) => cell(r.perAu?.[i], p?.f1[i])), cell(r.meanF1, p?.mean),
        `${(r.params / 1e6).toFixed(3)} (${paperPct(p?.params)})`, `${(r.flops / 1e9).toPrecision(3)} (${p?.flops?.toFixed(2) ?? '—'})`].join(' | ')} |`);
    }
  }
  const timed = s.rows.filter((r) => r.seconds !== null);
  if (timed.length) {
    lines.push('', `Training time per run: ${[...new Map(timed.map((r) => [r.run, r])).values()].map((r) => `${r.run} ${(r.seconds! / 60).toFixed(1)} min`).join(', ')}.`);
  }
  return `${lines.join('\n')}\n`;
}

/** One figure: mean F1 per row (Tables 7/9) or per AU (Tables 5/6), ours beside the paper's. */
export function summarySvg(s: TableSummary): string {
  if (s.table === 5 || s.table === 6) {
    return barChart(`Table ${s.table}: F1 per AU, ours (3-fold mean) and the paper's`, 'F1', s.aus.map(String), [
      { name: s.mean ? 'ours, 3-fold mean' : 'ours (folds incomplete)', values: s.mean?.perAu ?? s.aus.map(() => 0) },
      ...(s.paper ? [{ name: 'paper', values: s.paper.perAu }] : []),
    ]);
  }
  return barChart(`Table ${s.table}: mean F1 per setting on ${s.dataset}`, 'mean F1', s.rows.map((r) => r.id), [
    { name: 'ours', values: s.rows.map((r) => r.meanF1 ?? 0) },
    { name: 'paper (BP4D)', values: s.rows.map((r) => (r.paper ? r.paper.mean / 100 : 0)) },
  ]);
}
