/**
 * Kernels register at import for their backend name, whether that backend
 * exists yet or not, and never replace one registered before them.
 * Backend-independent: uses throwaway backends built from the cpu one.
 */
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import * as cpuEntry from '../src/cpu';
import * as root from '../src/index';
import {hasFusedKernels, InstanceNorm, InstanceNormGrad, instanceNorm} from '../src/index';
import {registerKernels} from '../src/register';
import * as wasmEntry from '../src/wasm';
import * as webglEntry from '../src/webgl';
import * as webgpuEntry from '../src/webgpu';
import {tf} from './setup';

/** The cpu kernels under another backend name: what a backend folder would register. */
function fusedConfigsFor(backendName: string): tf.KernelConfig[] {
  return [InstanceNorm, InstanceNormGrad].map(name => {
    const config = tf.getKernel(name, 'cpu');
    if (config == null) throw new Error(`cpu kernel ${name} missing`);
    return {...config, backendName};
  });
}

describe('kernel registration at import [other]', () => {
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

  it('registers at once, for a backend that does not exist yet too', () => {
    const name = 'instance-norm-test-late';
    registerKernels(fusedConfigsFor(name));
    cleanup.push(() => {
      for (const kernel of [InstanceNorm, InstanceNormGrad]) tf.unregisterKernel(kernel, name);
    });
    expect(tf.findBackendFactory(name)).toBeNull();
    expect(tf.getKernel(InstanceNorm, name)?.backendName).toBe(name);
    expect(tf.getKernel(InstanceNormGrad, name)?.backendName).toBe(name);
    expect(hasFusedKernels(name)).toBe(true);
  });

  it('hasFusedKernels: both kernels for that backend, the active one by default', async () => {
    const name = 'instance-norm-test-half';
    expect(hasFusedKernels(name)).toBe(false);
    // Only the forward kernel: the op would take the composite.
    tf.registerKernel(fusedConfigsFor(name)[0]);
    cleanup.push(() => tf.unregisterKernel(InstanceNorm, name));
    expect(hasFusedKernels(name)).toBe(false);
    for (const backend of ['cpu', 'webgl', 'webgpu', 'wasm']) {
      expect(hasFusedKernels(backend)).withContext(backend).toBe(true);
    }
    await tf.ready();
    expect(hasFusedKernels()).toBe(hasFusedKernels(tf.getBackend()));
  });

  it('never replaces a kernel registered before it', () => {
    const name = 'instance-norm-test-own';
    const own = {...fusedConfigsFor(name)[0], kernelFunc: () => []};
    tf.registerKernel(own);
    addBackend(name, false);
    registerKernels(fusedConfigsFor(name));
    expect(tf.getKernel(InstanceNorm, name)?.kernelFunc).toBe(own.kernelFunc);
    expect(tf.getKernel(InstanceNormGrad, name)?.backendName).toBe(name);
  });

  it('the op runs kernels registered before their backend existed', async () => {
    const name = 'instance-norm-test-op';
    await tf.ready();
    const previous = tf.getBackend();
    registerKernels(fusedConfigsFor(name));
    addBackend(name, true);
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

describe('entry points [other]', () => {
  // The root entry registers every backend's kernels; the per-backend ones
  // (package.json "exports": ./cpu, ./webgl, ./webgpu, ./wasm) one each. Which
  // backends a lone entry registers is checked in the consumer tests
  // (test/consumer/apps/node_entry.mjs), one Node process per entry.
  const entries: Array<[string, Record<string, unknown>]> = [
    ['cpu', cpuEntry],
    ['webgl', webglEntry],
    ['webgpu', webgpuEntry],
    ['wasm', wasmEntry],
  ];

  it("each exports exactly the root entry's API, the same objects", () => {
    const names = Object.keys(root).sort();
    expect(names).toContain('instanceNorm');
    expect(names).toContain('InstanceNormalization');
    expect(names).not.toContain('registerKernels');
    for (const [entry, api] of entries) {
      expect(Object.keys(api).sort()).withContext(entry).toEqual(names);
      for (const name of names) {
        expect(api[name])
          .withContext(`${entry}: ${name}`)
          .toBe((root as Record<string, unknown>)[name]);
      }
    }
  });
});
