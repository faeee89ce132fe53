/**
 * Shared benchmark machinery: flags, backend discovery, seeded data, time-boxed timing, memory probes,
 * the table and the final JSON line. bench/knn.js, mrconv.js and roi.js only describe their op;
 * runBench() runs every case on every available backend (one list of cases × every implementation).
 *
 * Flags (all scripts):
 *   --quick                       few repeats, small time budget (CI smoke runs)
 *   --backends cpu,reference      only these backends (default: every available one)
 *   --json-only                   print only the JSON line
 *   --skip-reference-above <n>    skip the reference on cases above n FLOP (cases that define FLOP: KNN)
 *   --budget-ms <ms>              time budget per cell (default 2000, quick 200)
 *   --max-runs <n>                most timed calls per cell (default 200, quick 5)
 *   --threads <n>                 setNumThreads(n) for the native CPU backend
 *   --metrics                     KNN only: also sweep cosine and manhattan
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

const BACKEND_NAMES = ['cuda', 'cpu', 'reference'];

const FLAGS = {
  quick: { type: 'boolean', default: false },
  backends: { type: 'string' },
  'json-only': { type: 'boolean', default: false },
  'skip-reference-above': { type: 'string' },
  'budget-ms': { type: 'string' },
  'max-runs': { type: 'string' },
  threads: { type: 'string' },
  metrics: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
};

function usage() {
  const text = readFileSync(new URL(import.meta.url), 'utf8');
  return text.slice(text.indexOf(' * Flags'), text.indexOf(' */')).replace(/^ \* ?/gm, '');
}

/** Ends a bench run with a message on stderr and exit status 1. */
export function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

/**
 * A bench's command line parsed strictly against its flags: --help prints usageText and exits 0; an
 * unknown or malformed flag ends the run with the message and usageText.
 */
export function parseCommand(argv, options, usageText) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (e) {
    fail(`${e.message}\n\n${usageText}`);
  }
  if (values.help) {
    console.log(usageText);
    process.exit(0);
  }
  return values;
}

