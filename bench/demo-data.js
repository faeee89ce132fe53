/**
 * The demo's data parts alone, without training (issue 14): generating its synthetic set, and one epoch
 * of its training loader (fold 1, augmented, batch 16, 112 px). Prints wall and CPU time (process.cpuUsage,
 * user + system over every thread of the process) per part; on a shared machine the wall times are noisy.
 *
 *   node bench/demo-data.js [--part generate|loader|both] [--workers n] [--epochs n] [--dir d] [--no-cache]
 *
 * --workers: generation worker threads (0 = on the main thread; default: one per core).
 * --no-cache: decode every epoch (the trainer keeps decoded faces between epochs).
 * --dir: where the set is written (default: a fresh temporary folder, removed at the end).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail, parseCommand } from './harness.js';
import { generateSynthetic } from '../dist/data/synthetic/generate.js';
import { readBp4dLayout } from '../dist/data/bp4d-layout.js';
import { foldSplit } from '../dist/data/dataset.js';
import { DecodeCache, batches } from '../dist/data/loader.js';
import { TRAIN_DECODE_CACHE_BYTES } from '../dist/train/trainer.js';
import { DEMO_DATA, DEMO_TRAINING } from '../dist/run/demo.js';

const USAGE = 'Usage: node bench/demo-data.js [--part generate|loader|both] [--workers n] [--epochs n] [--dir d] [--no-cache]';
const flags = parseCommand(process.argv.slice(2), {
  part: { type: 'string', default: 'both' }, workers: { type: 'string' }, epochs: { type: 'string', default: '2' },
  dir: { type: 'string' }, 'no-cache': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
}, USAGE);
if (!['generate', 'loader', 'both'].includes(flags.part)) fail(`Expected generate, loader or both for --part but received ${flags.part}\n\n${USAGE}`);

async function timed(label, run) {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const out = await run();
  const wall = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(`${label}: wall ${wall.toFixed(2)} s, CPU ${((used.user + used.system) / 1e6).toFixed(2)} s (user ${(used.user / 1e6).toFixed(2)}, system ${(used.system / 1e6).toFixed(2)})`);
  return out;
}

const root = flags.dir ?? mkdtempSync(join(tmpdir(), 'sacl-demo-data-'));
try {
  if (flags.part !== 'loader') {
    const workers = flags.workers === undefined ? undefined : Number(flags.workers);
    await timed(`generate ${DEMO_DATA.subjects * DEMO_DATA.tasks * DEMO_DATA.framesPerTask} images (workers ${workers ?? 'default'})`,
      () => generateSynthetic({ root, ...DEMO_DATA, ...(workers !== undefined && { workers }) }));
  }
  if (flags.part !== 'generate') {
    const ds = await readBp4dLayout(root, 'synthetic');
    const { train } = foldSplit(ds, 1);
    const cache = flags['no-cache'] ? undefined : new DecodeCache(TRAIN_DECODE_CACHE_BYTES); // as the trainer keeps it
    for (let epoch = 0; epoch < Number(flags.epochs); epoch++) {
      await timed(`loader epoch ${epoch} (${train.length} images, batch ${DEMO_TRAINING.batchSize})`, async () => {
        let n = 0;
        for await (const b of batches(train, { inputSize: 112, batchSize: DEMO_TRAINING.batchSize, augment: true, shuffle: true, seed: DEMO_TRAINING.seed, epoch, cache })) n += b.size;
        return n;
      });
    }
  }
} finally {
  if (!flags.dir) rmSync(root, { recursive: true, force: true });
}
