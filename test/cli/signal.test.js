/**
 * `sacl-au train` under SIGTERM / SIGINT: a child process trains tiny synthetic data; after its first
 * progress line it gets a signal, checkpoints within the epoch, says where and how to resume, exits 143 /
 * 130; --resume then ends with the weights of an uninterrupted run, bit for bit.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, WASM_ENV, runCli as run, withSyntheticData } from '../helpers/cli.js';

const test = suite('sacl-au train: signals and --checkpoint-every');
let dir;
let data;
withSyntheticData(test, 'sacl-signal-', (folder) => ({ dir, data } = folder));

// fold 1 trains 12 frames: 6 steps per epoch at batch 2
const args = () => ['--dataset', 'bp4d', '--root', data, '--fold', '1', '--variant', 'tiny', '--input', '48', '--batch-size', '2', '--lr', '0.05', '--epochs', '2', '--no-eval'];

/**
 * Runs the CLI, sends `signal` once stderr shows the first progress line (with `twice`, again once it says
 * it is stopping: the same signal sent twice at once may arrive as one); resolves with exit code and stderr.
 */
function interrupted(signal, twice, ...more) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, 'train', ...more], { env: WASM_ENV });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      stderr += text;
      if (!sent && /epoch 1\/2 \[/.test(stderr)) {
        sent = true;
        child.kill(signal);
      } else if (twice && sent && /stopping after this step/.test(stderr)) {
        twice = false;
        child.kill(signal);
      }
    });
    child.on('error', fail);
    child.on('close', (code, killedBy) => done({ code, killedBy, stderr }));
  });
}

const weights = (d) => { const j = JSON.parse(readFileSync(join(d, 'model', 'model.json'), 'utf8')); return readFileSync(join(d, 'model', j.weightsManifest[0].paths[0])); };

test('SIGTERM: a checkpoint within the epoch, exit 143, the resume command printed; --resume ends as the uninterrupted run', async () => {
  const straight = join(dir, 'straight');
  let r = run('train', ...args(), '--out', straight);
  assert.is(r.status, 0, r.stderr);

  const out = join(dir, 'term');
  const t = await interrupted('SIGTERM', false, ...args(), '--out', out);
  assert.is(t.code, 143, t.stderr);
  assert.match(t.stderr, /SIGTERM: stopping after this step and saving a checkpoint/);
  assert.match(t.stderr, new RegExp(`stopped by SIGTERM: checkpoint ${join(out, 'checkpoint')} \\(epoch 1, \\d steps into it, step \\d\\); continue with: sacl-au train --out ${out} --resume`));
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'state.json'), 'utf8'));
  assert.is(state.epochsDone, 0);
  assert.ok(state.batchesDone >= 1 && state.batchesDone < 6, `batchesDone ${state.batchesDone}`);
  assert.is(state.step, state.batchesDone);
  assert.not.ok(existsSync(join(out, 'model')), 'no model is saved from an unfinished run');

  r = run('train', '--out', out, '--resume');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming .*checkpoint: bp4d under .*data, fold 1, tiny model, 0 of 2 epochs done/);
  const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'));
  assert.equal(history.steps.map((s) => s.step), [...Array(12).keys()]);
  assert.ok(weights(out).equals(weights(straight)), 'resumed = uninterrupted, bit for bit');
});

test('SIGINT exits 130 with a checkpoint; a second signal exits at once; --checkpoint-every is checked', async () => {
  const out = join(dir, 'int');
  const i = await interrupted('SIGINT', false, ...args(), '--out', out, '--checkpoint-every', '0');
  assert.is(i.code, 130, i.stderr);
  assert.ok(existsSync(join(out, 'checkpoint', 'state.json')));

  const twice = join(dir, 'twice');
  const t = await interrupted('SIGTERM', true, ...args(), '--out', twice);
  assert.is(t.code, 143, t.stderr);
  assert.match(t.stderr, /SIGTERM again: exiting without a checkpoint/);

  const r = run('train', ...args(), '--out', join(dir, 'x'), '--checkpoint-every', '2.5');
  assert.is(r.status, 2);
  assert.match(r.stderr, /Expected a non-negative integer for --checkpoint-every but received "2.5"/);
});

test('--checkpoint-every 4: checkpoints within epochs as the run goes', () => {
  const out = join(dir, 'every');
  // one epoch of 6 steps: a checkpoint at step 4 (kept as checkpoint.old), then the epoch's end
  const r = run('train', ...args(), '--epochs', '1', '--out', out, '--checkpoint-every', '4');
  assert.is(r.status, 0, r.stderr);
  const old = JSON.parse(readFileSync(join(out, 'checkpoint.old', 'state.json'), 'utf8'));
  assert.equal([old.epochsDone, old.batchesDone, old.step], [0, 4, 4]);
});

test.run();
