/**
 * ResizeBilinearGrad (registered by registerFastKernels on cpu and wasm): the exact adjoint of each
 * backend's own forward ResizeBilinear for all four (alignCorners, halfPixelCenters) settings on odd
 * shapes; equal to PyTorch's F.interpolate(mode='bilinear') backward for align_corners=False (half-pixel
 * centres, MSFL's up-sampling, paper eq. 1) and align_corners=True; the stock kernels it replaces are not.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stockKernel } from '../../dist/tf/index.js';
import { assertClose } from '../helpers/assert.js';
import { registerFastKernelsOn, withKernel } from '../helpers/kernels.js';

const test = suite('ResizeBilinearGrad');
const BACKENDS = ['cpu', 'wasm'];
test.before(() => registerFastKernelsOn(BACKENDS));
test.after(async () => { await tf.setBackend('cpu'); });

const FLAGS = [
  { alignCorners: false, halfPixelCenters: true }, // PyTorch align_corners=False; MSFL
  { alignCorners: false, halfPixelCenters: false },
  { alignCorners: true, halfPixelCenters: false }, // PyTorch align_corners=True
  { alignCorners: true, halfPixelCenters: true }, // refused by tf.image.resizeBilinear; the kernels still take it
];

/** [B, H, W, C] → [OH, OW]: up, down, mixed, non-integer ratios, size-1 axes, and MSFL's 2× and 7×. */
const CASES = [
  { x: [2, 5, 7, 3], size: [9, 4] },
  { x: [2, 3, 4, 5], size: [11, 13] },
  { x: [1, 7, 6, 2], size: [3, 13] },
  { x: [1, 1, 5, 2], size: [4, 1] },
  { x: [2, 4, 4, 2], size: [8, 8] },
  { x: [1, 4, 4, 3], size: [28, 28] },
];

const forward = (images, size, flags) => tf.engine().runKernel('ResizeBilinear', { images }, { ...flags, size });
const backward = (images, dy, flags) => tf.engine().runKernel('ResizeBilinearGrad', { images, dy }, { ...flags, size: dy.shape.slice(1, 3) });

/**
 * The forward pass as a matrix, from the active backend's own kernel: column j is the output for the
 * j-th one-hot image (the map is linear, so this is its exact Jacobian). Returns M[j·OH·OW + o].
 */
function forwardMatrix(H, W, size, flags) {
  return tf.tidy(() => {
    const eye = tf.reshape(tf.eye(H * W), [H * W, H, W, 1]);
    return forward(eye, size, flags).dataSync().slice();
  });
}

/** dx[b, j, c] = Σ_o M[j, o] · dy[b, o, c] in float64. */
function adjointRef(M, xShape, dy, size) {
  const [B, H, W, C] = xShape;
  const O = size[0] * size[1];
  const dx = new Float64Array(B * H * W * C);
  for (let b = 0; b < B; b++) for (let j = 0; j < H * W; j++) for (let c = 0; c < C; c++) {
    let s = 0;
    for (let o = 0; o < O; o++) s += M[j * O + o] * dy[(b * O + o) * C + c];
    dx[(b * H * W + j) * C + c] = s;
  }
  return dx;
}

/**
 * Whether the forward pass samples inside the image on both axes. Only alignCorners with halfPixelCenters
 * can leave it (downsampling): there tfjs' forward kernel reads past the image, so it has no adjoint.
 */
function inBounds(c, { alignCorners, halfPixelCenters }) {
  return [0, 1].every((a) => {
    const [n, m] = [c.x[1 + a], c.size[a]];
    const corners = alignCorners && m > 1;
    const ratio = (corners ? n - 1 : n) / (corners ? m - 1 : m);
    return Math.floor(halfPixelCenters ? ratio * (m - 0.5) - 0.5 : ratio * (m - 1)) <= n - 1;
  });
}

/** check(kernel's dx, float64 adjoint of the forward, name) on every case the forward samples inside the image. */
function adjointErrors(flags, check) {
  const inside = CASES.filter((c) => inBounds(c, flags));
  assert.ok(inside.length >= CASES.length - 2, `${JSON.stringify(flags)}: only ${inside.length} cases checked`);
  inside.forEach((c, i) => {
    const [B, H, W, C] = c.x;
    const M = forwardMatrix(H, W, c.size, flags);
    tf.tidy(() => {
      const x = tf.randomNormal(c.x, 0, 1, 'float32', 200 + i);
      const dy = tf.randomNormal([B, ...c.size, C], 0, 1, 'float32', 210 + i);
      const got = backward(x, dy, flags);
      const want = adjointRef(M, c.x, dy.dataSync(), c.size);
      check(got, want, `${tf.getBackend()} ${JSON.stringify(flags)} ${JSON.stringify(c)}`);
    });
  });
}

test('the gradient is the exact adjoint of the backend\'s own forward pass: 4 flag settings × odd shapes (cpu, wasm)', async () => {
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    for (const flags of FLAGS) {
      adjointErrors(flags, (got, want, name) => {
        assertClose({ shape: got.shape, data: got.dataSync() }, { shape: got.shape, data: want }, { rtol: 1e-5, atol: 1e-5 }, name);
      });
    }
  }
});

test('alignCorners with halfPixelCenters, downsampling: taps past the image clamp to its last row (Σ dx = Σ dy)', async () => {
  const flags = FLAGS[3];
  const outside = CASES.filter((c) => !inBounds(c, flags));
  assert.ok(outside.length > 0);
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    outside.forEach((c, i) => tf.tidy(() => {
      const dy = tf.randomNormal([c.x[0], ...c.size, c.x[3]], 0, 1, 'float32', 220 + i);
      const dx = backward(tf.zeros(c.x), dy, flags);
      assertClose(tf.sum(dx, [0, 1, 2]).dataSync(), tf.sum(dy, [0, 1, 2]).dataSync(), { rtol: 1e-5, atol: 1e-5 }, `${backend} ${JSON.stringify(c)}`);
    }));
  }
});

