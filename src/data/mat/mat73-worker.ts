/**
 * The worker thread that reads v7.3 MAT-files for mat73.ts (which stops it when HDF5 does not answer):
 * one request at a time, answered with the variables or the error's message.
 */
import { parentPort } from 'node:worker_threads';
import { readMat73InThread } from './mat73.js';

parentPort!.on('message', async ({ file, names, fields }: { file: string; names?: string[]; fields?: string[] }) => {
  try {
    parentPort!.postMessage({ entries: [...(await readMat73InThread(file, names, fields))] });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    parentPort!.postMessage({ error: message.startsWith(`${file}: `) ? message : `${file}: not a readable v7.3 MAT-file (${message})` });
  }
});