function numberFlag(values, name, fallback) {
  if (values[name] === undefined) return fallback;
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} expects a positive number, got ${JSON.stringify(values[name])}`);
  return n;
}

/** Command-line options of this run. */
export function parseFlags(argv = process.argv.slice(2)) {
  const values = parseCommand(argv, FLAGS, usage());
  const quick = values.quick;
  const only = values.backends?.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only?.filter((n) => !BACKEND_NAMES.includes(n)) ?? [];
  if (unknown.length) fail(`--backends: unknown ${unknown.join(', ')} (known: ${BACKEND_NAMES.join(', ')})`);
  return {
    quick,
    only,
    jsonOnly: values['json-only'],
    metrics: values.metrics,
    skipReferenceAbove: numberFlag(values, 'skip-reference-above', Infinity),
    threads: values.threads === undefined ? undefined : numberFlag(values, 'threads'),
    timing: {
      budgetMs: numberFlag(values, 'budget-ms', quick ? 200 : 2000),
      maxRuns: numberFlag(values, 'max-runs', quick ? 5 : 200),
      minRuns: 3,
      warmups: quick ? 1 : 3,
    },
  };
}

// ---------------------------------------------------------------------------------------------------- data

/** Seeded uniform [0, 1) generator (mulberry32). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sizeOf = (shape) => shape.reduce((a, b) => a * b, 1);

/** The upper median of a list of timings (for an even count, the larger of the middle two). */
export const upperMedian = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** A float32 tensor of the given shape, uniform in [lo, hi), from a seed. */
export function randomTensor(shape, seed, lo = -1, hi = 1) {
  const rand = mulberry32(seed);
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rand();
  return { shape, data };
}

// ---------------------------------------------------------------------------------------------------- timing

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Time one call of fn (sync, or async when it returns a thenable). */
async function timeCall(fn) {
  const t0 = nowMs();
  const r = fn();
  if (r && typeof r.then === 'function') await r;
  return nowMs() - t0;
}

/**
 * Warm up (at least `warmups` calls and a tenth of the budget), then time repeated calls until at least minRuns and either maxRuns or the budget is reached.
 * A call slower than the whole budget is timed once more (in quick mode, its warm-up stands as the only
 * sample), so a slow backend on a large shape costs about two calls, not minRuns.
 */
export async function measure(fn, { budgetMs, maxRuns, minRuns, warmups }, quick, sample = () => {}) {
  const first = await timeCall(fn);
  sample();
  let samples;
  let note = '';
  if (first >= budgetMs) {
    samples = quick ? [first] : [await timeCall(fn)];
    note = quick ? '1 call, cold' : '1 call';
    sample();
  } else {
    // JIT-warm too: a small op's JS (argument checks, output allocation) runs ~4× slower for its first few
    // hundred calls, before V8 optimises it, which a training loop never sees
    for (let w = 1, spent = first; (w < warmups || spent < budgetMs / 10) && spent < budgetMs / 4; w++) spent += await timeCall(fn);
    samples = [];
    const start = nowMs();
    while (samples.length < maxRuns && (samples.length < minRuns || nowMs() - start < budgetMs)) {
      samples.push(await timeCall(fn));
      sample();
    }
  }
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const medianMs = samples.length % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  return { medianMs, minMs: samples[0], runs: samples.length, ...(note && { note }) };
}

// ---------------------------------------------------------------------------------------------------- memory

const MB = 1024 * 1024;
/** Peak growth below this is noise (heap growth, JIT), whatever the N×M size. */
const SUSPECT_FLOOR = 16 * MB;

/**
 * A full GC before each cell keeps earlier garbage out of its memory figures (no --expose-gc needed);
 * synchronous array-buffer sweeping makes freed buffers leave the external count at once.
 */
v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
const gc = global.gc ?? (v8.setFlagsFromString('--expose-gc'), runInNewContext('gc'));

function statusKb(field) {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Whether the kernel's peak-RSS mark can be reset (Linux: write 5 to /proc/self/clear_refs). */
const canResetPeak = (() => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return statusKb('VmHWM') !== undefined;
  } catch {
    return false;
  }
})();

/**
 * Peak RSS growth across a cell, and external memory still held after it and a GC (a leak check). On Linux
 * the peak is the kernel's high-water mark (it sees buffers freed before a call returns); elsewhere it is
 * sampled after every call.
 */
function memoryProbe() {
  gc();
  if (canResetPeak) writeFileSync('/proc/self/clear_refs', '5');
  const before = process.memoryUsage();
  let peak = before.rss;
  return {
    sample: () => { peak = Math.max(peak, process.memoryUsage.rss()); },
    end: () => {
      if (canResetPeak) peak = Math.max(peak, statusKb('VmHWM'));
      gc();
      return {
        peakRssMB: (peak - before.rss) / MB,
        retainedExternalMB: (process.memoryUsage().external - before.external) / MB,
        method: canResetPeak ? 'VmHWM' : 'sampled',
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------------- output

/** Number formatting with a sensible number of digits for the magnitude. */
export function fmt(v, unit = '') {
  if (v === undefined || v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const s = a < 1e-4 ? '0' : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : a >= 0.01 ? v.toFixed(3) : v.toPrecision(2);
  return s + unit;
}

/** Fixed-width columns: [{ title, get(row) → string, left? }]. */
export function printTable(columns, rows) {
  const cells = rows.map((r) => columns.map((c) => String(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i].length)));
  const line = (values) => values.map((v, i) => (columns[i].left ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  console.log(line(columns.map((c) => c.title)));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

// ---------------------------------------------------------------------------------------------------- library

/** The raw addon, for the CUDA rows' kernel-only times (cudaKernelMs: kernels since the last read, copies excluded). */
let nativeAddon = null;

async function loadLibrary(opts) {
  let lib;
  try {
    lib = await import('../dist/index.js');
  } catch (e) {
    fail(`cannot load ../dist/index.js (${e.message.split('\n')[0]}); build it first: npm run build:ts`);
  }
  if (opts.threads !== undefined) {
    try {
      lib.setNumThreads(opts.threads);
    } catch (e) {
      console.error(`bench: --threads ignored: ${e.message}`);
    }
  }
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  try {
    nativeAddon = (await import('../dist/backends/native.js')).loadNative().addon;
  } catch { /* internal module moved: the addon version and CUDA kernel times are optional */ }
  const addon = nativeAddon?.info().version;
  const versions = { 'sacl-au': pkg.version, addon, node: process.versions.node, v8: process.versions.v8, napi: process.versions.napi };
  return { lib, versions };
}

/** Available backends (after the --backends filter), in preference order: cuda, cpu, reference. */
function listBackends(lib, opts) {
  const all = lib.backends();
  for (const name of opts.only ?? []) {
    const info = all.find((b) => b.name === name);
    if (!info?.available) console.error(`bench: backend '${name}' is not available: ${info?.reason ?? 'unknown'}`);
  }
  const use = all.filter((b) => b.available && (!opts.only || opts.only.includes(b.name)));
  if (!use.length) fail('no backend to run');
  return { all, use };
}

function describeBackend(b) {
  const extra = [b.threads && `${b.threads} threads`, b.isa, b.devices && `${b.devices} device(s)`,
    b.malloc && `malloc: ${b.malloc}`].filter(Boolean);
  return extra.length ? `${b.name} (${extra.join(', ')})` : b.name;
}

// ---------------------------------------------------------------------------------------------------- run

function targetText(t) {
  return t.maxMs !== undefined ? `≤${t.maxMs} ms` : `≥${t.minGflops} GF/s`;
}

function targetMet(t, row) {
  return t.maxMs !== undefined ? row.medianMs <= t.maxMs : row.gflops >= t.minGflops;
}

function printHeader(spec, opts, env, all, use) {
  console.log(`# sacl-au bench: ${spec.bench}${opts.quick ? ' (quick)' : ''}   ${env.date}`);
  console.log(`# CPU: ${env.machine.model}, ${env.machine.cpus} cores   node ${process.version}   ` +
    `sacl-au ${env.versions['sacl-au']}${env.versions.addon ? `   addon ${env.versions.addon}` : ''}`);
  console.log(`# backends: ${use.map(describeBackend).join('; ')}`);
  const down = new Map();
  for (const b of all.filter((b) => !b.available)) down.set(b.reason, [...(down.get(b.reason) ?? []), b.name]);
  for (const [reason, names] of down) console.log(`#   unavailable: ${names.join(', ')} — ${reason}`);
  const t = opts.timing;
  console.log(`# timing: median of ≥${t.minRuns} calls (≤${t.maxRuns}, ~${t.budgetMs} ms per cell) after warm-up\n`);
}

