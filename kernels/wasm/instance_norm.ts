import type {KernelConfig, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {normGeometry} from '../../src/geometry';
import {
  InstanceNorm,
  InstanceNormAttrs,
  InstanceNormInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {float64InstanceNormConfig} from '../float64/instance_norm';
import {heapOffset, moduleCall, withOutputs} from './kernel_inputs';
import {wasmMemory} from './memory';
import {simdKernels} from './simd_module';

type Args = KernelArgs<InstanceNormInputs, BackendWasm, InstanceNormAttrs>;

/**
 * The wasm backend's `InstanceNorm`: the SIMD module on the backend's heap
 * (simd_module.ts), or the float64 loops of kernels/float64 where the backend
 * runs without SIMD.
 */
export function wasmInstanceNormConfig(): KernelConfig {
  const float64 = float64InstanceNormConfig('wasm', wasmMemory).kernelFunc;
  const kernelFunc = (args: Args): TensorInfo[] => {
    const {inputs, backend, attrs} = args;
    const kernels = simdKernels(backend);
    const geometry = normGeometry(inputs.x.shape, attrs.dataFormat, attrs.groups, InstanceNorm);
    if (kernels == null || geometry.batch * geometry.groupSize === 0) {
      return float64(args as never) as TensorInfo[];
    }
    const call = moduleCall(backend, kernels, geometry, inputs, attrs, InstanceNorm);
    const stats = [geometry.batch, geometry.groups];
    return withOutputs(backend, call, [inputs.x.shape, stats, stats], (outputs, scratch) => {
      const [y, mean, invStd] = outputs.map(o => heapOffset(backend, o, 'output', InstanceNorm));
      kernels.forward(scratch, heapOffset(backend, inputs.x, 'x', InstanceNorm), y, mean, invStd);
    });
  };
  return kernelConfig(InstanceNorm, 'wasm', kernelFunc);
}
