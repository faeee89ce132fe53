/**
 * Bounded fuzzing of every file reader (docs/datasets.md, Malformed files): MAT Level 5 and v7.3, landmark
 * CSVs, folds.json, the BP4D and DISFA trees' label files, JAA-Net and ME-GraphAU lists, and the weights
 * manifest model.json. Each target runs in a worker (test/helpers/fuzz-worker.js) over mutants of valid
 * files from a fixed seed, for at most a count and a time; every case must end in a value or an Error
 * naming the file, within a per-case budget (a case past it is a hang: the worker is stopped), without a
 * stack overflow and without resident memory growing past a bound. SACL_FUZZ_SCALE=k runs k times the
 * cases and time (for a longer campaign); failing inputs are kept under the system's temp directory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';

const test = suite('fuzz: file readers');
const SCALE = Number(process.env.SACL_FUZZ_SCALE ?? 1);
const CASE_BUDGET_MS = 8000;

/** Target → [seed, most cases, most milliseconds]: 40 s in all at most, plus the workers' start-up. */
const TARGETS = {
  mat5: [1601, 1500, 7000],
  mat73: [1602, 400, 7000],
  'landmark-csv': [1603, 600, 3000],
  'folds-json': [1604, 400, 2000],
  'bp4d-tree': [1605, 300, 4000],
  'disfa-tree': [1606, 300, 4000],
  'jaa-lists': [1607, 300, 3500],
  'megraphau-lists': [1608, 300, 3500],
  'model-json': [1609, 300, 6000],
};

/** Runs one target; resolves with the worker's summary and any failures (a hang or a crash is a failure). */
function fuzz(target, seed, maxCases, budgetMs) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('../helpers/fuzz-worker.js', import.meta.url), {
      workerData: { target, seed, maxCases: maxCases * SCALE, budgetMs: budgetMs * SCALE, maxRssGrowthMb: 400 },
      env: { ...process.env, SACL_MAT73_TIMEOUT_MS: String(CASE_BUDGET_MS / 2) }, // a v7.3 read that loops is refused within the case budget
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
      stderr: true, // HDF5 prints its error stacks: kept out of the test output
    });
    worker.stderr.resume();
    const failures = [];
    let current = null;
    let timer = null;
    let settled = false;
    const finish = (summary) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ summary, failures });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        failures.push(`case ${current?.n} (${current?.how}) gave no answer within ${CASE_BUDGET_MS} ms; input: ${current?.file}`);
        worker.terminate().then(() => finish(null));
      }, CASE_BUDGET_MS + (current ? 0 : 60_000)); // the first timer also covers the worker's start-up
    };
    arm();
    worker.on('message', (m) => {
      if (m.type === 'start') { current = m; arm(); }
      if (m.type === 'failure') failures.push(`case ${m.n} (${m.how}): ${m.failure}; input kept in ${m.kept}`);
      if (m.type === 'case') current = null;
      if (m.type === 'done') finish(m);
    });
    worker.on('error', (e) => { failures.push(`worker died in case ${current?.n} (${current?.how}): ${e.code ?? ''} ${e.message}`); finish(null); });
    worker.on('exit', (code) => { if (!settled) { failures.push(`worker exited (${code}) in case ${current?.n} (${current?.how})`); finish(null); } });
  });
}

for (const [target, [seed, maxCases, budgetMs]] of Object.entries(TARGETS)) {
  test(`${target}: mutants from seed ${seed} read to a value or an error naming the file`, async () => {
    const { summary, failures } = await fuzz(target, seed, maxCases, budgetMs);
    if (summary) {
      console.log(`[sacl-au fuzz] ${target}: ${summary.cases} cases in ${summary.ms} ms (${summary.outcomes.value} values, ${summary.outcomes.error} errors); `
        + `slowest ${summary.slowest.ms.toFixed(0)} ms (case ${summary.slowest.n}: ${summary.slowest.how}); rss +${summary.rssGrowthMb.toFixed(0)} MB`);
    }
    assert.equal(failures, [], `${target}:\n${failures.slice(0, 5).join('\n')}`);
    assert.ok(summary && summary.cases > 0, `${target}: no cases ran`);
  });
}

test.run();
