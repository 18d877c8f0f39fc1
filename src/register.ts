/**
 * Kernel registration that waits for the backend.
 *
 * `tf.registerKernel` accepts any backend name, registered or not. This
 * package registers the kernels of a backend only once that backend exists
 * (its factory is registered, as `import '@tensorflow/tfjs-backend-webgpu'`
 * does, and only where WebGPU is available): kernels for a backend the app
 * never loads are held here instead of filling the global registry.
 *
 * Held kernels are registered later by {@link registerKernelsFor}, which the
 * op calls for the active backend before it picks the fused kernels or the
 * fallback; so import order does not matter. An app that runs the kernels
 * directly with `tf.engine().runKernel` and loads a backend after this
 * package calls `registerKernelsFor(name)` itself.
 */
import {findBackendFactory, getKernel, registerKernel} from '@tensorflow/tfjs-core';
import type {KernelConfig} from '@tensorflow/tfjs-core';

const held = new Map<string, KernelConfig[]>();

/**
 * Registers each config whose backend exists now and holds the others until
 * {@link registerKernelsFor} is called with their backend name.
 * For the kernel folders of this package (e.g. kernels/webgpu/index.ts).
 */
export function registerKernelsWhenBackendExists(configs: KernelConfig[]): void {
  for (const config of configs) {
    if (findBackendFactory(config.backendName) != null) {
      registerIfAbsent(config);
    } else {
      const list = held.get(config.backendName) ?? [];
      list.push(config);
      held.set(config.backendName, list);
    }
  }
}

/**
 * Registers the kernels this package holds for `backendName`, once that
 * backend exists (its factory is registered). Returns the number registered
 * by this call: 0 when there are none, they are already registered, or the
 * backend does not exist. Cheap enough to call before every op.
 *
 * @param backendName a backend name, e.g. 'webgpu'.
 */
export function registerKernelsFor(backendName: string): number {
  const list = held.get(backendName);
  if (list == null || findBackendFactory(backendName) == null) {
    return 0;
  }
  held.delete(backendName);
  return list.filter(registerIfAbsent).length;
}

/** Backend names with kernels held back, for tests and diagnostics. */
export function backendsWithHeldKernels(): string[] {
  return [...held.keys()];
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
