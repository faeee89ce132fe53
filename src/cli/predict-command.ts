/** `sacl-au predict`: AU occurrence per face in photos, videos and folders (or per aligned crop with --aligned). */
import { UsageError, asUsage, usageError } from '../util/errors.js';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { AuModel } from '../model/model.js';
import { IMAGE_EXTENSIONS } from '../face/image.js';
import { DETECTORS } from '../face/detect.js';
import { checkOneOf } from '../util/validate.js';
import { VIDEO_EXTENSIONS } from '../face/video.js';
import { DEFAULT_DETECT_EVERY } from '../face/follow.js';
import { initTf } from '../tf/engine.js';
import { expandInputs, runPredict } from '../run/predict.js';
import { numberFlag } from './flags.js';

export const PREDICT_USAGE = `Usage: sacl-au predict --model <dir> <image|video|folder|->... [options]

Finds every face in each image or video frame (SSD-MobileNet or the tiny detector and a 68-point
landmark net from @vladmandic/face-api, offline), maps the landmarks to the model's 49, aligns each face
the JAA-Net way and prints one row per face, as soon as it is known, in OpenFace 2.2 FeatureExtraction's
layout: file, frame, face_id, timestamp, confidence, success, x_0…x_48, y_0…y_48 (image pixels),
AU01_p… (occurrence probability), AU01_c… (presence: probability ≥ --threshold). No intensity (_r).

Inputs: images (${IMAGE_EXTENSIONS.join(' ')}), videos (${VIDEO_EXTENSIONS.join(' ')}; decoded by ffmpeg,
which must be on PATH), folders (searched recursively, sorted), and '-' for a list of paths on standard
input, one a line. In a video, faces keep their id from frame to frame, and a frame without a face is
one row with success 0.

Options:
  --model <dir>           a model saved by sacl-au train (required)
  --out <file>            write there (complete or not at all) instead of standard output
  --json                  JSON lines instead of CSV
  --threshold <t>         presence threshold, default 0.5
  --detector ${DETECTORS.join('|')}     face detector, default ssd (tiny: faster, misses small and turned faces)
  --min-confidence <c>    drop detections scoring below c, default 0.5
  --detect-every <n>      videos: run the detector every n-th frame (default ${DEFAULT_DETECT_EVERY}; 1: every frame). In
                          between, faces are tracked: only the landmark net runs, in boxes around their
                          previous landmarks; a face lost by tracking makes the detector run at once
  --overlay <dir>         also write each picture (each video frame) with every face's box, landmarks,
                          the model's AU ROIs and a bar per AU: <dir>/<name>.jpg, <dir>/<video>/<frame>.jpg,
                          and per video an annotated <dir>/<video>.mp4
  --aligned               inputs are square face crops already aligned the JAA-Net way: no detection
  --skip-bad              an unreadable image or video, or a photo with no face, is reported on stderr and skipped
                          (default: the run stops there with exit 1)
  --help`;

/** Writes to a stream, waiting when its buffer is full. */
function writer(stream: Writable): (text: string) => Promise<void> {
  return async (text) => {
    if (!stream.write(text)) await once(stream, 'drain');
  };
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      model: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, threshold: { type: 'string' }, detector: { type: 'string' },
      'min-confidence': { type: 'string' }, 'detect-every': { type: 'string' }, overlay: { type: 'string' }, aligned: { type: 'boolean' }, 'skip-bad': { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) return process.stdout.write(`${PREDICT_USAGE}\n`), 0;
  if (!values.model) throw new UsageError('--model is required (sacl-au predict --help)');
  if (positionals.length === 0) throw new UsageError(`predict: no inputs given (images ${IMAGE_EXTENSIONS.join(' ')}, folders, or - for paths on stdin)`);
  const detector = asUsage(() => checkOneOf('--detector', values.detector ?? 'ssd', DETECTORS));
  const threshold = numberFlag('threshold', values.threshold) ?? 0.5;
  if (threshold > 1) throw usageError('--threshold', 'a number in [0, 1]', JSON.stringify(values.threshold));
  const minConfidence = numberFlag('min-confidence', values['min-confidence']) ?? 0.5;
  if (minConfidence > 1) throw usageError('--min-confidence', 'a number in [0, 1]', JSON.stringify(values['min-confidence']));
  const detectEvery = numberFlag('detect-every', values['detect-every'], { integer: true, min: 1 }) ?? DEFAULT_DETECT_EVERY;
  // wasm first: face-api's nets and the AU model ran 1.1–1.6× faster on it than on 'cpu' with the addon's
  // kernels (bench/predict.js, docs/face.md Speed); SACL_TF_BACKEND still decides when set
  await initTf(process.env.SACL_TF_BACKEND ? {} : { prefer: 'wasm' });
  const model = await AuModel.load(resolve(values.model));
  const out = values.out ? resolve(values.out) : null;
  const tmp = out && `${out}.tmp-${process.pid}`;
  const stream = tmp ? createWriteStream(tmp) : process.stdout;
  let bad = 0;
  try {
    const summary = await runPredict(model, expandInputs(positionals), writer(stream), {
      aligned: Boolean(values.aligned), threshold, json: Boolean(values.json), detector, minConfidence, detectEvery,
      ...(values.overlay && { overlay: resolve(values.overlay) }),
      ...(values['skip-bad'] && { onBadInput: (_file: string, reason: string) => { bad++; process.stderr.write(`sacl-au: skipped ${reason}\n`); } }),
    });
    if (tmp && out) {
      stream.end();
      await once(stream, 'finish');
      await rename(tmp, out);
    }
    if (bad) process.stderr.write(`sacl-au: ${summary.faces} faces from ${summary.files - bad} of ${summary.files} files; ${bad} skipped\n`);
    if (summary.files === 0) throw new UsageError('predict: the inputs hold no images');
    return 0;
  } catch (e) {
    if (tmp) {
      stream.end();
      await once(stream, 'close').catch(() => undefined);
      await rm(tmp, { force: true });
    }
    throw e;
  } finally {
    model.dispose();
  }
}
