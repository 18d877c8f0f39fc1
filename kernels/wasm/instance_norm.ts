import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {normForwardFloat64} from '../shared/float64_forward';
import {normGeometry} from '../shared/geometry';
import {disposeOutputs, heapFloat32, makeFloat32Outputs} from './util';

/**
 * Instance / group norm on the wasm backend: the float64 loops of
 * kernels/shared read x, gamma and beta where they lie in the wasm heap and
 * write y, mean and invStd into their heap blocks.
 */
function instanceNormWasm(args: {
  inputs: InstanceNormInputs;
  backend: BackendWasm;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const geometry = normGeometry(inputs.x.shape, attrs.dataFormat, attrs.groups, InstanceNorm);
  const stats = [geometry.batch, geometry.groups];
  const {infos, views} = makeFloat32Outputs(backend, [inputs.x.shape, stats, stats]);
  try {
    const x = heapFloat32(backend, inputs.x, InstanceNorm, 'x');
    const gamma = heapFloat32(backend, inputs.gamma, InstanceNorm, 'gamma');
    const beta = heapFloat32(backend, inputs.beta, InstanceNorm, 'beta');
    const [y, mean, invStd] = views;
    normForwardFloat64(geometry, x, gamma, beta, attrs.epsilon, {y, mean, invStd});
  } catch (e) {
    disposeOutputs(backend, infos);
    throw e;
  }
  return infos;
}

export const instanceNormWasmConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'wasm',
  kernelFunc: instanceNormWasm as unknown as KernelFunc,
};
