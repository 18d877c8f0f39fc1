import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  KernelArgs,
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
import {run, viewOf, withShape} from './storage';
import {uniformValues} from './uniforms';

/** The gradient programs of one storage family: the same arguments, inputs and layouts. */
const FAMILIES = {
  packed: {
    ChunkGradSums: PackedChunkGradSumsProgram,
    MergeGrad: PackedMergeGradProgram,
    InputGrad: PackedInputGradProgram,
    ParamGrad: PackedParamGradProgram,
  },
  unpacked: {
    ChunkGradSums: ChunkGradSumsProgram,
    MergeGrad: MergeGradProgram,
    InputGrad: InputGradProgram,
    ParamGrad: ParamGradProgram,
  },
};

/**
 * The gradient of instance (and group) norm and its fused activation in
 * five draws: chunk means of dz, dz * xhat and xhat per (instance, channel),
 * z recomputed from x, the saved statistics, gamma and beta; their merge
 * into per-channel rows (GRAD_ROWS); the elementwise dx; dgamma; dbeta. dy
 * and x are read twice in full (chunk pass, dx); the packed chunk pass reads
 * x once more (its xhat row set and its dz row set are separate reads).
 */
function instanceNormGradWebGL({
  inputs,
  backend,
  attrs,
}: KernelArgs<InstanceNormGradInputs, MathBackendWebGL, InstanceNormGradAttrs>): TensorInfo[] {
  const plan = planFor(backend, inputs.x, attrs, InstanceNormGrad, inputs.gamma, inputs.beta);
  const family = FAMILIES[plan.view.packed ? 'packed' : 'unpacked'];
  const uniforms = uniformValues(attrs);
  const intermediates: TensorInfo[] = [];
  try {
    const named = {
      dy: viewOf(backend, inputs.dy, plan.view, intermediates),
      x: viewOf(backend, inputs.x, plan.view, intermediates),
      mean: inputs.mean,
      invStd: inputs.invStd,
      gamma: inputs.gamma,
      beta: inputs.beta,
    };
    const partials = run(backend, new family.ChunkGradSums(plan), named, uniforms, intermediates);
    const coefficients = run(
      backend,
      new family.MergeGrad(plan),
      {...named, partials},
      uniforms,
      intermediates,
    );
    const dx = run(backend, new family.InputGrad(plan), {...named, coefficients}, uniforms);
    const dgamma = run(backend, new family.ParamGrad(plan, 'dgamma'), {coefficients}, uniforms);
    const dbeta = run(backend, new family.ParamGrad(plan, 'dbeta'), {coefficients}, uniforms);
    return [withShape(dx, inputs.x.shape), dgamma, dbeta];
  } finally {
    for (const info of intermediates) backend.disposeIntermediateTensorInfo(info);
  }
}

export const instanceNormGradWebGLConfig = kernelConfig(
  InstanceNormGrad,
  'webgl',
  instanceNormGradWebGL,
);
