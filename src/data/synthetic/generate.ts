/**
 * The built-in synthetic AU dataset, written to disk in BP4D's own layout (src/data/bp4d-layout.ts) so
 * the real reader path runs on it. Deterministic from the seed: the same options give byte-identical
 * label and landmark files and the same images. Subjects are split into three parts like the paper's.
 * Expressions follow the FACS emotion prototypes restricted to BP4D's 12 AUs, so AUs co-occur the way
 * emotions combine them (6+12, 1+4+15+17, 4+7+23+24, 1+2, …); each task leans towards one emotion.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { AU_SETS, EMOTION_PROTOTYPES } from '../../face/au.js';
import { NUM_LANDMARKS } from '../../face/landmarks.js';
import { Random } from '../../util/random.js';
import { writeFileAtomic } from '../../util/fs.js';
import { makeIdentity, renderFace, type FrameParams } from './face.js';
import { rangeError } from '../../util/validate.js';

export const GENERATOR_VERSION = 3;

export interface SyntheticOptions {
  root: string;
  seed?: number;
  subjects?: number;
  tasks?: number;
  framesPerTask?: number;
  /** Side of the aligned faces (BP4D-aligned crops are 256). */
  size?: number;
  /**
   * Worker threads rendering the (subject, task) units; 0 renders on the calling thread. Default: one per
   * core (os.availableParallelism()), at most one per unit. The files are the same bytes for any count.
   */
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface SyntheticManifest {
  generator: string;
  version: number;
  seed: number;
  subjects: string[];
  tasks: string[];
  framesPerTask: number;
  size: number;
  aus: number[];
  parts: [string[], string[], string[]];
}

const BP4D = AU_SETS.bp4d;
/** The prototypes with the AUs BP4D codes (emotions left with none are dropped). */
const PROTOTYPES = Object.entries(EMOTION_PROTOTYPES)
  .map(([name, aus]) => ({ name, aus: aus.filter((a) => BP4D.includes(a)) }))
  .filter((p) => p.aus.length > 0);

/** Active AUs of one frame: a prototype (task- and subject-biased) or neutral, with sparse extra AUs. */
export function sampleExpression(rng: Random, bias: number[], taskEmotion: number): Map<number, number> {
  const aus = new Map<number, number>();
  if (rng.next() >= 0.2) {
    const weights = PROTOTYPES.map((_, i) => bias[i]! * (i === taskEmotion ? 4 : 1));
    let pick = rng.uniform(0, weights.reduce((a, b) => a + b, 0));
    let e = 0;
    while (pick > weights[e]! && e < weights.length - 1) pick -= weights[e++]!;
    for (const au of PROTOTYPES[e]!.aus) if (rng.next() < 0.85) aus.set(au, rng.uniform(0.45, 1));
  }
  for (const au of BP4D) if (!aus.has(au) && rng.next() < 0.03) aus.set(au, rng.uniform(0.45, 1));
  return aus;
}

function subjectNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${i % 2 === 0 ? 'F' : 'M'}${String(Math.floor(i / 2) + 1).padStart(3, '0')}`);
}

/** Reads the manifest of an already complete set with these options, or null. */
export async function existingSynthetic(root: string, want: Omit<SyntheticManifest, 'parts' | 'subjects' | 'tasks' | 'generator'> & { subjects: number; tasks: number }): Promise<SyntheticManifest | null> {
  try {
    const m = JSON.parse(await readFile(join(root, 'synthetic.json'), 'utf8')) as SyntheticManifest;
    const same = m.version === want.version && m.seed === want.seed && m.subjects.length === want.subjects && m.tasks.length === want.tasks
      && m.framesPerTask === want.framesPerTask && m.size === want.size;
    return same ? m : null;
  } catch {
    return null;
  }
}

/** One (subject, task) sequence: its frames, its AU_OCC and landmark files. Plain data, so a worker thread can take it. */
export interface SyntheticUnit {
  root: string;
  seed: number;
  subject: string;
  /** The subject's position in the set (its tasks' emotions rotate with it). */
  subjectIndex: number;
  task: string;
  taskIndex: number;
  framesPerTask: number;
  size: number;
}

/**
 * Renders and writes one unit (every file atomically). Its randomness comes only from its own streams
 * (identity:<subject>, frames:<subject>:<task>), so the bytes do not depend on which thread renders it
 * or in what order. `onFrame` is told each image written.
 */
export async function writeSyntheticUnit(unit: SyntheticUnit, onFrame?: () => void): Promise<void> {
  const { root, seed, subject, subjectIndex, task, taskIndex: t, framesPerTask, size } = unit;
  const identity = makeIdentity(new Random(seed, `identity:${subject}`), PROTOTYPES.length);
  await mkdir(join(root, subject, task), { recursive: true });
  const rng = new Random(seed, `frames:${subject}:${task}`);
  const occ = [`Frame,${BP4D.join(',')}`];
  const marks = [`Frame,${Array.from({ length: NUM_LANDMARKS }, (_, i) => `x${i + 1},y${i + 1}`).join(',')}`];
  const pending = new Set<Promise<void>>();
  let failed: unknown = null;
  for (let f = 1; f <= framesPerTask && !failed; f++) {
    const frame: FrameParams = {
      aus: sampleExpression(rng, identity.emotionBias, (t + subjectIndex) % PROTOTYPES.length),
      angle: rng.uniform(-0.08, 0.08), scale: rng.uniform(0.95, 1.05), shiftX: rng.uniform(-5, 5), shiftY: rng.uniform(-5, 5),
      light: rng.uniform(0.8, 1.15), lightAngle: rng.uniform(0, 2 * Math.PI), noise: rng.uniform(2, 8),
    };
    const { rgb, landmarks } = renderFace(identity, frame, size, rng);
    // about 1 % of labels unknown (9), as in BP4D's coding
    occ.push(`${f},${BP4D.map((au) => (rng.next() < 0.01 ? 9 : frame.aus.has(au) ? 1 : 0)).join(',')}`);
    marks.push(`${f},${Array.from(landmarks, (v) => (v + 1).toFixed(2)).join(',')}`);
    const file = join(root, subject, task, `${f}.jpg`);
    // encoding and writing overlap the next frames' rendering (at most 4 in flight)
    const job: Promise<void> = sharp(rgb, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 92 }).toBuffer()
      .then((jpg) => writeFileAtomic(file, jpg))
      .then(() => onFrame?.())
      .catch((e: unknown) => { failed ??= e; })
      .finally(() => pending.delete(job));
    pending.add(job);
    if (pending.size >= 4) await Promise.race(pending);
  }
  await Promise.all(pending); // every write ends before the unit does, failed or not
  if (failed) throw failed;
  await writeFileAtomic(join(root, 'AUCoding', 'AU_OCC', `${subject}_${task}.csv`), `${occ.join('\n')}\n`);
  await writeFileAtomic(join(root, 'Landmarks', `${subject}_${task}.csv`), `${marks.join('\n')}\n`);
}

/** A unit's failure, naming it. */
function unitError(unit: SyntheticUnit, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Error(`synthetic faces ${unit.subject}/${unit.task} (seed ${unit.seed}): ${reason}`, { cause });
}

/**
 * Writes the units on `count` worker threads, each taking the next unit when it finishes one. The first
 * failure stops handing out units; the units already started finish (their files are written whole or
 * not at all), then every worker ends and the call rejects with the failure of the earliest unit in list
 * order, naming it: the one a single-threaded run stops at, whichever thread happened to fail first
 * (units are handed out in order, so every unit before a failed one has been started and has ended).
 */
async function writeUnitsOnWorkers(units: SyntheticUnit[], count: number, onFrame: () => void): Promise<void> {
  const script = new URL('./worker.js', import.meta.url);
  const workers: Worker[] = [];
  let next = 0;
  const failed = new Map<number, Error>(); // unit index → its failure
  let progressError: Error | null = null; // a throwing onProgress also stops the run
  const stopped = () => failed.size > 0 || progressError !== null;
  try {
    await new Promise<void>((resolve) => {
      let running = 0;
      const settle = () => { if (running === 0 && (stopped() || next >= units.length)) resolve(); };
      for (let i = 0; i < count; i++) {
        const worker = new Worker(script);
        workers.push(worker);
        let at = -1; // the index of the unit this worker is on
        const take = () => {
          if (stopped() || next >= units.length) return settle();
          at = next++;
          running++;
          worker.postMessage(units[at]!);
        };
        const end = (cause: unknown) => {
          if (at < 0) return; // an exit after its unit ended: nothing more to say
          if (cause !== null) failed.set(at, unitError(units[at]!, cause));
          at = -1;
          running--;
          take();
        };
        worker.on('message', (m: SyntheticWorkerMessage) => {
          if (m.kind === 'frame') {
            try { onFrame(); } catch (e) { progressError ??= e instanceof Error ? e : new Error(String(e)); }
          } else end(m.kind === 'error' ? m.message : null);
        });
        worker.on('error', (e) => end(e));
        worker.on('exit', (code) => end(`its worker thread exited (code ${code})`));
        take();
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failed.size > 0) throw failed.get(Math.min(...failed.keys()))!;
  if (progressError) throw progressError;
}

/** What a generation worker posts back: an image written, its unit done, or its unit failed. */
export type SyntheticWorkerMessage = { kind: 'frame' } | { kind: 'done' } | { kind: 'error'; message: string };

export async function generateSynthetic(options: SyntheticOptions): Promise<SyntheticManifest> {
  const { root, seed = 1, subjects: nSubjects = 12, tasks: nTasks = 4, framesPerTask = 30, size = 256, onProgress } = options;
  for (const [name, v, min] of [['subjects', nSubjects, 3], ['tasks', nTasks, 1], ['framesPerTask', framesPerTask, 1], ['size', size, 64]] as const) {
    if (!Number.isInteger(v) || v < min) throw rangeError(name, `an integer ≥ ${min}`, v);
  }
  const units = nSubjects * nTasks;
  const workers = options.workers ?? Math.min(availableParallelism(), units);
  if (!Number.isInteger(workers) || workers < 0) throw rangeError('workers', 'an integer ≥ 0', workers);
  const subjects = subjectNames(nSubjects);
  const tasks = Array.from({ length: nTasks }, (_, i) => `T${i + 1}`);
  const parts: [string[], string[], string[]] = [[], [], []];
  subjects.forEach((s, i) => parts[i % 3]!.push(s));
  const manifest: SyntheticManifest = { generator: 'sacl-au synthetic faces', version: GENERATOR_VERSION, seed, subjects, tasks, framesPerTask, size, aus: [...BP4D], parts };
  const done = await existingSynthetic(root, { ...manifest, subjects: nSubjects, tasks: nTasks });
  if (done) return done;

  await mkdir(join(root, 'AUCoding', 'AU_OCC'), { recursive: true });
  await mkdir(join(root, 'Landmarks'), { recursive: true });
  const total = units * framesPerTask;
  let written = 0;
  const onFrame = () => { written++; onProgress?.(written, total); };
  const list = subjects.flatMap((subject, subjectIndex) => tasks.map((task, taskIndex): SyntheticUnit =>
    ({ root, seed, subject, subjectIndex, task, taskIndex, framesPerTask, size })));
  if (workers === 0) {
    for (const unit of list) await writeSyntheticUnit(unit, onFrame).catch((e: unknown) => { throw unitError(unit, e); });
  } else {
    await writeUnitsOnWorkers(list, Math.min(workers, units), onFrame);
  }
  await writeFileAtomic(join(root, 'folds.json'), `${JSON.stringify({ parts }, null, 1)}\n`);
  // the manifest last: its presence marks a complete set
  await writeFileAtomic(join(root, 'synthetic.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
