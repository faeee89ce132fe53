/**
 * The demo run (`sacl-au demo`, `npm start`): generates the synthetic AU set (reused when already
 * complete), trains the `tiny` preset on fold 1 (subject-exclusive), evaluates on the held-out subjects
 * and writes the report folder.
 */
import { AuModel } from '../model/model.js';
import { modelConfig } from '../model/config.js';
import { openDataset } from '../data/open.js';
import { initTf } from '../tf/engine.js';
import { PAPER_TRAINING, openResumePoint, type TrainOptions } from '../train/trainer.js';
import { Progress } from '../util/progress.js';
import { stderrLine, trainAndEvaluate, type RunResult } from './pipeline.js';

/**
 * The demo's training recipe: the paper's protocol (SGD + Nesterov, weight decay, clipping, warm-up +
 * cosine, batch 16, augmentation, the three losses) with 20 epochs and a peak learning rate for training a
 * BatchNorm network from scratch (the paper fine-tunes an ImageNet backbone at 1e-3; from scratch, 1e-3
 * and 0.05 both stay at the label prior for the whole budget).
 */
export const DEMO_TRAINING: TrainOptions = { ...PAPER_TRAINING, epochs: 20, lr: 0.3 };

export const DEMO_DATA = { subjects: 12, tasks: 4, framesPerTask: 30, seed: 1 };

/** The demo in `out` (data in `<out>/data`, the run in `<out>/run`); a new demo replaces the last unless `resume`. */
export async function demoRun({ out, options = DEMO_TRAINING, resume = false, log = stderrLine }: {
  out: string; options?: TrainOptions; resume?: boolean; log?: (line: string) => void;
}): Promise<RunResult & { minutes: number }> {
  const started = Date.now();
  const tfReport = await initTf();
  log(`tfjs backend: ${tfReport.active} (${tfReport.reason})`);
  const total = DEMO_DATA.subjects * DEMO_DATA.tasks * DEMO_DATA.framesPerTask;
  const bar = new Progress('synthetic faces', total, 'images');
  let drew = false;
  const dataset = await openDataset('synthetic', `${out}/data`, { ...DEMO_DATA, onProgress: (d) => { drew = true; bar.update(d); } });
  if (drew) bar.finish();
  // resumed: the model allocated from the checkpoint's weights (none yet: a new run)
  const point = resume ? await openResumePoint(`${out}/run`, { config: modelConfig('tiny') }) : null;
  const model = point ? point.model : new AuModel(modelConfig('tiny'), options.seed);
  try {
    const r = await trainAndEvaluate({ model, dataset, fold: 1, options, out: `${out}/run`, resume: point ?? resume,
      overwrite: !resume, evaluate: true, // the demo's folder is its own: a new demo replaces the last
      title: 'sacl-au demo: tiny model on the synthetic AU set (fold 1, held-out subjects)', log });
    return { ...r, minutes: (Date.now() - started) / 60000 };
  } finally {
    if (point) point.dispose();
    else model.dispose();
  }
}
