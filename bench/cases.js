/**
 * The benchmark cases as data: one list per op, each run on every available backend.
 * target: the issue's goal for the native backends ({ maxMs } per call or { minGflops }).
 * peers: published figures of other implementations on the same shape, ms per call.
 * async: also time the op's async form on this case (one such case per op).
 */

/** Peer implementations quoted in the KNN table. */
export const knnPeers = {
  FAISS: 'FAISS brute force (IndexFlatL2) on a 2-thread machine',
  ViG: 'PyTorch Vision GNN dense matmul + topk',
};

const knnShapes = [
  { B: 16, N: 18, D: 4096, K: 9, target: { maxMs: 1 }, peers: { FAISS: 8.5, ViG: 12 }, async: true },
  { B: 32, N: 196, D: 192, K: 9, target: { minGflops: 60 }, peers: { FAISS: 13, ViG: 38 } },
  { B: 8, N: 3136, D: 48, K: 9, target: { minGflops: 60 }, peers: { FAISS: 384, ViG: 3600 } },
  { B: 16, N: 1024, D: 64, K: 20, target: { minGflops: 60 }, peers: { FAISS: 113, ViG: 900 } },
];

const knnLabel = (s, metric) => `B${s.B} N${s.N} D${s.D} k${s.K}${metric === 'euclidean' ? '' : ` ${metric}`}`;

/** Euclidean KNN at the issue's shapes. */
export const knnCases = knnShapes.map((s) => ({ ...s, metric: 'euclidean', label: knnLabel(s, 'euclidean') }));

/** The same shapes with the other metrics (--metrics); no targets or peers (those are for L2). */
export const knnMetricCases = ['cosine', 'manhattan'].flatMap((metric) =>
  knnShapes.map(({ B, N, D, K }) => ({ B, N, D, K, metric, label: knnLabel({ B, N, D, K }, metric) })));

export const mrconvPeers = { PyTorch: 'PyTorch Vision GNN MRConv max-relative gather (C = 512)' };

/** Max-Relative aggregation on the SACL graph (B = 16 images, N = 18 AU nodes, K = 9), forward and fwd+bwd. */
export const mrconvCases = [64, 128, 256, 512].flatMap((C) => {
  const at512 = C === 512;
  const base = { B: 16, N: 18, K: 9, C };
  return [
    { ...base, pass: 'fwd', label: `C=${C} fwd`, async: at512,
      ...(at512 && { target: { maxMs: 0.25 }, peers: { PyTorch: 2.5 } }) },
    { ...base, pass: 'fwd+bwd', label: `C=${C} fwd+bwd`, async: at512,
      ...(at512 && { target: { maxMs: 0.9 }, peers: { PyTorch: 9 } }) },
  ];
});

export const roiPeers = { torchvision: 'torchvision roi_align (aligned, sampling_ratio=1)' };

/** ROI align of 18 AU crops (8×8) from 16×56×56×64 feature maps, forward and fwd+bwd. */
export const roiCases = [
  { pass: 'fwd', target: { maxMs: 0.6 }, peers: { torchvision: 6 } },
  { pass: 'fwd+bwd', target: { maxMs: 3.5 }, peers: { torchvision: 35 } },
].map((c) => ({ B: 16, H: 56, W: 56, C: 64, R: 18, S: 8, ...c, async: true, label: `16×56×56×64 R18 S8 ${c.pass}` }));
