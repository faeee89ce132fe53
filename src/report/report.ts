/**
 * The evaluation report folder: metrics.json, metrics.md and metrics.csv (ours beside the paper's rows
 * when the AU set matches), predictions.csv (OpenFace-style columns), and SVG figures: loss and learning
 * rate curves, per-AU F1 bars, and SACL's learned AU correlation graph at a shallow and a deep block
 * (paper Fig. 6). Every file is written atomically.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuSet } from '../face/au.js';
import { auCentres, roisOf } from '../face/au.js';
import { alignedTemplate } from '../face/landmarks.js';
import type { GraphRecord } from '../model/params.js';
import type { Metrics } from '../train/metrics.js';
import type { Predictions } from '../train/evaluate.js';
import type { History } from '../train/trainer.js';
import { writeFileAtomic } from '../util/fs.js';
import { PAPER_F1 } from './paper.js';
import { barChart, graphFigure, lineChart } from './svg.js';

export const auName = (au: number) => `AU${String(au).padStart(2, '0')}`;

export interface ReportInput {
  dir: string;
  title: string;
  auSet: AuSet;
  aus: readonly number[];
  metrics: Metrics;
  predictions: Predictions;
  history?: History;
  graphs?: GraphRecord[];
  /** Anything else for metrics.json (dataset, fold, variant, timings, …). */
  extra?: Record<string, unknown>;
}

/**
 * OpenFace-style CSV: the sample id (and subject), AUxx_p (probability), AUxx_c (presence at 0.5) and,
 * with labels, AUxx_y (the label; 9 = unknown).
 */
export function predictionsCsv(aus: readonly number[], p: Predictions,
  { labels = true, subject = true, idColumn = 'id' }: { labels?: boolean; subject?: boolean; idColumn?: string } = {}): string {
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const head = [idColumn, ...(subject ? ['subject'] : []), ...aus.map((a) => `${auName(a)}_p`), ...aus.map((a) => `${auName(a)}_c`), ...(labels ? aus.map((a) => `${auName(a)}_y`) : [])];
  const rows = p.samples.map((s, i) => {
    const probs = Array.from(p.probabilities[i]!);
    return [quote(s.id), ...(subject ? [quote(s.subject)] : []), ...probs.map((v) => v.toFixed(4)), ...probs.map((v) => (v >= 0.5 ? 1 : 0)),
      ...(labels ? Array.from(s.labels, (v) => (v < 0 ? 9 : v)) : [])].join(',');
  });
  return `${[head.join(','), ...rows].join('\n')}\n`;
}

function metricsMarkdown(input: ReportInput, paper: (typeof PAPER_F1)[AuSet] | null): string {
  const m = input.metrics;
  const pct = (v: number) => (100 * v).toFixed(1);
  const lines = [
    `# ${input.title}`, '',
    `Mean F1 **${pct(m.meanF1)}** (always-present baseline ${pct(m.alwaysPresentMeanF1)}), mean accuracy ${pct(m.meanAccuracy)}, ${m.frames} frames.`, '',
    `| AU | F1 | accuracy | always-present F1 | TP | FP | FN | TN |${paper ? ' paper F1 |' : ''}`,
    `|---|---|---|---|---|---|---|---|${paper ? '---|' : ''}`,
    ...m.perAu.map((a) => `| ${a.au} | ${pct(a.f1)} | ${pct(a.accuracy)} | ${pct(a.alwaysPresentF1)} | ${a.tp} | ${a.fp} | ${a.fn} | ${a.tn} |${paper ? ` ${paper.perAu[a.au]?.toFixed(1) ?? '—'} |` : ''}`),
    `| **mean** | **${pct(m.meanF1)}** | ${pct(m.meanAccuracy)} | ${pct(m.alwaysPresentMeanF1)} | | | | |${paper ? ` ${paper.mean.toFixed(1)} |` : ''}`,
  ];
  if (paper) lines.push('', `The paper's column is its ${input.auSet.toUpperCase()} result (Table ${input.auSet === 'bp4d' ? 5 : 6}); it is only comparable on that dataset and protocol.`);
  return `${lines.join('\n')}\n`;
}

/**
 * Edge frequencies of one block's graphs over the images: how often node j is among node i's neighbours
 * (self excluded), in [0, 1].
 */
