import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {normForwardFloat64} from '../shared/float64_forward';
import {normGeometry} from '../shared/geometry';
import {heapViews, writeFloat32Outputs} from './util';

interface ForwardArgs {
  inputs: InstanceNormInputs;
  backend: BackendWasm;
  attrs: InstanceNormAttrs;
}

/**
 * Instance / group norm on the wasm backend: the float64 loops of
 * kernels/shared read x, gamma and beta where they lie in the wasm heap and
 * write y, mean and invStd into their heap blocks.
 */
function instanceNormWasm({inputs, backend, attrs}: ForwardArgs): TensorInfo[] {
  const geometry = normGeometry(inputs.x.shape, attrs.dataFormat, attrs.groups, InstanceNorm);
  const stats = [geometry.batch, geometry.groups];
  return writeFloat32Outputs(backend, [inputs.x.shape, stats, stats], ([y, mean, invStd]) => {
    const {x, gamma, beta} = heapViews(backend, inputs, InstanceNorm);
    normForwardFloat64(geometry, x, gamma ?? null, beta ?? null, attrs.epsilon, {y, mean, invStd});
  });
}

export const instanceNormWasmConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'wasm',
  kernelFunc: instanceNormWasm as unknown as KernelFunc,
};
