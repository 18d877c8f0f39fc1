import type {KernelConfig} from '@tensorflow/tfjs-core';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {isPerInstance} from '../../src/geometry';
import {normGradientFloat64} from './float64_gradient';
import {normGeometry, parameterPerInstance} from './geometry';
import type {Float64Memory} from './memory';

/**
 * The `InstanceNormGrad` kernel of a CPU-side backend (cpu, wasm): the float64
 * loops of float64_gradient.ts read dy, x, gamma, beta, mean and invStd and
 * write dx, dgamma (of gamma's shape) and dbeta (of beta's) in the backend's
 * own memory, with every attribute.
 */
export function float64InstanceNormGradConfig<Backend>(
  backendName: string,
  memory: Float64Memory<Backend>,
): KernelConfig {
  const kernelFunc = (args: KernelArgs<InstanceNormGradInputs, Backend, InstanceNormGradAttrs>) => {
    const {inputs, backend, attrs} = args;
    const {dataFormat, groups} = attrs;
    const geometry = normGeometry(inputs.x.shape, dataFormat, groups, InstanceNormGrad);
    const gammaPerInstance = isPerInstance(inputs.gamma?.shape);
    const betaPerInstance = isPerInstance(inputs.beta?.shape);
    const perChannel = [geometry.channels];
    const perInstance = [geometry.batch, geometry.channels];
    const shapes = [
      inputs.x.shape,
      gammaPerInstance ? perInstance : perChannel,
      betaPerInstance ? perInstance : perChannel,
    ];
    return memory.outputs(backend, shapes, outputs => {
      const [dx, dgamma, dbeta] = outputs;
      const views = memory.views(backend, inputs, InstanceNormGrad);
      const {dy, x, mean, invStd} = views;
      const gamma = parameterPerInstance(
        geometry,
        views.gamma ?? null,
        gammaPerInstance,
        1,
        'gamma',
        InstanceNormGrad,
      );
      const beta = parameterPerInstance(
        geometry,
        views.beta ?? null,
        betaPerInstance,
        0,
        'beta',
        InstanceNormGrad,
      );
      const out = {dx, dgamma, dbeta};
      normGradientFloat64(geometry, dy, x, gamma, beta, mean, invStd, attrs, out);
    });
  };
  return kernelConfig(InstanceNormGrad, backendName, kernelFunc);
}
