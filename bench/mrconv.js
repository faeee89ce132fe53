/** maxRelative (and maxRelativeGrad) on the SACL graph, every available backend: node bench/mrconv.js [--quick] … */
import { mrconvCases, mrconvPeers } from './cases.js';
import { randomTensor, runBench } from './harness.js';

await runBench({
  bench: 'mrconv',
  cases: mrconvCases,
  peers: mrconvPeers,
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
