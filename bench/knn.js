/** knnGraph on every available backend: node bench/knn.js [--quick] [--metrics] [--skip-reference-above <flop>] … */
import { knnCases, knnMetricCases, knnPeers } from './cases.js';
import { parseFlags, randomTensor, runBench } from './harness.js';

await runBench({
  bench: 'knn',
  cases: parseFlags().metrics ? [...knnCases, ...knnMetricCases] : knnCases,
  peers: knnPeers,
  // one batch's N×M float32 distance matrix: peak RSS growth that large suggests the kernel allocates it
  memory: (c) => 4 * c.N * c.N,
  prepare(c, lib) {
    const x = randomTensor([c.B, c.N, c.D], 1);
    const options = (backend) => ({ backend, metric: c.metric });
    return {
      flops: 2 * c.B * c.N * c.N * c.D, // 2·B·N·M·D with M = N
      op: 'knnGraph',
      run: (backend) => () => lib.knnGraph(x, c.K, options(backend)),
      asyncOp: 'knnGraphAsync',
      runAsync: (backend) => () => lib.knnGraphAsync(x, c.K, options(backend)),
    };
  },
});
