/**
 * Kernel registration, at import.
 *
 * `tf.registerKernel` accepts any backend name, registered or not, and tfjs
 * looks kernels up by name only when an op runs. So this package registers
 * its kernels for every backend it has kernels for (cpu, webgl, webgpu, and
 * wasm where built) as soon as it is imported, whether or not that backend
 * is installed yet: `tf.getKernel('InstanceNorm', name)` answers at once, in
 * either import order, and `tf.profile` shows the fused kernels from the
 * first op. A kernel for a backend the app never loads is one registry entry
 * and never runs.
 *
 * A kernel the app registered itself under the same name and backend before
 * importing this package is kept, never replaced.
 */
import {getKernel, registerKernel} from '@tensorflow/tfjs-core';
import type {KernelConfig} from '@tensorflow/tfjs-core';

/**
 * Registers each config now, for its backend name, unless a kernel is
 * registered already under that name and backend (the app's own is kept).
 * For the kernel folders of this package (e.g. kernels/webgpu/index.ts).
 * (The name is from when kernels waited for their backend; they no longer do.)
 */
export function registerKernelsWhenBackendExists(configs: KernelConfig[]): void {
  for (const config of configs) registerIfAbsent(config);
}

/**
 * Kept for apps written against 0.1, when kernels of a backend loaded after
 * this package waited for this call. Kernels are now registered at import, so
 * there is never anything left to register: returns 0.
 *
 * @param backendName a backend name, e.g. 'webgpu'.
 */
export function registerKernelsFor(backendName: string): number {
  void backendName;
  return 0;
}

function registerIfAbsent(config: KernelConfig): boolean {
  // Registering a key twice only warns in tfjs; never replace a kernel the app
  // registered itself under this name.
  if (getKernel(config.kernelName, config.backendName) != null) {
    return false;
  }
  registerKernel(config);
  return true;
}
