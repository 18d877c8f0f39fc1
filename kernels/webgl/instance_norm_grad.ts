import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  kernelConfig,
} from '../../src/kernel_names';
import {ChunkGradSumsProgram} from './chunk_grad_sums_gpu';
import {PackedChunkGradSumsProgram} from './chunk_grad_sums_packed_gpu';
import {InputGradProgram} from './input_grad_gpu';
import {PackedInputGradProgram} from './input_grad_packed_gpu';
import {MergeGradProgram} from './merge_grad_gpu';
import {PackedMergeGradProgram} from './merge_grad_packed_gpu';
import {ParamGradProgram} from './param_grad_gpu';
import {PackedParamGradProgram} from './param_grad_packed_gpu';
import {planFor} from './plan';
import {disposeAll, runIntermediate, viewOf, withShape} from './storage';

/**
 * The gradient of instance (and group) norm in five draws: chunk means of
 * dy, dy * xhat and xhat per (instance, channel); their merge into
 * per-channel coefficients (group sums weighted by gamma); the elementwise
 * dx; dgamma; dbeta. dy and x are read twice in full (chunk pass, dx); the
 * packed chunk pass reads x once more (its xhat row set and its dy row set
 * are separate reads).
 */
function instanceNormGradWebGL(args: {
  inputs: InstanceNormGradInputs;
  backend: MathBackendWebGL;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {geometry, chunking} = planFor(
    backend,
    inputs.x,
    attrs.dataFormat,
    attrs.groups,
    InstanceNormGrad,
  );
  const {mean, invStd} = inputs;
  const gamma = inputs.gamma != null ? [inputs.gamma] : [];
  const hasGamma = gamma.length > 0;
  const intermediates: TensorInfo[] = [];
  try {
    const dy = viewOf(backend, inputs.dy, geometry, intermediates);
    const x = viewOf(backend, inputs.x, geometry, intermediates);
    const Chunk = geometry.packed ? PackedChunkGradSumsProgram : ChunkGradSumsProgram;
    const partials = runIntermediate(
      backend,
      new Chunk(geometry, chunking),
      [dy, x, mean, invStd],
      intermediates,
    );
    let dx: TensorInfo;
    let coefficients: TensorInfo;
    if (geometry.packed) {
      coefficients = runIntermediate(
        backend,
        new PackedMergeGradProgram(geometry, chunking, hasGamma),
        [partials, mean, invStd, ...gamma],
        intermediates,
      );
      dx = backend.runWebGLProgram(
        new PackedInputGradProgram(geometry),
        [dy, x, coefficients],
        'float32',
      );
    } else {
      coefficients = runIntermediate(
        backend,
        new MergeGradProgram(geometry, chunking, hasGamma),
        [partials, ...gamma],
        intermediates,
      );
      dx = backend.runWebGLProgram(
        new InputGradProgram(geometry, hasGamma),
        [dy, x, mean, invStd, coefficients, ...gamma],
        'float32',
      );
    }
    const ParamGrad = geometry.packed ? PackedParamGradProgram : ParamGradProgram;
    const paramGrad = (which: 'dgamma' | 'dbeta') =>
      backend.runWebGLProgram(new ParamGrad(geometry, which), [coefficients], 'float32');
    return [withShape(dx, inputs.x.shape), paramGrad('dgamma'), paramGrad('dbeta')];
  } finally {
    disposeAll(backend, intermediates);
  }
}

export const instanceNormGradWebGLConfig = kernelConfig(
  InstanceNormGrad,
  'webgl',
  instanceNormGradWebGL,
);
