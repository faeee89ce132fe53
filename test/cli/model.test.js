/** `sacl-au model`: the full model's and the Transformer ablation's sizes land on the paper's; table, JSON and bad flags. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
const test = suite('sacl-au model');

test('full at 224: params within 15 % of 27.1 M, FLOPs (multiply-adds) within 20 % of 2.57 G', () => {
  const r = run('model', '--variant', 'full', '--input', '224', '--json');
  assert.is(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.type(m.params, 'number');
  assert.type(m.flops, 'number');
  assert.ok(Math.abs(m.params / 27.1e6 - 1) <= 0.15, `params ${m.params}`);
  assert.ok(Math.abs(m.flops / 2.57e9 - 1) <= 0.2, `flops ${m.flops}`);
  assert.is(m.flops2, 2 * m.flops);
  assert.is(m.parts.reduce((a, p) => a + p.params, 0), m.params);
  assert.is(m.parts.reduce((a, p) => a + p.flops, 0), m.flops);
  // the backbone is exactly ResT-Lite without its ImageNet head (docs/model.md, Architecture: 9.995 M)
  assert.is(m.parts.find((p) => p.part === 'backbone').params, 9_995_300);
  assert.is(m.config.variant, 'full');
});

test('transformer at 224: the paper\'s 74.0 M parameters and 3.41 G FLOPs (§4.3.3), within 2 %', () => {
  const r = run('model', '--variant', 'transformer', '--input', '224', '--json');
  assert.is(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.ok(Math.abs(m.params / 74.0e6 - 1) <= 0.02, `params ${m.params}`);
  assert.ok(Math.abs(m.flops / 3.41e9 - 1) <= 0.02, `flops ${m.flops}`);
  assert.is(m.config.sacl.widths[0] % m.config.sacl.heads, 0);
});

test('table output; the baseline is ResT-Lite plus linear AU heads', () => {
  const r = run('model', '--variant', 'baseline');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /baseline at 224×224/);
  assert.match(r.stdout, /total\s+10\.001 M/);
});

test('--sbg / --sbg-threshold / --fbg choose the fixed graphs\' sources (defaults: AU-GCN\'s, τ 0.4)', () => {
  const config = (...args) => {
    const r = run('model', '--input', '64', '--json', ...args);
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout).config.sacl;
  };
  assert.equal([config('--variant', 'sbg').sbg, config('--variant', 'sbg').sbgThreshold], ['au-gcn', 0.4]);
  const topK = config('--variant', 'sbg', '--sbg', 'top-k', '--sbg-threshold', '0.25');
  assert.equal([topK.graph, topK.sbg, topK.sbgThreshold], ['stats', 'top-k', 0.25]);
  assert.is(config('--variant', 'fbg', '--fbg', 'emotion-prototype').fbg, 'emotion-prototype');
});

test('bad flags exit 2 with one clear line', () => {
  for (const [args, pattern] of [
    [['--variant', 'huge'], /Expected one of "baseline", .*"full", .* for variant but received "huge"/],
    [['--k', '0'], /Expected a positive integer for --k/],
    [['--k', '40'], /sacl\.k/],
    [['--gcn', 'gat'], /Expected one of "max-relative", "edgeconv", "gin", "graphsage" for sacl\.gcn but received "gat"/],
    [['--au-set', 'ck+'], /Expected one of "bp4d", "disfa" for --au-set but received "ck\+"/],
    [['--variant', 'sbg', '--sbg', 'srerl'], /Expected one of "au-gcn", "top-k" for sacl\.sbg but received "srerl"/],
    [['--variant', 'sbg', '--sbg-threshold', '2'], /Expected a number in \(0, 1\] for sacl\.sbgThreshold but received 2/],
    [['--variant', 'fbg', '--fbg', 'kdsrl'], /Expected "emotion-prototype" \(KDSRL's FACS-based graph, the paper's \[1\], is not encoded.* for sacl\.fbg but received "kdsrl"/],
  ]) {
    const r = run('model', ...args);
    assert.is(r.status, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.match(run('model', '--help').stdout, /Variants:/);
});

test.run();
