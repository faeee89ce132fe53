/**
 * tfjs kernel names grouped into the families the training-step benchmark reports (bench/train-step.js).
 * Kernels dispatched by the optimizer's update count as 'optimizer' whatever their name (the caller says
 * which phase a kernel ran in); a name no rule knows is 'other'.
 */

export const FAMILIES = ['conv', 'matmul', 'elementwise', 'reduction', 'normalisation', 'movement', 'pooling/resize', 'graph ops',
  'optimizer', 'other'];

const EXACT = new Map(Object.entries({
  conv: ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter', 'FusedConv2D', 'FusedDepthwiseConv2D', 'Conv3D', 'Conv3DBackpropFilterV2',
    'Conv3DBackpropInputV2', 'Dilation2D'],
  matmul: ['BatchMatMul', '_FusedMatMul', 'MatMul', 'Einsum'],
  elementwise: ['Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Mod', 'Maximum', 'Minimum', 'SquaredDifference', 'Pow',
    'Neg', 'Abs', 'Square', 'Sqrt', 'Rsqrt', 'Exp', 'Expm1', 'Log', 'Log1p', 'Sigmoid', 'Relu', 'Relu6', 'Elu', 'EluGrad', 'Selu',
    'LeakyRelu', 'Prelu', 'Erf', 'Tanh', 'Reciprocal', 'Softplus', 'Sign', 'Step', 'Floor', 'Ceil', 'Round', 'ClipByValue', 'Cast',
    'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot', 'Select',
    'IsNan', 'IsInf', 'IsFinite', 'ZerosLike', 'OnesLike', 'Fill', 'Sin', 'Cos', 'Atan2', 'Relu6Grad', 'ReluGrad'],
  reduction: ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'ArgMax', 'ArgMin', 'All', 'Any', 'Cumsum', 'Cumprod', 'TopK', 'EuclideanNorm'],
  normalisation: ['FusedBatchNorm', 'Softmax', 'LogSoftmax', 'LRN', 'LRNGrad'],
  movement: ['Transpose', 'Reshape', 'Concat', 'Pack', 'Unpack', 'SplitV', 'Slice', 'StridedSlice', 'Pad', 'PadV2', 'MirrorPad',
    'Tile', 'GatherV2', 'GatherNd', 'ScatterNd', 'TensorScatterUpdate', 'UnsortedSegmentSum', 'Reverse', 'Identity', 'BroadcastTo',
    'OneHot', 'Range', 'DepthToSpace', 'SpaceToBatchND', 'BatchToSpaceND'],
  'pooling/resize': ['AvgPool', 'AvgPoolGrad', 'MaxPool', 'MaxPoolGrad', 'MaxPoolWithArgmax', 'ResizeBilinear', 'ResizeBilinearGrad',
    'ResizeNearestNeighbor', 'ResizeNearestNeighborGrad', 'CropAndResize', 'AvgPool3D', 'MaxPool3D'],
}).flatMap(([family, names]) => names.map((n) => [n, family])));

/** Names other branches give fused or custom kernels: matched by pattern after the exact names. */
const PATTERNS = [
  [/knn|maxrelative|roialign|graphconv/i, 'graph ops'],
  [/sgd|momentum|optimi[sz]er|applygradient/i, 'optimizer'],
  [/norm/i, 'normalisation'],
  [/conv/i, 'conv'],
  [/matmul|gemm/i, 'matmul'],
  [/pool|resize/i, 'pooling/resize'],
  [/gelu|bias|activation/i, 'elementwise'],
];

/** The family of one kernel; `phase` 'optimizer' puts every kernel of the update there. */
export function kernelFamily(name, phase) {
  if (phase === 'optimizer') return 'optimizer';
  const exact = EXACT.get(name);
  if (exact) return exact;
  for (const [re, family] of PATTERNS) if (re.test(name)) return family;
  return 'other';
}

/**
 * tf.customGrad ops (the graph ops of src/tf/ops.ts, stopGradient) appear in a profile under this name,
 * timed with the kernels they run inside, which the profile lists on their own as well.
 */
export const CUSTOM_OP = 'unnamed scope';

/**
 * Sums tf.profile kernels per family: [{ phase, kernels: [{ name, kernelTimeMs }], wallMs }] →
 * { families: { family: ms }, byKernel: { name: { ms, calls, family } }, kernelMs, wallMs, outsideMs,
 * customOps }. Custom ops are counted (customOps calls) but not summed, so no time counts twice; their
 * own work lands in outsideMs, the wall time no kernel accounts for (custom ops' native calls, JavaScript
 * between kernels, garbage collection).
 */
export function groupProfile(phases) {
  const families = Object.fromEntries(FAMILIES.map((f) => [f, 0]));
  const byKernel = {};
  let kernelMs = 0;
  let wallMs = 0;
  let customOps = 0;
  for (const { phase, kernels, wallMs: wall } of phases) {
    wallMs += wall;
    for (const k of kernels) {
      if (k.name === CUSTOM_OP) {
        customOps++;
        continue;
      }
      const family = kernelFamily(k.name, phase);
      const ms = Number(k.kernelTimeMs) || 0;
      families[family] += ms;
      kernelMs += ms;
      const key = phase === 'optimizer' ? `${k.name} (optimizer)` : k.name;
      const e = byKernel[key] ?? (byKernel[key] = { ms: 0, calls: 0, family });
      e.ms += ms;
      e.calls++;
    }
  }
  return { families, byKernel, kernelMs, wallMs, outsideMs: Math.max(0, wallMs - kernelMs), customOps };
}
