/**
 * The fuzz harness's worker (test/data/fuzz.test.js starts it): for one target, writes valid files, then
 * mutates them from a fixed seed and runs the target's reader in-process on each mutant, posting
 * { type: 'start' } before each case and { type: 'case' } after it, so the parent can stop a case that
 * hangs. A case passes when the reader returns a value or throws an Error whose message names the file
 * (or, for the readers of a whole tree, a file under the tree's root); a stack overflow, any other throw
 * or resident memory more than `maxRssGrowthMb` above where the target started fail it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import fs from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from './random.js';
import { cell, chr, num, struct, writeMat5, writeMat73 } from './mat.js';

const { target, seed, maxCases, budgetMs, maxRssGrowthMb } = workerData;
// HDF5 writes an error stack to file descriptor 2 for every malformed object: not wanted in the test output
const writeSync = fs.writeSync;
fs.writeSync = (fd, data, ...rest) => (fd === 2 ? (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) : writeSync(fd, data, ...rest));
const rng = new Rng(seed);
const root = mkdtempSync(join(tmpdir(), `sacl-fuzz-${target}-`));
const write = (file, data) => { mkdirSync(join(file, '..'), { recursive: true }); writeFileSync(file, data); };

// ---- mutations ---------------------------------------------------------------------------------

const EXTREME_WORDS = [0, 1, 7, 8, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, 0x10000, 0x01000000];
const EXTREME_NUMBERS = ['1e309', '-1e309', '1e39', '-5e38', '3.4e38', 'NaN', '', '-0', '1e-400', '9'.repeat(30), '0x10', '1.5', '-1'];

/** A mutated copy of binary `bytes` (leaving the first `keep` bytes) and what was done. */
function mutateBytes(bytes, keep = 0) {
  const b = Buffer.from(bytes);
  const at = () => rng.int(keep, Math.max(keep, b.length - 1));
  switch (rng.int(0, 5)) {
    case 0: { // bit flips
      const n = rng.int(1, 8);
      for (let k = 0; k < n; k++) b[at()] ^= 1 << rng.int(0, 7);
      return { bytes: b, how: `${n} bit flips` };
    }
    case 1: { // truncation
      const end = at();
      return { bytes: b.subarray(0, end), how: `truncated at ${end}` };
    }
    case 2: case 3: { // a 4-byte-aligned word (a tag's type or length, a dimension, a count) set to an extreme
      const o = Math.min(b.length - 4, (at() & ~3) >>> 0);
      if (o < keep) return { bytes: b, how: 'unchanged' };
      const v = rng.pick(EXTREME_WORDS);
      const little = rng.next() < 0.5;
      if (little) b.writeUInt32LE(v, o); else b.writeUInt32BE(v, o);
      return { bytes: b, how: `word at ${o} = ${v} (${little ? 'LE' : 'BE'})` };
    }
    case 4: { // a chunk duplicated in place
      const from = at();
      const len = rng.int(1, Math.min(512, b.length - from));
      const to = at();
      return { bytes: Buffer.concat([b.subarray(0, to), b.subarray(from, from + len), b.subarray(to)]), how: `${len} bytes from ${from} copied in at ${to}` };
    }
    default: { // a run of zeros or 0xff
      const from = at();
      const len = rng.int(1, 64);
      b.fill(rng.next() < 0.5 ? 0 : 0xff, from, Math.min(b.length, from + len));
      return { bytes: b, how: `${len} bytes filled at ${from}` };
    }
  }
}

