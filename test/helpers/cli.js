/** The sacl-au command line in a child process, and the small data and model folders its tests start from. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSynthetic } from '../../dist/data/synthetic/generate.js';
import { AuModel, modelConfig } from '../../dist/model/index.js';
import { initTf } from '../../dist/tf/engine.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A child's environment: this one with tfjs on wasm (process.env itself is left alone). */
export const WASM_ENV = { ...process.env, SACL_TF_BACKEND: 'wasm' };

/** Runs `sacl-au ...args` on wasm to its end: spawnSync's result, stdout and stderr as text. */
export const runCli = (...args) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: WASM_ENV });

/** A new temporary folder `dir` with `data` = dir/data: a small synthetic BP4D set (3 subjects, 6 frames each, 64 px). */
export async function syntheticDataFolder(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  await generateSynthetic({ root: data, seed: 4, subjects: 3, tasks: 1, framesPerTask: 6, size: 64 });
  return { dir, data };
}

/** On a suite: before it, a syntheticDataFolder(prefix) handed to use({ dir, data }); after it, the folder removed. */
export function withSyntheticData(test, prefix, use) {
  let dir;
  test.before(async () => {
    const folder = await syntheticDataFolder(prefix);
    dir = folder.dir;
    use(folder);
  });
  test.after(() => dir && rmSync(dir, { recursive: true, force: true }));
}

/** A new temporary folder `dir` with `model` = dir/model: an untrained tiny model for 48-px crops. Sets tfjs up first. */
export async function tinyModelFolder(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const model = join(dir, 'model');
  await initTf(process.env.SACL_TF_BACKEND ? {} : { prefer: 'wasm' }); // leaves process.env alone for later files
  const m = new AuModel(modelConfig('tiny', { inputSize: 48 }));
  await m.save(model);
  m.dispose();
  return { dir, model };
}
