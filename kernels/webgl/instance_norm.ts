import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {
  InstanceNorm,
  InstanceNormAttrs,
  InstanceNormInputs,
  KernelArgs,
  kernelConfig,
} from '../../src/kernel_names';
import {ChunkMomentsProgram} from './chunk_moments_gpu';
import {PackedChunkMomentsProgram} from './chunk_moments_packed_gpu';
import {MergeMomentsProgram} from './merge_moments_gpu';
import {PackedMergeMomentsProgram} from './merge_moments_packed_gpu';
import {NormalizeProgram} from './normalize_gpu';
import {PackedNormalizeProgram} from './normalize_packed_gpu';
import {planFor} from './plan';
import {StatOutputProgram} from './stat_output_gpu';
import {PackedStatOutputProgram} from './stat_output_packed_gpu';
import {run, viewOf, withShape} from './storage';
import {uniformValues} from './uniforms';

/** The forward programs of one storage family: the same arguments, inputs and layouts. */
const FAMILIES = {
  packed: {
    ChunkMoments: PackedChunkMomentsProgram,
    MergeMoments: PackedMergeMomentsProgram,
    StatOutput: PackedStatOutputProgram,
    Normalize: PackedNormalizeProgram,
  },
  unpacked: {
    ChunkMoments: ChunkMomentsProgram,
    MergeMoments: MergeMomentsProgram,
    StatOutput: StatOutputProgram,
    Normalize: NormalizeProgram,
  },
};

/**
 * Instance norm, and group norm (attrs.groups), with the fused activation,
 * in five draws: chunk moments; their merge into per-channel rows
 * (FORWARD_ROWS: scale, shift, pivot, the group's mean and invStd); the
 * mean and invStd outputs; y = act((x - pivot) * scale + shift). x is read
 * twice in full (chunk pass, normalize); the other draws touch N*C values
 * (times the chunks for the merge).
 */
function instanceNormWebGL({
  inputs,
  backend,
  attrs,
}: KernelArgs<InstanceNormInputs, MathBackendWebGL, InstanceNormAttrs>): TensorInfo[] {
  const plan = planFor(backend, inputs.x, attrs, InstanceNorm, inputs.gamma, inputs.beta);
  const family = FAMILIES[plan.view.packed ? 'packed' : 'unpacked'];
  const uniforms = uniformValues(attrs);
  const intermediates: TensorInfo[] = [];
  try {
    const x = viewOf(backend, inputs.x, plan.view, intermediates);
    const named = {x, gamma: inputs.gamma, beta: inputs.beta};
    const partials = run(backend, new family.ChunkMoments(plan), named, uniforms, intermediates);
    const stats = run(
      backend,
      new family.MergeMoments(plan),
      {...named, partials},
      uniforms,
      intermediates,
    );
    const mean = run(backend, new family.StatOutput(plan, 'mean'), {stats}, uniforms);
    const invStd = run(backend, new family.StatOutput(plan, 'invStd'), {stats}, uniforms);
    const y = run(backend, new family.Normalize(plan), {x, stats}, uniforms);
    return [withShape(y, inputs.x.shape), mean, invStd];
  } finally {
    for (const info of intermediates) backend.disposeIntermediateTensorInfo(info);
  }
}

export const instanceNormWebGLConfig = kernelConfig(InstanceNorm, 'webgl', instanceNormWebGL);