/** A mutated copy of `text` and what was done. */
function mutateText(text) {
  const lines = text.split('\n');
  const line = () => rng.int(0, Math.max(0, lines.length - 1));
  switch (rng.int(0, 7)) {
    case 0: case 1: { // a number replaced by an extreme or malformed one
      const tokens = [...text.matchAll(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi)];
      if (!tokens.length) return { text: `${text}1e309`, how: 'appended 1e309' };
      const t = rng.pick(tokens);
      const v = rng.pick(EXTREME_NUMBERS);
      return { text: text.slice(0, t.index) + v + text.slice(t.index + t[0].length), how: `${JSON.stringify(t[0])} at ${t.index} → ${JSON.stringify(v)}` };
    }
    case 2: { // a line duplicated
      const i = line();
      lines.splice(rng.int(0, lines.length), 0, lines[i]);
      return { text: lines.join('\n'), how: `line ${i + 1} duplicated` };
    }
    case 3: { // a line deleted
      const i = line();
      lines.splice(i, 1);
      return { text: lines.join('\n'), how: `line ${i + 1} deleted` };
    }
    case 4: { // truncation
      const end = rng.int(0, text.length);
      return { text: text.slice(0, end), how: `truncated at ${end}` };
    }
    case 5: { // a long run inserted: separators, digits, brackets
      const unit = rng.pick([',', ' ', '9', '[', '{"a":', '\0', '"']);
      const n = rng.pick([1000, 100_000, 1_000_000]);
      const at = rng.int(0, text.length);
      return { text: text.slice(0, at) + unit.repeat(n) + text.slice(at), how: `${n} × ${JSON.stringify(unit)} at ${at}` };
    }
    case 6: { // a character flipped
      const at = rng.int(0, Math.max(0, text.length - 1));
      const c = String.fromCharCode(text.charCodeAt(at) ^ (1 << rng.int(0, 6)));
      return { text: text.slice(0, at) + c + text.slice(at + 1), how: `char at ${at} → ${JSON.stringify(c)}` };
    }
    default: { // a chunk duplicated in place
      const from = rng.int(0, text.length);
      const len = rng.int(1, 200);
      const to = rng.int(0, text.length);
      return { text: text.slice(0, to) + text.slice(from, from + len) + text.slice(to), how: `${len} chars from ${from} copied in at ${to}` };
    }
  }
}

// ---- targets: valid files, what to mutate, how to read -------------------------------------------

const dist = (p) => new URL(`../../dist/${p}`, import.meta.url).href;
const csvRow = (frame, n) => [frame, ...Array.from({ length: 2 * n }, (_, i) => (10 + i + frame / 7).toFixed(3))].join(',');
const OCC_HEADER = 'Frame,1,2,4,6,7,10,12,14,15,17,23,24';

