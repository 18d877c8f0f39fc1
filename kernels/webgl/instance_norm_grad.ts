import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {
  ChunkGradSumsProgram,
  InputGradProgram,
  MergeGradSumsProgram,
  PackedInputGradProgram,
  PackedMergeGradProgram,
  PackedParamGradProgram,
  ParamGradProgram,
} from './programs';
import {disposeAll, planFor, viewOf, withShape} from './util';

/**
 * Five draws: chunk means of dy, dy * xhat and xhat; their merge into
 * per-(instance, channel) coefficients; the elementwise dx; dgamma; dbeta.
 * dy and x are read twice in full (chunk pass, dx).
 */
function instanceNormGradWebGL(args: {
  inputs: InstanceNormGradInputs;
  backend: MathBackendWebGL;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {g, chunking} = planFor(backend, inputs.x, attrs.dataFormat);
  const {layout} = g;
  const intermediates: TensorInfo[] = [];
  const dy = viewOf(backend, inputs.dy, g, intermediates);
  const x = viewOf(backend, inputs.x, g, intermediates);
  const {mean, invStd} = inputs;
  const gamma = inputs.gamma ? [inputs.gamma] : [];

  const keepPacked = true;
  const partials = backend.runWebGLProgram(
    new ChunkGradSumsProgram(g, chunking),
    [dy, x, mean, invStd],
    'float32',
    undefined,
    keepPacked,
  );
  intermediates.push(partials);
  let dx: TensorInfo;
  let dgamma: TensorInfo;
  let dbeta: TensorInfo;
  if (g.packed) {
    const coefs = backend.runWebGLProgram(
      new PackedMergeGradProgram(g, chunking, gamma.length > 0),
      [partials, mean, invStd, ...gamma],
      'float32',
      undefined,
      keepPacked,
    );
    intermediates.push(coefs);
    dx = backend.runWebGLProgram(new PackedInputGradProgram(g), [dy, x, coefs], 'float32');
    dgamma = backend.runWebGLProgram(
      new PackedParamGradProgram(layout, 'dgamma'),
      [coefs],
      'float32',
    );
    dbeta = backend.runWebGLProgram(
      new PackedParamGradProgram(layout, 'dbeta'),
      [coefs],
      'float32',
    );
  } else {
    const coefs = backend.runWebGLProgram(
      new MergeGradSumsProgram(g, chunking),
      [partials],
      'float32',
    );
    intermediates.push(coefs);
    dx = backend.runWebGLProgram(
      new InputGradProgram(layout, gamma.length > 0),
      [dy, x, mean, invStd, coefs, ...gamma],
      'float32',
    );
    dgamma = backend.runWebGLProgram(new ParamGradProgram(layout, 'dgamma'), [coefs], 'float32');
    dbeta = backend.runWebGLProgram(new ParamGradProgram(layout, 'dbeta'), [coefs], 'float32');
  }
  disposeAll(backend, intermediates);
  return [withShape(dx, inputs.x.shape), dgamma, dbeta];
}

export const instanceNormGradWebGLConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'webgl',
  kernelFunc: instanceNormGradWebGL as unknown as KernelFunc,
};