test('tf.grad of tf.image.resizeBilinear runs it: same values, deterministic, no tensor memory left', async () => {
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    for (const flags of FLAGS.slice(0, 3)) {
      const c = CASES[0];
      const run = () => tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, 'float32', 230);
        const w = tf.randomNormal([c.x[0], ...c.size, c.x[3]], 0, 1, 'float32', 231);
        const g = tf.grad((a) => tf.sum(tf.mul(w, tf.image.resizeBilinear(a, c.size, flags.alignCorners, flags.halfPixelCenters))))(x);
        return { viaGrad: g.dataSync().slice(), direct: backward(x, w, flags).dataSync().slice() };
      });
      const before = tf.memory().numBytes;
      const a = run();
      const b = run();
      assert.is(tf.memory().numBytes, before, `${backend}: the kernel leaked tensor memory`);
      assert.equal(Array.from(a.viaGrad), Array.from(a.direct), `${backend} ${JSON.stringify(flags)}`);
      assert.equal(Array.from(a.viaGrad), Array.from(b.viaGrad), `${backend} ${JSON.stringify(flags)}: not deterministic`);
    }
  }
});

test('the stock kernels it replaces are not the adjoint under half-pixel centres (cpu, wasm)', async () => {
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const stock = stockKernel('ResizeBilinearGrad', backend);
    assert.ok(stock, `${backend}: registerFastKernels replaced a stock ResizeBilinearGrad`);
    let worst = 0;
    withKernel(stock, () => adjointErrors(FLAGS[0], (got, want) => {
      const g = got.dataSync();
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(g[i] - want[i]));
    }));
    // tfjs 4.22 reads only alignCorners; should a later tfjs pass this, its own kernel may be enough
    assert.ok(worst > 0.1, `${backend}: the stock kernel's largest error is ${worst}`);
  }
});

test('bad input: dy whose batch or channels differ from the images\' is refused, naming dy', async () => {
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    const x = tf.zeros([2, 3, 4, 5]);
    for (const shape of [[1, 6, 8, 5], [2, 6, 8, 4]]) {
      const dy = tf.zeros(shape);
      assert.throws(() => backward(x, dy, FLAGS[0]),
        (e) => e.message === `Expected shape [2, OH, OW, 5] for dy but received [${shape.join(', ')}]`, `${backend} ${shape}`);
      dy.dispose();
    }
    x.dispose();
  }
});

const PY = spawnSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0 ? '/usr/bin/python3' : null;

/** PyTorch's backward of sum(dy · F.interpolate(x, size, 'bilinear', align_corners)) w.r.t. x, in float64, NHWC. */
const TORCH_SCRIPT = `
import json, sys, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
cases = json.load(open(f'{d}/cases.json'))
for i, c in enumerate(cases):
    B, H, W, C = c['x']; OH, OW = c['size']
    dy = np.fromfile(f'{d}/dy{i}.f32', dtype='<f4').astype(np.float64).reshape(B, OH, OW, C)
    x = torch.zeros(B, C, H, W, dtype=torch.float64, requires_grad=True)
    y = F.interpolate(x, size=(OH, OW), mode='bilinear', align_corners=c['alignCorners'])
    (y * torch.from_numpy(dy).permute(0, 3, 1, 2)).sum().backward()
    x.grad.permute(0, 2, 3, 1).contiguous().numpy().astype('<f8').tofile(f'{d}/dx{i}.f64')
`;

test('equal to PyTorch\'s F.interpolate(mode=\'bilinear\') backward, align_corners False and True (cpu, wasm)', async () => {
  if (!PY) {
    console.log('[sacl-au tests] PyTorch cross-check skipped: /usr/bin/python3 cannot import torch');
    return;
  }
  const torchCases = [...CASES, { x: [2, 28, 28, 4], size: [56, 56] }, { x: [1, 9, 11, 2], size: [4, 5] }]
    .flatMap((c) => [false, true].map((alignCorners) => ({ ...c, alignCorners })));
  const d = mkdtempSync(join(tmpdir(), 'sacl-resize-'));
  try {
    const dys = torchCases.map((c, i) => tf.tidy(() => tf.randomNormal([c.x[0], ...c.size, c.x[3]], 0, 1, 'float32', 300 + i).dataSync().slice()));
    dys.forEach((dy, i) => writeFileSync(join(d, `dy${i}.f32`), Buffer.from(dy.buffer, dy.byteOffset, dy.byteLength)));
    writeFileSync(join(d, 'cases.json'), JSON.stringify(torchCases));
    const r = spawnSync(PY, ['-c', TORCH_SCRIPT, d], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const want = torchCases.map((_, i) => {
      const b = readFileSync(join(d, `dx${i}.f64`));
      return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
    });
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      torchCases.forEach((c, i) => tf.tidy(() => {
        // PyTorch's align_corners=False is tfjs' half-pixel centres; align_corners=True is tfjs' alignCorners alone
        const flags = { alignCorners: c.alignCorners, halfPixelCenters: !c.alignCorners };
        const got = backward(tf.zeros(c.x), tf.tensor4d(dys[i], [c.x[0], ...c.size, c.x[3]]), flags);
        assertClose({ shape: got.shape, data: got.dataSync() }, { shape: c.x, data: want[i] }, { rtol: 1e-5, atol: 1e-5 },
          `${backend} ${JSON.stringify(c)}`);
      }));
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test.run();
