/**
 * bench/train-step.js end to end at its smallest (tiny model, batch 2, one step, wasm and cpu): the JSON
 * line carries per-image time, GFLOP/s by the stated formula, peak RSS and a profile whose families add
 * up; a missing PyTorch anchor is a skip with its reason, not a failure; --rounds pools its rounds' steps;
 * --json-only prints the JSON line alone; --interleave times both thread counts in one process; a PyTorch on
 * the reference BLAS is named and not judged against; bad flags exit with a message.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('bench/train-step.js');
const script = fileURLToPath(new URL('../../bench/train-step.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 300_000 });

test('one tiny step per backend: JSON fields, the FLOP formula, the profile, and the anchor skipped with a reason', () => {
  const r = run('--model', 'tiny', '--batch', '2', '--steps', '1', '--threads', '1', '--torch-anchor', '/nonexistent/train_step_torch.py');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines.pop());
  assert.is(json.bench, 'train-step');
  assert.equal(json.options.backends, ['cpu', 'wasm']);
  const ours = json.results.filter((x) => x.backend);
  assert.equal(ours.map((x) => x.backend), ['cpu', 'wasm']);
  for (const x of ours) {
    assert.not.ok(x.error, x.error);
    assert.ok(x.stepMs > 0 && Number.isFinite(x.loss));
    assert.is(x.msPerImage, x.stepMs / 2);
    // 3 × 2 × the tiny preset's forward multiply-adds (26 167 616 at 112 px, `sacl-au model --variant tiny`)
    assert.ok(Math.abs(x.gflopPerImage - (6 * 26167616) / 1e9) < 1e-9, String(x.gflopPerImage));
    assert.ok(Math.abs(x.gflops - (x.gflopPerImage * 2) / (x.stepMs / 1000)) < 1e-9);
    assert.ok(x.peakRssMB > 50, String(x.peakRssMB));
    const p = x.profile;
    assert.ok(p.families.conv > 0 && p.families.optimizer > 0, JSON.stringify(p.families));
    const sum = Object.values(p.families).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - p.kernelMs) < 1e-6 * p.kernelMs);
    assert.ok(Math.abs(p.kernelMs + p.outsideMs - p.wallMs) < 1e-6 * p.wallMs || p.outsideMs === 0);
  }
  const torch = json.results.find((x) => !x.backend);
  assert.match(torch.skipped, 'no PyTorch anchor at /nonexistent/train_step_torch.py');
  assert.ok(lines.some((l) => l.startsWith('# PyTorch: no PyTorch anchor at /nonexistent/')), 'the header says why');
  assert.ok(lines.some((l) => l.startsWith('Share of the profiled step per kernel family')));
});

test('--rounds pools every round\'s timed steps (their upper median is the step), --json-only prints the JSON line alone', () => {
  const r = run('--model', 'tiny', '--batch', '2', '--steps', '2', '--threads', '1', '--backend', 'cpu', '--rounds', '2',
    '--no-profile', '--torch-anchor', 'none', '--json-only');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1, r.stdout);
  const json = JSON.parse(lines[0]);
  assert.is(json.options.rounds, 2);
  const [ours] = json.results.filter((x) => x.backend);
  assert.is(ours.times.length, 4, 'two rounds of two steps');
  assert.is(ours.roundsMs.length, 2);
  assert.is(ours.stepMs, [...ours.times].sort((a, b) => a - b)[2]);
  assert.is(ours.msPerImage, ours.stepMs / 2);
});

test('--interleave: both thread counts from one process, step by step in turn, each with its own timed steps', () => {
  const r = run('--model', 'tiny', '--batch', '2', '--steps', '2', '--threads', '2,1', '--backend', 'cpu', '--interleave',
    '--no-profile', '--torch-anchor', 'none', '--json-only');
  assert.is(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout.trim());
  assert.is(json.options.interleave, true);
  const ours = json.results.filter((x) => x.backend);
  assert.equal(ours.map((x) => x.threads), [2, 1]);
  for (const x of ours) {
    assert.not.ok(x.error, x.error);
    assert.is(x.addonThreads, x.threads);
    assert.is(x.times.length, 2);
    assert.is(x.stepMs, [...x.times].sort((a, b) => a - b)[1]);
  }
  assert.is(ours[0].peakRssMB, ours[1].peakRssMB, 'one process');
  assert.is(ours[0].vsOneThread, ours[1].stepMs / ours[0].stepMs);
});

/**
 * A stand-in for python3 that answers the bench's torch probe (-c …) with the given BLAS and runs the
 * anchor (any other arguments) as one JSON row: PyTorch's own step is not what these tests look at.
 */
function fakePython(dir, blas, gflops1t) {
  const file = join(dir, 'python3');
  const probe = JSON.stringify({ version: '1.13.0-fake', blas, gflops1t });
  const row = JSON.stringify({ torch: '1.13.0-fake', threads: 1, batch: 2, stepMs: 100, gflopPerImage: 0.157, peakRssMB: 400 });
  writeFileSync(file, `#!/bin/sh\nif [ "$1" = "-c" ]; then echo '${probe}'; else echo '${row}'; fi\n`);
  chmodSync(file, 0o755);
  return file;
}

test('PyTorch on the reference BLAS: the header names its library and speed, and no × PyTorch target is judged', () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'sacl-bench-'));
  try {
    const args = ['--model', 'tiny', '--batch', '2', '--steps', '1', '--threads', '1', '--backend', 'cpu', '--no-profile', '--torch-anchor', script];
    const slow = run(...args, '--python', fakePython(dir, ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'], 6.2));
    assert.is(slow.status, 0, slow.stderr);
    assert.match(slow.stdout, '# PyTorch: torch 1.13.0-fake via');
    assert.match(slow.stdout, 'BLAS /usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0, 6.20 GFLOP/s at 1 thread');
    assert.match(slow.stdout, '# WARNING: PyTorch multiplies with the reference BLAS');
    assert.match(slow.stdout, "sacl-au cpu/1t per image ≤ PyTorch's: not judged (PyTorch on the reference BLAS)");
    const json = JSON.parse(slow.stdout.trim().split('\n').pop());
    assert.match(json.torchBlas.noAnchor, 'reference BLAS');
    const fast = run(...args, '--python', fakePython(dir, ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3'], 102));
    assert.is(fast.status, 0, fast.stderr);
    assert.not.match(fast.stdout, 'WARNING');
    assert.match(fast.stdout, /sacl-au cpu\/1t per image ≤ PyTorch's: [✓✗]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad flags exit 1 with the message', () => {
  for (const [args, message] of [[['--model', 'huge'], '--model expects full or tiny, got "huge"'],
    [['--threads', '1,0'], '--threads expects positive integers (e.g. 2 or 1,2), got "1,0"'],
    [['--backend', 'gpu'], '--backend expects cpu, wasm or both, got "gpu"'], [['--batch', '2.5'], '--batch expects a positive integer, got "2.5"'],
    [['--rounds', '0'], '--rounds expects a positive integer, got "0"'],
    [['--interleave'], '--interleave needs --backend cpu (wasm fixes its threads when it starts)']]) {
    const r = run(...args);
    assert.is(r.status, 1, args.join(' '));
    assert.match(r.stderr, `bench: ${message}`);
  }
});

test.run();
