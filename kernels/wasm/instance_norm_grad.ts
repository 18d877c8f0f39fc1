import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {normGradientFloat64} from '../shared/float64_gradient';
import {normGeometry} from '../shared/geometry';
import {disposeOutputs, heapFloat32, makeFloat32Outputs} from './util';

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
  const channels = [geometry.channels];
  const {infos, views} = makeFloat32Outputs(backend, [inputs.x.shape, channels, channels]);
  try {
    const view = (name: 'dy' | 'x' | 'mean' | 'invStd') =>
      heapFloat32(backend, inputs[name], InstanceNormGrad, name);
    const gamma = heapFloat32(backend, inputs.gamma, InstanceNormGrad, 'gamma');
    const [dx, dgamma, dbeta] = views;
    normGradientFloat64(geometry, view('dy'), view('x'), gamma, view('mean'), view('invStd'), {
      dx,
      dgamma,
      dbeta,
    });
  } catch (e) {
    disposeOutputs(backend, infos);
    throw e;
  }
  return infos;
}

export const instanceNormGradWasmConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'wasm',
  kernelFunc: instanceNormGradWasm as unknown as KernelFunc,
};
