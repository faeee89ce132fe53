/** `sacl-au align`: an aligned copy of a BP4D- or DISFA-layout tree, written once, with progress. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { alignTree, type AlignResult } from '../data/align-tree.js';
import { numberFlag, requireFlags } from './flags.js';
import { AU_SET_NAMES } from '../face/au.js';
import { checkOneOf } from '../util/validate.js';
import { asUsage } from '../util/errors.js';
import { lateProgress, Progress } from '../util/progress.js';

export const ALIGN_USAGE = `Usage: sacl-au align --root <dir> --out <dir> [--dataset ${AU_SET_NAMES.join('|')}] [--size 256] [--skip-bad] [--json]

Aligns every frame of a BP4D-layout tree (frames, AUCoding/AU_OCC, and Landmarks/*.csv or BP4D's own
2DFeatures/*.mat) or, with --dataset disfa, of a DISFA-layout tree (frames, ActionUnit_Labels, and
Landmarks/*.csv or DISFA's own Landmark_Points/) by its 49 landmarks, as JAA-Net does: eyes levelled,
box of eye centres, nose tip and mouth corners enlarged 2.9, grey border. Writes the aligned frames,
the moved landmarks (Landmarks/<sequence>.csv, 49 points), the AU files and folds to --out in the same
layout. Frames already written are skipped, so an interrupted run continues. --out must lie outside
--root; its align.json records --size and --dataset, and a re-run with other values is refused.
--skip-bad counts and leaves out frames without landmarks or with unreadable images instead of stopping.`;

export async function alignCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { root: { type: 'string' }, out: { type: 'string' }, dataset: { type: 'string' }, size: { type: 'string' },
    'skip-bad': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
  if (values.help) return process.stdout.write(`${ALIGN_USAGE}\n`), 0;
  requireFlags(values, ['root', 'out'], 'align');
  const size = numberFlag('size', values.size, { integer: true, min: 32 }) ?? 256;
  const layout = asUsage(() => checkOneOf('--dataset', values.dataset ?? 'bp4d', AU_SET_NAMES));
  let bar: Progress | null = null;
  const reading = lateProgress('read', 'sequences');
  let r: AlignResult;
  try {
    r = await alignTree({ root: resolve(values.root!), out: resolve(values.out!), layout, size,
      skipBad: Boolean(values['skip-bad']), onRead: reading.update,
      onProgress: (done, total) => { if (!bar) { reading.finish(); bar = new Progress('align', total, 'frames'); } bar.update(done); } });
  } finally {
    // end whichever bar is drawn, so an error prints on a line of its own
    if (bar) (bar as Progress).finish();
    else reading.finish();
  }
  for (const b of r.bad.slice(0, 10)) process.stderr.write(`skipped ${b.file}: ${b.reason}\n`);
  if (r.bad.length > 10) process.stderr.write(`… and ${r.bad.length - 10} more skipped\n`);
  if (values.json) process.stdout.write(`${JSON.stringify({ out: resolve(values.out!), ...r, bad: r.bad.length })}\n`);
  else process.stdout.write(`${resolve(values.out!)}\n`);
  return 0;
}