function tableColumns(spec, rows) {
  const peerNames = Object.keys(spec.peers ?? {});
  return [
    { title: 'case', get: (r) => r.case, left: true },
    { title: 'op', get: (r) => r.op, left: true },
    { title: 'backend', get: (r) => r.backend, left: true },
    { title: 'median ms', get: (r) => fmt(r.medianMs) },
    { title: 'min ms', get: (r) => fmt(r.minMs) },
    { title: 'runs', get: (r) => r.runs ?? '—' },
    { title: 'calls/s', get: (r) => (r.callsPerSec >= 100 ? Math.round(r.callsPerSec) : fmt(r.callsPerSec)) },
    ...(rows.some((r) => r.flops) ? [{ title: 'GFLOP/s', get: (r) => fmt(r.gflops) }] : []),
    { title: '× ref', get: (r) => fmt(r.speedupVsRef) },
    { title: 'target', get: (r) => (r.target ? `${r.target.text} ${r.target.met ? '✓' : '✗'}` : '—'), left: true },
    ...peerNames.flatMap((n) => [
      { title: `${n} ms`, get: (r) => fmt(r.peers?.[n]?.ms) },
      { title: `× ${n}`, get: (r) => fmt(r.peers?.[n]?.ratio) },
    ]),
    ...(spec.memory ? [
      { title: 'peak ΔRSS MB', get: (r) => fmt(r.memory?.peakRssMB) },
      { title: 'kept ext MB', get: (r) => fmt(r.memory?.retainedExternalMB) },
    ] : []),
    { title: 'note', get: (r) => r.note ?? '', left: true },
  ];
}

