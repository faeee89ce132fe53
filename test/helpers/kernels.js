/** Swapping a tfjs kernel for the length of a call (to compare a sacl-au kernel with the stock one it replaced). */
import * as tf from '@tensorflow/tfjs';

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
