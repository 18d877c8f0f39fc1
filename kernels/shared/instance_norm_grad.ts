import type {KernelConfig} from '@tensorflow/tfjs-core';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {normGradientFloat64} from './float64_gradient';
import {normGeometry} from './geometry';
import type {Float64Memory} from './memory';

/**
 * The `InstanceNormGrad` kernel of a CPU-side backend (cpu, wasm): the float64
 * loops of float64_gradient.ts read dy, x, gamma, mean and invStd and write
 * dx, dgamma and dbeta in the backend's own memory.
 */
export function float64InstanceNormGradConfig<Backend>(
  backendName: string,
  memory: Float64Memory<Backend>,
): KernelConfig {
  const kernelFunc = (args: KernelArgs<InstanceNormGradInputs, Backend, InstanceNormGradAttrs>) => {
    const {inputs, backend, attrs} = args;
    const {dataFormat, groups} = attrs;
    const geometry = normGeometry(inputs.x.shape, dataFormat, groups, InstanceNormGrad);
    const perChannel = [geometry.channels];
    return memory.outputs(backend, [inputs.x.shape, perChannel, perChannel], outputs => {
      const [dx, dgamma, dbeta] = outputs;
      const {dy, x, gamma, mean, invStd} = memory.views(backend, inputs, InstanceNormGrad);
      normGradientFloat64(geometry, dy, x, gamma ?? null, mean, invStd, {dx, dgamma, dbeta});
    });
  };
  return kernelConfig(InstanceNormGrad, backendName, kernelFunc);
}