function printLegend(spec) {
  const peers = Object.entries(spec.peers ?? {});
  console.log('\n× ref: reference median / this median (same case and form, this run).');
  if (peers.length) {
    console.log('× <peer>: peer ms / our median ms (speed ours / peer; > 1 = faster). Peers: ' +
      `${peers.map(([n, what]) => `${n} = ${what}`).join('; ')}.`);
  }
  console.log('target: the issue\'s goal for the native backends, ✓ met / ✗ not met.');
  if (spec.memory) {
    console.log(`peak ΔRSS: ${canResetPeak ? 'kernel high-water mark (VmHWM, reset per cell)' : 'sampled after each call'} ` +
      'minus RSS before the cell; kept ext: external (ArrayBuffer/native) memory still held after the cell and a GC.');
  }
  console.log('');
}

/** Time one case on one backend in one form: the table row (memory figures too when spec.memory). */
async function runCell(spec, opts, c, flops, form, backend) {
  const row = { case: c.label, op: form.op, form: form.kind, backend, flops };
  if (backend === 'reference' && flops > opts.skipReferenceAbove) {
    return { ...row, skipped: true, note: `skipped (> ${opts.skipReferenceAbove} FLOP)` };
  }
  const probe = spec.memory ? memoryProbe() : null;
  // CUDA: every call also reads how long its kernels took without the host↔device copies (all the op's
  // calls: forward and backward); the last `runs` readings belong to the timed calls
  let fn = form.make(backend);
  const kernelTimes = [];
  if (backend === 'cuda' && nativeAddon?.cudaKernelMs) {
    const call = fn;
    fn = async () => {
      nativeAddon.cudaKernelMs();
      const r = await call();
      kernelTimes.push(nativeAddon.cudaKernelMs());
      return r;
    };
  }
  const m = await measure(fn, opts.timing, opts.quick, probe?.sample);
  Object.assign(row, m, { callsPerSec: 1000 / m.medianMs });
  const kernels = kernelTimes.slice(-m.runs).filter(Number.isFinite).sort((a, b) => a - b);
  if (kernels.length) {
    row.kernelMs = kernels[kernels.length >> 1];
    row.note = joinNote(row.note, `kernels ${fmt(row.kernelMs)} ms without copies`);
  }
  if (flops) row.gflops = flops / (m.medianMs * 1e6);
  if (probe) {
    row.memory = probe.end();
    const suspect = Math.max(0.5 * spec.memory(c), SUSPECT_FLOOR);
    if (backend !== 'reference' && row.memory.peakRssMB * MB >= suspect) {
      row.note = joinNote(row.note, `peak RSS ≥ ${fmt(suspect / MB)} MB: N×M buffer?`);
    }
  }
  return row;
}

/**
 * Run every case on every available backend and print header, table, legend and the JSON line.
 *
 * spec.cases: [{ label, async?, target?: { maxMs } | { minGflops }, peers?: { [name]: ms }, ... }]
 * spec.prepare(case, lib) → { op, run(backend) → fn, asyncOp, runAsync(backend) → fn, intoOp?, runInto?(backend) → fn,
 *   flops? } (inputs are built once per case, outside the timing; fn is timed per call; the "into" form
 *   writes into output arrays allocated once, the way a training loop reuses memory)
 * spec.memory(case): bytes of one N×M float32 distance matrix (optional). When given, peak RSS and kept
 *   external memory are recorded per cell, and a native row whose peak grew by half that (and at least
 *   SUSPECT_FLOOR) is flagged.
 * spec.peers: { [name]: 'description' } for the legend.
 * spec.measurePeers?(opts) → { peers: { [name]: 'description' }, byCase: { [label]: { [name]: ms } } } | null: a
 *   peer timed in this run, before our cells (not in --quick); it replaces the fixed peers and their legend.
 */
