/**
 * Swapping a tfjs kernel for the length of a call (to compare a sacl-au kernel with the stock one it replaced),
 * the suite the fused-kernel tests share, the registration checks the native-kernel suites open with, and
 * the same-bits-for-1-and-2-threads check.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertBitIdentical } from './assert.js';
import * as tf from '@tensorflow/tfjs';
import { setNumThreads } from '../../dist/index.js';
import { registerFastKernels } from '../../dist/tf/index.js';

/**
 * A uvu suite that runs on tfjs 'cpu' with the sacl-au kernels registered, and afterwards leaves 'cpu' the
 * backend and the addon on 2 threads (its tests may switch to wasm or change the thread count).
 */
export function cpuKernelSuite(title) {
  const test = suite(title);
  test.before(async () => {
    await tf.setBackend('cpu');
    registerFastKernels('cpu');
  });
  test.after(async () => {
    setNumThreads(2);
    await tf.setBackend('cpu');
  });
  return test;
}

/** Runs fn() with `config` registered in place of the current kernel of its name and backend, then restores that. */
export function withKernel(config, fn) {
  const { kernelName, backendName } = config;
  const current = tf.getKernel(kernelName, backendName);
  if (current) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(config);
  try {
    return fn();
  } finally {
    tf.unregisterKernel(kernelName, backendName);
    if (current) tf.registerKernel(current);
  }
}

/**
 * Adds the test a native-kernel suite on 'cpu' opens with: with the addon, registerFastKernels('cpu')
 * lists every kernel in `names` once; without it, the stock `stock` kernel stays.
 */
export function testFastKernelRegistration(test, addon, { what, names, stock }) {
  if (!addon) {
    test(`without the addon the stock ${what} kernels stay`, () => {
      assert.not.ok(registerFastKernels('cpu').includes(stock));
    });
    return;
  }
  test(`registers the ${what} kernels on cpu`, () => {
    const active = registerFastKernels('cpu');
    for (const name of names) assert.is(active.filter((n) => n === name).length, 1, `${name} once in ${active.join(', ')}`);
  });
}

/** Registers the sacl-au kernels on each backend, setting each first so that its stock kernels' setup has run. */
export async function registerFastKernelsOn(backends) {
  for (const b of backends) {
    await tf.setBackend(b);
    registerFastKernels(b);
  }
}

const isOutput = (t) => ArrayBuffer.isView(t) || ArrayBuffer.isView(t?.data);

/**
 * Runs run() on 1 thread, then on 2: each output (one tensor or typed array, or an array or object of them)
 * must carry the same bits. Returns the 2-thread outputs.
 */
export function assertSameBitsForThreads(run, msg = '') {
  setNumThreads(1);
  const one = run();
  setNumThreads(2);
  const two = run();
  const at = (key) => `${[msg, key].filter((part) => part !== '').join(' ')}: 2 threads vs 1`;
  if (isOutput(one)) assertBitIdentical(two, one, at(''));
  else for (const key of Object.keys(one)) assertBitIdentical(two[key], one[key], at(key));
  return two;
}