async function setUp() {
  switch (target) {
    case 'mat5': {
      const { readMatFile } = await import(dist('data/mat/index.js'));
      const vars = {
        pts: num([66, 2], Array.from({ length: 132 }, (_, i) => i / 3 + 1)),
        name: chr('SN001_0001'),
        mixed: cell([1, 3], [num([1, 1], [1.5]), chr('ab'), num([0, 0], [])]),
        fit: struct([1, 2], ['pred', 'pose'], [0, 1].map((k) => ({ pred: num([3, 2], [k, 1, 2, 3, 4, 5]), pose: num([1, 3], [k, 0, 1], 'single') }))),
        small: num([1, 4], [-3, 7, 0, 1], 'int16'),
      };
      const bases = [{}, { compress: true }, { bigEndian: true }].map((opts, k) => {
        const file = join(root, `base${k}.mat`);
        writeMat5(file, vars, opts);
        return readFileSync(file);
      });
      return {
        next: () => mutateBytes(rng.pick(bases), rng.next() < 0.9 ? 128 : 0),
        ext: '.mat',
        read: async (file) => { await readMatFile(file, rng.next() < 0.5 ? ['pts'] : undefined); },
      };
    }
    case 'mat73': {
      const { readMatFile, readMatVariable } = await import(dist('data/mat/index.js'));
      const file = join(root, 'base.mat');
      await writeMat73(file, {
        pts: num([3, 2], [1, 2, 3, 4, 5, 6]),
        c: cell([1, 2], [num([1, 1], [1]), chr('x')]),
        fit: struct([1, 3], ['pred'], [0, 1, 2].map((k) => ({ pred: k === 1 ? num([0, 0], []) : num([2, 2], [k, 1, 2, 3]) }))),
      });
      const base = readFileSync(file);
      return {
        next: () => mutateBytes(base, 512),
        ext: '.mat',
        read: async (f) => { if (rng.next() < 0.5) await readMatFile(f); else await readMatVariable(f, 'fit', ['pred']); },
      };
    }
    case 'landmark-csv': {
      const { readLandmarkCsv } = await import(dist('data/landmark-files.js'));
      const bases = [49, 66].map((n) => `Frame,x1,y1,...\n${[1, 2, 3].map((f) => csvRow(f, n)).join('\n')}\n`);
      return { next: () => mutateText(rng.pick(bases)), ext: '.csv', read: (f) => readLandmarkCsv(f) };
    }
    case 'folds-json': {
      const { readFoldsFile } = await import(dist('data/dataset.js'));
      const base = JSON.stringify({ parts: [['F001', 'M001'], ['F002'], ['M002', 'F003']] });
      return { next: () => mutateText(base), ext: '.json', read: (f) => readFoldsFile(f) };
    }
    case 'bp4d-tree': {
      const { readBp4dLayout } = await import(dist('data/bp4d-layout.js'));
      const files = {
        'AUCoding/AU_OCC/F001_T1.csv': `${OCC_HEADER}\n${[1, 2, 3].map((f) => `${f},${Array.from({ length: 12 }, (_, a) => (f + a) % 3 === 0 ? 9 : (f + a) % 2).join(',')}`).join('\n')}\n`,
        'Landmarks/F001_T1.csv': `Frame,...\n${[1, 2, 3].map((f) => csvRow(f, 49)).join('\n')}\n`,
        'folds.json': JSON.stringify({ parts: [['F001'], ['M001'], ['F002']] }),
      };
      return tree(files, (dir) => readBp4dLayout(dir));
    }
    case 'disfa-tree': {
      const { readDisfaLayout } = await import(dist('data/disfa-layout.js'));
      const files = Object.fromEntries([1, 2, 4, 6, 9, 12, 25, 26].map((au) => [`ActionUnit_Labels/SN001/SN001_au${au}.txt`, [1, 2, 3, 4].map((f) => `${f},${(f + au) % 6}`).join('\n')]));
      files['Landmarks/SN001.csv'] = `Frame,...\n${[1, 2, 3, 4].map((f) => csvRow(f, 66)).join('\n')}\n`;
      return tree(files, (dir) => readDisfaLayout(dir));
    }
    case 'jaa-lists': {
      const { readJaaNetLists } = await import(dist('data/list-formats.js'));
      const files = {};
      ['F001', 'M001', 'F002'].forEach((s, k) => {
        files[`BP4D_part${k + 1}_path.txt`] = `BP4D/${s}/T1/1.jpg\nBP4D/${s}/T1/2.jpg\n`;
        files[`BP4D_part${k + 1}_AUoccur.txt`] = `${Array(12).fill(0).join(' ')}\n${Array(12).fill(1).join(' ')}\n`;
        files[`BP4D_part${k + 1}_land.txt`] = `${[1, 2].map((f) => Array.from({ length: 98 }, (_, i) => (i + f).toFixed(2)).join(' ')).join('\n')}\n`;
      });
      return tree(files, (dir) => readJaaNetLists(dir, 'bp4d'));
    }
    case 'megraphau-lists': {
      const { readMeGraphAuLists } = await import(dist('data/list-formats.js'));
      const parts = [['F001'], ['M001'], ['F002']];
      const files = {};
      for (const fold of [1, 2, 3]) {
        const testPart = parts[3 - fold];
        for (const [split, subjects] of [['train', parts.filter((p) => p !== testPart).flat()], ['test', testPart]]) {
          const paths = subjects.flatMap((s) => [`${s}/T1/1.jpg`, `${s}/T1/2.jpg`]);
          files[`list/BP4D_${split}_img_path_fold${fold}.txt`] = `${paths.join('\n')}\n`;
          files[`list/BP4D_${split}_label_fold${fold}.txt`] = `${paths.map((p) => Array.from({ length: 12 }, (_, a) => (p.length + a) % 2).join(' ')).join('\n')}\n`;
        }
      }
      return tree(files, (dir) => readMeGraphAuLists(dir, 'bp4d'));
    }
    case 'model-json': {
      const tf = await import('@tensorflow/tfjs');
      const { loadTensors, saveTensors } = await import(dist('tf/weights-io.js'));
      const dir = join(root, 'base');
      await saveTensors(dir, [{ name: 'a', tensor: tf.ones([2, 3]) }, { name: 'b/c', tensor: tf.zeros([4]) }], { step: 3 });
      const json = readFileSync(join(dir, 'model.json'), 'utf8');
      const weights = readdirWeights(dir);
      return {
        next: () => mutateText(json),
        tree: true,
        run: async ({ text }, n) => {
          const d = join(root, `case${n}`);
          write(join(d, 'model.json'), text);
          for (const [name, bytes] of weights) write(join(d, name), bytes);
          return { file: join(d, 'model.json'), names: d, read: async () => { const { tensors } = await loadTensors(d); tensors.forEach((t) => t.tensor.dispose()); } };
        },
      };
    }
    default:
      throw new Error(`fuzz target: expected one of mat5, mat73, landmark-csv, folds-json, bp4d-tree, disfa-tree, jaa-lists, megraphau-lists, model-json; got ${target}`);
  }
}

