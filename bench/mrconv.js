/** maxRelative (and maxRelativeGrad) on the SACL graph, every available backend: node bench/mrconv.js [--quick] … */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mrconvCases, mrconvPeers } from './cases.js';
import { randomTensor, runBench } from './harness.js';

/**
 * PyTorch's max-relative (bench/mrconv_torch.py) at every C of the cases, timed here before our cells, when
 * /usr/bin/python3 has torch: the ratio is against PyTorch on the same machine in the same run.
 */
function measureTorch(opts) {
  const threads = opts.threads ?? 2;
  const Cs = [...new Set(mrconvCases.map((c) => c.C))];
  const run = spawnSync('/usr/bin/python3', [fileURLToPath(new URL('./mrconv_torch.py', import.meta.url)), ...Cs.map(String)],
    { encoding: 'utf8', env: { ...process.env, THREADS: String(threads) }, timeout: 300_000 });
  if (run.status !== 0) return null; // no torch here: the fixed peers stand
  const byCase = {};
  for (const m of run.stdout.matchAll(/^PyTorch C=(\d+) (\S+): wall median ([\d.]+) us/gm)) {
    byCase[`C=${m[1]} ${m[2]}`] = { PyTorch: Number(m[3]) / 1000 };
  }
  const version = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
  return { peers: { PyTorch: `PyTorch ${version} gather + max − x (bench/mrconv_torch.py), ${threads} threads, timed in this run` }, byCase };
}

await runBench({
  bench: 'mrconv',
  cases: mrconvCases,
  peers: mrconvPeers,
  measurePeers: measureTorch,
  prepare(c, lib) {
    const x = randomTensor([c.B, c.N, c.C], 1);
    const dOut = randomTensor([c.B, c.N, c.C], 2);
    // a real KNN graph over the nodes (self in slot 0), built once with the reference
    const idx = lib.knnGraph(x, c.K, { backend: 'reference' });
    const fwd = c.pass === 'fwd';
    return {
      op: fwd ? 'maxRelative' : 'maxRelative+Grad',
      run: (backend) => (fwd
        ? () => lib.maxRelative(x, idx, { backend })
        : () => lib.maxRelativeGrad(dOut, idx, lib.maxRelative(x, idx, { backend }).argmax, { backend })),
      asyncOp: fwd ? 'maxRelativeAsync' : 'maxRelativeAsync+GradAsync',
      runAsync: (backend) => (fwd
        ? () => lib.maxRelativeAsync(x, idx, { backend })
        : async () => lib.maxRelativeGradAsync(dOut, idx, (await lib.maxRelativeAsync(x, idx, { backend })).argmax, { backend })),
      intoOp: fwd ? 'maxRelative into' : 'maxRelative+Grad into',
      runInto: (backend) => {
        const n = x.data.length;
        const into = { out: { shape: x.shape, data: new Float32Array(n) }, argmax: { shape: x.shape, data: new Int32Array(n) } };
        const dx = { dx: { shape: x.shape, data: new Float32Array(n) } };
        return fwd
          ? () => lib.maxRelative(x, idx, { backend, into })
          : () => lib.maxRelativeGrad(dOut, idx, lib.maxRelative(x, idx, { backend, into }).argmax, { backend, into: dx });
      },
    };
  },
});
