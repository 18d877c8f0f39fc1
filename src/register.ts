/**
 * Kernel registration, at import, and the check of which backends have it.
 *
 * `tf.registerKernel` accepts any backend name, registered or not, and tfjs
 * looks kernels up by name only when an op runs. So each kernel folder
 * (kernels/<backend>/index.ts) registers its kernels for its backend name as
 * soon as it is imported, whether or not that backend is installed yet. The
 * root entry (src/index.ts) imports every folder; a per-backend entry
 * (src/webgl.ts, ...) imports its own only, and the ops run the composite
 * (built-in ops) on the other backends. After the import,
 * `tf.getKernel('InstanceNorm', name)` answers at once for each registered
 * backend, in either import order, and `tf.profile` shows the fused kernels
 * from the first op. A kernel for a backend the app never loads is one
 * registry entry and never runs.
 *
 * A kernel the app registered itself under the same name and backend before
 * importing this package is kept, never replaced.
 */
import {getBackend, getKernel, registerKernel} from '@tensorflow/tfjs-core';
import type {KernelConfig} from '@tensorflow/tfjs-core';

import {InstanceNorm, InstanceNormGrad} from './kernel_names';

/**
 * Registers each config now, for its backend name, unless a kernel is
 * registered already under that name and backend (the app's own is kept).
 * For the kernel folders of this package (e.g. kernels/webgpu/index.ts).
 */
export function registerKernels(configs: KernelConfig[]): void {
  for (const config of configs) registerIfAbsent(config);
}

/**
 * Whether both kernels of this package (InstanceNorm and InstanceNormGrad)
 * are registered for `backend` (default: the active backend). Where they are
 * not, the ops compute through tfjs' built-in ops (the composite): the same
 * math, more kernels and memory.
 *
 * @param backend a backend name, e.g. 'webgl'.
 */
export function hasFusedKernels(backend: string = getBackend()): boolean {
  return getKernel(InstanceNorm, backend) != null && getKernel(InstanceNormGrad, backend) != null;
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
