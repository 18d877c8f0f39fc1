import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
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
  const {geometry, chunking} = planFor(backend, inputs.x, attrs.dataFormat, attrs.groups);
  const uniforms = uniformValues(MERGE_UNIFORMS, {epsilon: attrs.epsilon});
  const {gamma, beta} = inputs;
  const params = [gamma, beta].filter((t): t is TensorInfo => t != null);
  const intermediates: TensorInfo[] = [];
  try {
    const x = viewOf(backend, inputs.x, geometry, intermediates);
    let y: TensorInfo;
    let mean: TensorInfo;
    let invStd: TensorInfo;
    if (geometry.packed) {
      const partials = runIntermediate(
        backend,
        new PackedChunkMomentsProgram(geometry, chunking),
        [x],
        intermediates,
      );
      const rows = runIntermediate(
        backend,
        new PackedMergeMomentsProgram(geometry, chunking, gamma != null, beta != null),
        [partials, x, ...params],
        intermediates,
        uniforms,
      );
      mean = backend.runWebGLProgram(
        new PackedStatOutputProgram(geometry, 'mean'),
        [rows],
        'float32',
      );
      invStd = backend.runWebGLProgram(
        new PackedStatOutputProgram(geometry, 'invStd'),
        [rows],
        'float32',
      );
      y = backend.runWebGLProgram(new PackedNormalizeProgram(geometry), [x, rows], 'float32');
    } else {
      const partials = runIntermediate(
        backend,
        new ChunkMomentsProgram(geometry, chunking),
        [x],
        intermediates,
      );
      const stats = runIntermediate(
        backend,
        new MergeMomentsProgram(geometry, chunking),
        [partials],
        intermediates,
        uniforms,
      );
      mean = backend.runWebGLProgram(new StatOutputProgram(geometry, 'mean'), [stats], 'float32');
      invStd = backend.runWebGLProgram(
        new StatOutputProgram(geometry, 'invStd'),
        [stats],
        'float32',
      );
      y = backend.runWebGLProgram(
        new NormalizeProgram(geometry, gamma != null, beta != null),
        [x, stats, ...params],
        'float32',
      );
    }
    return [withShape(y, inputs.x.shape), mean, invStd];
  } finally {
    disposeAll(backend, intermediates);
  }
}

export const instanceNormWebGLConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'webgl',
  kernelFunc: instanceNormWebGL as unknown as KernelFunc,
};
