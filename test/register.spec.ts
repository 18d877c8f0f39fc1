/**
 * Kernels of a backend that does not exist are held, not registered, and
 * register once it does: explicitly (registerKernelsFor) or when the op runs
 * on it. Backend-independent: uses throwaway backends built from the cpu one.
 */
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {InstanceNorm, InstanceNormGrad, instanceNorm} from '../src/index';
import {
  backendsWithHeldKernels,
  registerKernelsFor,
  registerKernelsWhenBackendExists,
} from '../src/register';
import {tf} from './setup';

/** The cpu kernels under another backend name: what a backend folder would register. */
function fusedConfigsFor(backendName: string): tf.KernelConfig[] {
  return [InstanceNorm, InstanceNormGrad].map(name => {
    const config = tf.getKernel(name, 'cpu');
    if (config == null) throw new Error(`cpu kernel ${name} missing`);
    return {...config, backendName};
  });
}

describe('kernel registration waits for the backend [other]', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    while (cleanup.length) cleanup.pop()!();
  });

  function addBackend(name: string, withCpuKernels: boolean): void {
    tf.registerBackend(name, () => new MathBackendCPU(), -1);
    if (withCpuKernels) {
      for (const kernel of tf.getKernelsForBackend('cpu')) {
        if (kernel.kernelName !== InstanceNorm && kernel.kernelName !== InstanceNormGrad) {
          tf.registerKernel({...kernel, backendName: name});
        }
      }
    }
    cleanup.push(() => {
      for (const kernel of tf.getKernelsForBackend(name)) {
        tf.unregisterKernel(kernel.kernelName, name);
      }
      tf.removeBackend(name);
    });
  }

  it('holds kernels of a backend that does not exist, registers them once it does', () => {
    const name = 'instance-norm-test-late';
    registerKernelsWhenBackendExists(fusedConfigsFor(name));
    expect(tf.getKernel(InstanceNorm, name)).toBeUndefined();
    expect(backendsWithHeldKernels()).toContain(name);
    expect(registerKernelsFor(name)).toBe(0); // still no backend

    addBackend(name, false);
    expect(registerKernelsFor(name)).toBe(2);
    expect(tf.getKernel(InstanceNorm, name)?.backendName).toBe(name);
    expect(tf.getKernel(InstanceNormGrad, name)?.backendName).toBe(name);
    expect(backendsWithHeldKernels()).not.toContain(name);
    expect(registerKernelsFor(name)).toBe(0); // idempotent
  });

  it('registers at once for a backend that exists', () => {
    const name = 'instance-norm-test-present';
    addBackend(name, false);
    registerKernelsWhenBackendExists(fusedConfigsFor(name));
    expect(tf.getKernel(InstanceNorm, name)?.backendName).toBe(name);
    expect(backendsWithHeldKernels()).not.toContain(name);
  });

  it('the op registers held kernels of the active backend and runs them', async () => {
    const name = 'instance-norm-test-op';
    await tf.ready();
    const previous = tf.getBackend();
    registerKernelsWhenBackendExists(fusedConfigsFor(name));
    addBackend(name, true);
    expect(tf.getKernel(InstanceNorm, name)).toBeUndefined();
    try {
      expect(await tf.setBackend(name)).toBe(true);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d([1, 2, 3, 5, 8, 13, 21, 34], [1, 2, 2, 2]);
      const profile = await tf.profile(() => instanceNorm(x));
      const ran = profile.kernelNames;
      expect(ran).toContain(InstanceNorm);
      expect(tf.getKernel(InstanceNorm, name)?.backendName).toBe(name);
      // Channel 0 is 1, 3, 8, 21: mean 8.25, biased variance 60.6875.
      const y = (profile.result as tf.Tensor).dataSync();
      expect(y[0]).toBeCloseTo((1 - 8.25) / Math.sqrt(60.6875 + 1e-5), 5);
      tf.dispose([x, profile.result as tf.Tensor]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      await tf.setBackend(previous);
    }
  });
});
