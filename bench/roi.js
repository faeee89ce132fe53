/** roiAlign (and roiAlignGrad) of AU crops, every available backend: node bench/roi.js [--quick] … */
import { roiCases, roiPeers } from './cases.js';
import { randomTensor, runBench } from './harness.js';

await runBench({
  bench: 'roi',
  cases: roiCases,
  peers: roiPeers,
  prepare(c, lib) {
    const featureShape = [c.B, c.H, c.W, c.C];
    const features = randomTensor(featureShape, 1);
    const centers = randomTensor([c.B, c.R, 2], 2, 0, Math.min(c.H, c.W) - 1); // landmarks inside the map
    const dOut = randomTensor([c.B, c.R, c.S, c.S, c.C], 3);
    const fwd = c.pass === 'fwd';
    return {
      op: fwd ? 'roiAlign' : 'roiAlign+Grad',
      run: (backend) => (fwd
        ? () => lib.roiAlign(features, centers, c.S, { backend })
        : () => {
          lib.roiAlign(features, centers, c.S, { backend });
          return lib.roiAlignGrad(dOut, centers, featureShape, { backend });
        }),
      asyncOp: fwd ? 'roiAlignAsync' : 'roiAlignAsync+GradAsync',
      runAsync: (backend) => (fwd
        ? () => lib.roiAlignAsync(features, centers, c.S, { backend })
        : async () => {
          await lib.roiAlignAsync(features, centers, c.S, { backend });
          return lib.roiAlignGradAsync(dOut, centers, featureShape, { backend });
        }),
      intoOp: fwd ? 'roiAlign into' : 'roiAlign+Grad into',
      runInto: (backend) => {
        const crops = { shape: dOut.shape, data: new Float32Array(dOut.data.length) };
        const dFeatures = { shape: featureShape, data: new Float32Array(features.data.length) };
        return fwd
          ? () => lib.roiAlign(features, centers, c.S, { backend, into: crops })
          : () => {
            lib.roiAlign(features, centers, c.S, { backend, into: crops });
            return lib.roiAlignGrad(dOut, centers, featureShape, { backend, into: dFeatures });
          };
      },
    };
  },
});
