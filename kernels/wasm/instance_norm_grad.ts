import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {normGradientFloat64} from '../shared/float64_gradient';
import {normGeometry} from '../shared/geometry';
import {heapViews, writeFloat32Outputs} from './util';

/**
 * The gradient of instance / group norm on the wasm backend: the float64
 * loops of kernels/shared read dy, x, gamma, mean and invStd in the wasm heap
 * and write dx, dgamma and dbeta into their heap blocks.
 */
function instanceNormGradWasm(args: {
  inputs: InstanceNormGradInputs;
  backend: BackendWasm;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const geometry = normGeometry(inputs.x.shape, attrs.dataFormat, attrs.groups, InstanceNormGrad);
  const outputShapes = [inputs.x.shape, [geometry.channels], [geometry.channels]];
  return writeFloat32Outputs(backend, outputShapes, ([dx, dgamma, dbeta]) => {
    const {dy, x, gamma, mean, invStd} = heapViews(backend, inputs, InstanceNormGrad);
    const out = {dx, dgamma, dbeta};
    normGradientFloat64(geometry, dy, x, gamma ?? null, mean, invStd, out);
  });
}

export const instanceNormGradWasmConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'wasm',
  kernelFunc: instanceNormGradWasm as unknown as KernelFunc,
};
