import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {
  InstanceNorm,
  InstanceNormAttrs,
  InstanceNormInputs,
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
import {disposeAll, runIntermediate, viewOf, withShape} from './storage';
import {MERGE_UNIFORMS, uniformValues} from './uniforms';

/**
 * Instance norm, and group norm (attrs.groups), in five draws: chunk
 * moments; their merge into per-(instance, group) statistics (packed: per
 * channel rows of the affine); the mean and invStd outputs; the elementwise
 * normalize-and-affine. x is read twice in full (chunk pass, normalize); the
 * other draws touch N*C values (times the chunks for the merge).
 */
function instanceNormWebGL(args: {
  inputs: InstanceNormInputs;
  backend: MathBackendWebGL;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {geometry, chunking} = planFor(
    backend,
    inputs.x,
    attrs.dataFormat,
    attrs.groups,
    InstanceNorm,
  );
  const {packed} = geometry;
  const hasGamma = inputs.gamma != null;
  const hasBeta = inputs.beta != null;
  const params = [inputs.gamma, inputs.beta].filter((t): t is TensorInfo => t != null);
  const intermediates: TensorInfo[] = [];
  try {
    const x = viewOf(backend, inputs.x, geometry, intermediates);
    const partials = runIntermediate(
      backend,
      packed
        ? new PackedChunkMomentsProgram(geometry, chunking)
        : new ChunkMomentsProgram(geometry, chunking),
      [x],
      intermediates,
    );
    // Packed, the merge folds gamma and beta into per-channel rows;
    // unpacked, the normalize reads them.
    const stats = runIntermediate(
      backend,
      packed
        ? new PackedMergeMomentsProgram(geometry, chunking, hasGamma, hasBeta)
        : new MergeMomentsProgram(geometry, chunking),
      packed ? [partials, x, ...params] : [partials],
      intermediates,
      uniformValues(MERGE_UNIFORMS, {epsilon: attrs.epsilon}),
    );
    const StatOutput = packed ? PackedStatOutputProgram : StatOutputProgram;
    const output = (which: 'mean' | 'invStd') =>
      backend.runWebGLProgram(new StatOutput(geometry, which), [stats], 'float32');
    const mean = output('mean');
    const invStd = output('invStd');
    const y = packed
      ? backend.runWebGLProgram(new PackedNormalizeProgram(geometry), [x, stats], 'float32')
      : backend.runWebGLProgram(
          new NormalizeProgram(geometry, hasGamma, hasBeta),
          [x, stats, ...params],
          'float32',
        );
    return [withShape(y, inputs.x.shape), mean, invStd];
  } finally {
    disposeAll(backend, intermediates);
  }
}

export const instanceNormWebGLConfig = kernelConfig(InstanceNorm, 'webgl', instanceNormWebGL);
