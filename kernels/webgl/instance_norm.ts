import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {
  ChunkMomentsProgram,
  MergeMomentsProgram,
  NormalizeProgram,
  PackedMergeMomentsProgram,
  PackedNormalizeProgram,
  PackedStatOutputProgram,
  StatOutputProgram,
} from './programs';
import {disposeAll, planFor, viewOf, withShape} from './util';

/**
 * Five draws: chunk moments, their merge into per-(instance, channel) rows,
 * the mean and invStd outputs, and the elementwise normalize-and-affine. x
 * is read twice in full (chunk pass, normalize); the other draws touch
 * N*C values (times the number of chunks for the merge).
 */
function instanceNormWebGL(args: {
  inputs: InstanceNormInputs;
  backend: MathBackendWebGL;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {epsilon, dataFormat} = attrs;
  const {g, chunking} = planFor(backend, inputs.x, dataFormat);
  const {layout} = g;
  const intermediates: TensorInfo[] = [];
  const x = viewOf(backend, inputs.x, g, intermediates);

  // Intermediates stay packed even when WEBGL_LAZILY_UNPACK is off
  // (WEBGL_PACK=false): the next program reads them as RGBA texels.
  const keepPacked = true;
  const partials = backend.runWebGLProgram(
    new ChunkMomentsProgram(g, chunking),
    [x],
    'float32',
    undefined,
    keepPacked,
  );
  intermediates.push(partials);
  const params = [inputs.gamma, inputs.beta].filter((t): t is TensorInfo => t != null);
  const hasGamma = inputs.gamma != null;
  const hasBeta = inputs.beta != null;
  let y: TensorInfo;
  let mean: TensorInfo;
  let invStd: TensorInfo;
  if (g.packed) {
    const rows = backend.runWebGLProgram(
      new PackedMergeMomentsProgram(g, chunking, hasGamma, hasBeta),
      [partials, x, ...params],
      'float32',
      [[epsilon]],
      keepPacked,
    );
    intermediates.push(rows);
    mean = backend.runWebGLProgram(new PackedStatOutputProgram(layout, 'mean'), [rows], 'float32');
    invStd = backend.runWebGLProgram(
      new PackedStatOutputProgram(layout, 'invStd'),
      [rows],
      'float32',
    );
    y = backend.runWebGLProgram(new PackedNormalizeProgram(g), [x, rows], 'float32');
  } else {
    const stats = backend.runWebGLProgram(
      new MergeMomentsProgram(g, chunking),
      [partials],
      'float32',
      [[epsilon]],
    );
    intermediates.push(stats);
    mean = backend.runWebGLProgram(new StatOutputProgram(layout, 'mean'), [stats], 'float32');
    invStd = backend.runWebGLProgram(new StatOutputProgram(layout, 'invStd'), [stats], 'float32');
    y = backend.runWebGLProgram(
      new NormalizeProgram(layout, hasGamma, hasBeta),
      [x, stats, ...params],
      'float32',
    );
  }
  disposeAll(backend, intermediates);
  return [withShape(y, inputs.x.shape), mean, invStd];
}

export const instanceNormWebGLConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'webgl',
  kernelFunc: instanceNormWebGL as unknown as KernelFunc,
};
