/**
 * A synthetic-faces worker thread (generate.ts): takes one unit at a time, writes it, and says so; a
 * frame message per image written drives the caller's progress.
 */
import { parentPort } from 'node:worker_threads';
import { writeSyntheticUnit, type SyntheticUnit, type SyntheticWorkerMessage } from './generate.js';

const port = parentPort;
if (!port) throw new Error('src/data/synthetic/worker.ts runs as a worker thread of generateSynthetic');
const post = (m: SyntheticWorkerMessage) => port.postMessage(m);
port.on('message', (unit: SyntheticUnit) => {
  writeSyntheticUnit(unit, () => post({ kind: 'frame' })).then(
    () => post({ kind: 'done' }),
    (e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e) }));
});
