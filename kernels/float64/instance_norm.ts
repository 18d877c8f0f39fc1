import type {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';

import {
  InstanceNorm,
  InstanceNormAttrs,
  InstanceNormInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {isPerInstance} from '../../src/geometry';
import {normForwardFloat64} from './float64_forward';
import {normGeometry, parameterPerInstance} from './geometry';
import type {Float64Memory} from './memory';

/**
 * The `InstanceNorm` kernel (instance and group norm) of a CPU-side backend
 * (cpu, wasm): the float64 loops of float64_forward.ts read x, gamma and beta
 * (each `[C]` or `[N, C]`) and write y, mean and invStd in the backend's own
 * memory, with every attribute (epsilonMode, activation, alpha).
 */
export function float64InstanceNormConfig<Backend>(
  backendName: string,
  memory: Float64Memory<Backend>,
): KernelConfig {
  const kernelFunc = (args: KernelArgs<InstanceNormInputs, Backend, InstanceNormAttrs>) => {
    const {inputs, backend, attrs} = args;
    const geometry = normGeometry(inputs.x.shape, attrs.dataFormat, attrs.groups, InstanceNorm);
    const stats = [geometry.batch, geometry.groups];
    return memory.outputs(backend, [inputs.x.shape, stats, stats], ([y, mean, invStd]) => {
      const {x, gamma, beta} = memory.views(backend, inputs, InstanceNorm);
      const out = {y, mean, invStd};
      const gammaValues = parameterPerInstance(
        geometry,
        gamma ?? null,
        isPerInstance(inputs.gamma?.shape),
        1,
        'gamma',
        InstanceNorm,
      );
      const betaValues = parameterPerInstance(
        geometry,
        beta ?? null,
        isPerInstance(inputs.beta?.shape),
        0,
        'beta',
        InstanceNorm,
      );
      normForwardFloat64(geometry, x, gammaValues, betaValues, attrs, out);
    }) as TensorInfo[];
  };
  return kernelConfig(InstanceNorm, backendName, kernelFunc);
}