function readdirWeights(dir) {
  return readFileSync(join(dir, 'model.json'), 'utf8').match(/weights-[0-9a-f]+\.bin/g).map((name) => [name, readFileSync(join(dir, name))]);
}

/** A target whose reader takes a whole tree: each case copies the valid files and mutates one of them. */
function tree(files, readTree) {
  const names = Object.keys(files);
  return {
    next: () => { const which = rng.pick(names); return { ...mutateText(files[which]), which }; },
    tree: true,
    run: async ({ text, which }, n) => {
      const d = join(root, `case${n}`);
      for (const name of names) write(join(d, name), name === which ? text : files[name]);
      return { file: join(d, which), names: d, read: () => readTree(d) };
    },
  };
}

// ---- the loop ------------------------------------------------------------------------------------

const t = await setUp();
const rss0 = process.memoryUsage().rss;
const started = Date.now();
let slowest = { ms: 0 };
const outcomes = { value: 0, error: 0 };
for (let n = 0; n < maxCases && Date.now() - started < budgetMs; n++) {
  const m = t.next();
  let file;
  let names;
  let read;
  if (t.tree) {
    ({ file, names, read } = await t.run(m, n));
  } else {
    file = join(root, `case${n}${t.ext}`);
    names = file;
    writeFileSync(file, m.bytes ?? m.text);
    read = () => t.read(file);
  }
  parentPort.postMessage({ type: 'start', n, file, how: m.how });
  const t0 = performance.now();
  let failure = null;
  try {
    await read();
    outcomes.value++;
  } catch (e) {
    outcomes.error++;
    const message = e instanceof Error ? e.message : String(e);
    if (/Maximum call stack/i.test(message)) failure = `stack overflow: ${message}`;
    else if (!(e instanceof Error)) failure = `threw a non-Error: ${message}`;
    else if (!message.includes(names)) failure = `${e.name} that does not name ${names}: ${message.slice(0, 300)}`;
  }
  const ms = performance.now() - t0;
  const growth = (process.memoryUsage().rss - rss0) / 1e6;
  if (!failure && growth > maxRssGrowthMb) failure = `resident memory grew by ${growth.toFixed(0)} MB`;
  if (ms > slowest.ms) slowest = { ms, n, how: m.how };
  if (failure) {
    const kept = join(tmpdir(), `sacl-fuzz-failure-${target}-${seed}-${n}`);
    rmSync(kept, { recursive: true, force: true });
    write(join(kept, 'README'), `${target} case ${n} (seed ${seed}): ${m.how}\n${failure}\n`);
    writeFileSync(join(kept, 'input'), t.tree ? m.text : m.bytes);
    parentPort.postMessage({ type: 'failure', n, how: m.how, failure, kept });
  }
  parentPort.postMessage({ type: 'case', n, ms });
  if (t.tree) rmSync(join(root, `case${n}`), { recursive: true, force: true });
  else rmSync(file, { force: true });
}
rmSync(root, { recursive: true, force: true });
parentPort.postMessage({ type: 'done', cases: outcomes.value + outcomes.error, outcomes, slowest, ms: Date.now() - started, rssGrowthMb: (process.memoryUsage().rss - rss0) / 1e6 });