export async function runBench(spec) {
  const opts = parseFlags();
  const measured = opts.quick ? null : (spec.measurePeers?.(opts) ?? null);
  if (measured) {
    spec = { ...spec, peers: measured.peers, cases: spec.cases.map((c) => ({ ...c, peers: measured.byCase[c.label] ?? c.peers })) };
  }
  const { lib, versions } = await loadLibrary(opts);
  const { all, use } = listBackends(lib, opts);
  const cpus = os.cpus();
  const machine = { cpus: cpus.length, model: cpus[0]?.model?.trim() ?? 'unknown', node: process.version };
  const date = new Date().toISOString();
  if (!opts.jsonOnly) printHeader(spec, opts, { date, machine, versions }, all, use);
  const progress = process.stderr.isTTY && !opts.jsonOnly ? (s) => process.stderr.write(`\r\x1b[K${s}`) : () => {};

  const rows = [];
  for (const c of spec.cases) {
    const p = spec.prepare(c, lib);
    const forms = [{ op: p.op, make: p.run, async: false, kind: 'sync' }];
    if (c.async) forms.push({ op: p.asyncOp, make: p.runAsync, async: true, kind: 'async' });
    if (c.async && p.runInto) forms.push({ op: p.intoOp, make: p.runInto, async: false, kind: 'into' });
    for (const form of forms) {
      for (const b of use) {
        progress(`${spec.bench}: ${c.label} ${form.op} on ${b.name}…`);
        rows.push(await runCell(spec, opts, c, p.flops, form, b.name));
      }
    }
  }
  progress('');
  annotate(rows, spec.cases);

  if (!opts.jsonOnly) {
    printTable(tableColumns(spec, rows), rows);
    printLegend(spec);
  }
  const results = rows.map(({ target, ...r }) => ({ ...r, ...(target && { target: target.text, targetMet: target.met }) }));
  console.log(JSON.stringify({ bench: spec.bench, date, machine, versions, options: { quick: opts.quick, ...opts.timing,
    skipReferenceAbove: Number.isFinite(opts.skipReferenceAbove) ? opts.skipReferenceAbove : null },
    backends: use.map(({ name, threads, isa, malloc, devices }) => ({ name, threads, isa, malloc, devices })), results }));
}

function joinNote(a, b) {
  return a ? `${a}; ${b}` : b;
}

/** Speed-up vs the reference, targets, peer ratios, async overhead and CUDA copy notes. */
function annotate(rows, cases) {
  const find = (r, pred) => rows.find((o) => o.case === r.case && !o.skipped && pred(o));
  for (const r of rows) {
    if (r.backend === 'cuda') r.note = joinNote(r.note, 'incl. host↔device copies');
    if (r.skipped) continue;
    const c = cases.find((k) => k.label === r.case);
    const ref = find(r, (o) => o.backend === 'reference' && o.form === r.form);
    if (ref && r.backend !== 'reference') r.speedupVsRef = ref.medianMs / r.medianMs;
    if (c.target && r.backend !== 'reference') r.target = { text: targetText(c.target), met: targetMet(c.target, r) };
    if (c.peers) r.peers = Object.fromEntries(Object.entries(c.peers).map(([n, ms]) => [n, { ms, ratio: ms / r.medianMs }]));
    const sync = r.form !== 'sync' && find(r, (o) => o.backend === r.backend && o.form === 'sync');
    if (sync) r.note = joinNote(r.note, `${r.medianMs >= sync.medianMs ? '+' : '−'}${fmt(Math.abs(r.medianMs - sync.medianMs))} ms vs sync`);
  }
}
