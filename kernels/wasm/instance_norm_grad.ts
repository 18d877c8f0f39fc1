import type {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {normGeometry} from '../../src/geometry';
import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {float64InstanceNormGradConfig} from '../float64/instance_norm_grad';
import {heapOffset, moduleCall, withOutputs} from './kernel_inputs';
import {wasmMemory} from './memory';
import {simdKernels} from './simd_module';

type Args = KernelArgs<InstanceNormGradInputs, BackendWasm, InstanceNormGradAttrs>;

/**
 * The wasm backend's `InstanceNormGrad`: the SIMD module on the backend's
 * heap, or the float64 loops of kernels/float64 where the backend runs
 * without SIMD.
 */
export function wasmInstanceNormGradConfig(): KernelConfig {
  const float64 = float64InstanceNormGradConfig('wasm', wasmMemory).kernelFunc;
  const kernelFunc = (args: Args): TensorInfo[] => {
    const {inputs, backend, attrs} = args;
    const kernels = simdKernels(backend);
    const {dataFormat, groups} = attrs;
    const geometry = normGeometry(inputs.x.shape, dataFormat, groups, InstanceNormGrad);
    if (kernels == null || geometry.batch * geometry.groupSize === 0) {
      return float64(args as never) as TensorInfo[];
    }
    const {dy, x, gamma, beta, mean, invStd} = inputs;
    const call = moduleCall(backend, kernels, geometry, inputs, attrs, InstanceNormGrad);
    const stats = [geometry.batch, geometry.groups];
    for (const [name, info] of [
      ['mean', mean],
      ['invStd', invStd],
    ] as const) {
      if (info.shape.length !== 2 || info.shape[0] !== stats[0] || info.shape[1] !== stats[1]) {
        throw new Error(
          `${InstanceNormGrad}: input '${name}' must have shape [${stats}], but got [${info.shape}].`,
        );
      }
    }
    const perChannel = [geometry.channels];
    const shapes = [x.shape, gamma?.shape ?? perChannel, beta?.shape ?? perChannel];
    const offset = (info: TensorInfo | undefined, name: string) =>
      heapOffset(backend, info, name, InstanceNormGrad);
    return withOutputs(backend, call, shapes, (outputs, scratch) => {
      const [dx, dgamma, dbeta] = outputs.map(o => offset(o, 'output'));
      kernels.gradient(
        scratch,
        offset(dy, 'dy'),
        offset(x, 'x'),
        offset(mean, 'mean'),
        offset(invStd, 'invStd'),
        dx,
        dgamma,
        dbeta,
      );
    });
  };
  return kernelConfig(InstanceNormGrad, 'wasm', kernelFunc);
}
