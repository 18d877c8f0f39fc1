import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNormGrad, InstanceNormGradAttrs, InstanceNormGradInputs} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {chooseChunking, ChunkGradSumsProgram, InputGradProgram, MergeGradSumsProgram, ParamGradProgram} from './programs';
import {disposeAll, view3d, withShape} from './util';

/**
 * Five draws: chunk sums of dy, dy * xhat and xhat; their merge into the
 * per-(instance, channel) coefficients; the elementwise dx; dgamma; dbeta.
 * dy and x are read twice in full (chunk pass, dx).
 */
function instanceNormGradWebGL(args: {
  inputs: InstanceNormGradInputs,
  backend: MathBackendWebGL,
  attrs: InstanceNormGradAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const layout = instanceNormLayout(inputs.x.shape, attrs.dataFormat);
  const intermediates: TensorInfo[] = [];
  const dy = view3d(backend, inputs.dy, layout, intermediates);
  const x = view3d(backend, inputs.x, layout, intermediates);
  const chunking = chooseChunking(layout.spatial);

  const partials = backend.runWebGLProgram(
      new ChunkGradSumsProgram(layout, chunking), [dy, x, inputs.mean, inputs.invStd], 'float32',
      undefined, true);
  intermediates.push(partials);
  const coefs = backend.runWebGLProgram(
      new MergeGradSumsProgram(layout, chunking), [partials], 'float32');
  intermediates.push(coefs);
  const gamma = inputs.gamma ? [inputs.gamma] : [];
  const dx = backend.runWebGLProgram(
      new InputGradProgram(layout, inputs.gamma != null),
      [dy, x, inputs.mean, inputs.invStd, coefs, ...gamma], 'float32');
  const dgamma = backend.runWebGLProgram(new ParamGradProgram(layout, 'dgamma'), [coefs], 'float32');
  const dbeta = backend.runWebGLProgram(new ParamGradProgram(layout, 'dbeta'), [coefs], 'float32');
  disposeAll(backend, intermediates);
  return [withShape(dx, inputs.x.shape), dgamma, dbeta];
}

export const instanceNormGradWebGLConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'webgl',
  kernelFunc: instanceNormGradWebGL as unknown as KernelFunc,
};