function edgeFrequencies(record: GraphRecord): { from: number; to: number; weight: number }[] {
  const [B, N, K] = record.neighbourShape as [number, number, number];
  const counts = new Map<string, number>();
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      for (let k = 0; k < K; k++) {
        const j = record.neighbours[(b * N + i) * K + k]!;
        if (j !== i) counts.set(`${i},${j}`, (counts.get(`${i},${j}`) ?? 0) + 1);
      }
    }
  }
  return [...counts].map(([key, c]) => {
    const [from, to] = key.split(',').map(Number) as [number, number];
    return { from, to, weight: c / B };
  }).filter((e) => e.weight >= 0.25);
}

function correlationFigures(input: ReportInput): Record<string, string> {
  const graphs = input.graphs ?? [];
  if (graphs.length === 0) return {};
  const template = alignedTemplate();
  const centres = auCentres(template, input.auSet);
  const nodes = roisOf(input.auSet).map((roi, i) => ({ x: centres[2 * i]!, y: centres[2 * i + 1]!, label: `${roi.pair.aus.filter((a) => input.aus.includes(a)).join('/')}${roi.side ? 'R' : 'L'}` }));
  const backdrop: [number, number][] = Array.from({ length: template.length / 2 }, (_, i) => [template[2 * i]!, template[2 * i + 1]!]);
  const pick = { 'graph-shallow.svg': graphs[0]!, 'graph-deep.svg': graphs[graphs.length - 1]! };
  return Object.fromEntries(Object.entries(pick).map(([file, g]) => [file,
    graphFigure(`${file.includes('shallow') ? 'Shallow' : 'Deep'} SACL graph (stage ${g.stage + 1}, block ${g.block + 1}): edges in ≥ 25 % of test faces`,
      nodes, edgeFrequencies(g), backdrop)]));
}

/** Writes the report folder; returns the files written. */
export async function writeReport(input: ReportInput): Promise<string[]> {
  await mkdir(input.dir, { recursive: true });
  const paperRow = PAPER_F1[input.auSet];
  const paper = input.aus.every((a) => a in paperRow.perAu) && input.aus.length === Object.keys(paperRow.perAu).length ? paperRow : null;
  const m = input.metrics;
  const files: Record<string, string> = {
    'metrics.json': `${JSON.stringify({
      title: input.title, auSet: input.auSet, meanF1: m.meanF1, alwaysPresentMeanF1: m.alwaysPresentMeanF1, meanAccuracy: m.meanAccuracy,
      frames: m.frames, perAu: m.perAu, ...(paper && { paper: { meanF1: paper.mean / 100, perAu: paper.perAu } }), ...input.extra,
    }, null, 1)}\n`,
    'metrics.md': metricsMarkdown(input, paper),
    'metrics.csv': `${['au,f1,accuracy,always_present_f1,tp,fp,fn,tn', ...m.perAu.map((a) => [a.au, a.f1.toFixed(4), a.accuracy.toFixed(4), a.alwaysPresentF1.toFixed(4), a.tp, a.fp, a.fn, a.tn].join(','))].join('\n')}\n`,
    'predictions.csv': predictionsCsv(input.aus, input.predictions),
    'f1.svg': barChart('Per-AU F1 on the test subjects', 'F1', input.aus.map(String), [
      { name: 'ours', values: m.perAu.map((a) => a.f1) },
      { name: 'always present', values: m.perAu.map((a) => a.alwaysPresentF1) },
      ...(paper ? [{ name: 'paper (real data)', values: input.aus.map((a) => paper.perAu[a]! / 100) }] : []),
    ]),
    ...correlationFigures(input),
  };
  const h = input.history;
  if (h && h.steps.length) {
    const window = Math.max(1, Math.round(h.steps.length / 50));
    const smooth = h.steps.map((s, i) => {
      const part = h.steps.slice(Math.max(0, i - window + 1), i + 1);
      return [s.step, part.reduce((a, p) => a + p.loss, 0) / part.length] as [number, number];
    });
    files['loss.svg'] = lineChart('Training loss', 'step', 'loss', [
      { name: `total (mean of ${window} steps)`, points: smooth },
      { name: 'asymmetric', points: h.steps.map((s) => [s.step, s.asymmetric]) },
      { name: 'dice', points: h.steps.map((s) => [s.step, s.dice]) },
    ]);
    files['lr.svg'] = lineChart('Learning rate (warm-up, cosine)', 'step', 'learning rate', [{ name: 'lr', points: h.steps.map((s) => [s.step, s.lr]) }]);
  }
  for (const [name, text] of Object.entries(files)) await writeFileAtomic(join(input.dir, name), text);
  return Object.keys(files);
}
