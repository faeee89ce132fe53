/** `sacl-au demo` (= `npm start`): the demo run (src/run/demo.ts); the last line printed is the report folder. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_DATA, DEMO_TRAINING, demoRun } from '../run/demo.js';
import { trainOptionsFrom } from './training-commands.js';

export { DEMO_DATA, DEMO_TRAINING };

export const DEMO_USAGE = `Usage: sacl-au demo [--out <dir>] [--epochs <n>] [--lr <peak>] [--seed <n>] [--resume] [--json]

Generates the synthetic AU dataset (${DEMO_DATA.subjects} subjects × ${DEMO_DATA.tasks} tasks × ${DEMO_DATA.framesPerTask} frames, BP4D layout) in
<out>/data, trains the tiny model on fold 1 (${DEMO_TRAINING.epochs} epochs, peak lr ${DEMO_TRAINING.lr}), evaluates on the
held-out subjects and writes <out>/run/report. Default <out>: ./sacl-au-demo. About 3 minutes on 2 cores.
The last line printed is the report folder.`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    out: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' },
    resume: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
  }, strict: true });
  if (values.help) return process.stdout.write(`${DEMO_USAGE}\n`), 0;
  const r = await demoRun({ out: resolve(values.out ?? 'sacl-au-demo'), options: trainOptionsFrom(values, DEMO_TRAINING), resume: Boolean(values.resume) });
  process.stderr.write(`mean F1 ${(100 * r.meanF1!).toFixed(1)} (always-present ${(100 * r.alwaysPresentMeanF1!).toFixed(1)}) in ${r.minutes.toFixed(1)} min\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ report: r.reportDir, meanF1: r.meanF1, alwaysPresentMeanF1: r.alwaysPresentMeanF1, minutes: r.minutes })}\n`);
  process.stdout.write(`${r.reportDir}\n`);
  return 0;
}
