import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {chooseChunking, ChunkMomentsProgram, MergeMomentsProgram, NormalizeProgram, StatOutputProgram} from './programs';
import {disposeAll, view3d, withShape} from './util';

/**
 * Five draws: chunk moments, merge (shifted mean and invStd), the mean and
 * invStd outputs, and the elementwise normalize-and-affine. x is read twice
 * in full (chunk pass, normalize); the other draws touch N*C values.
 */
function instanceNormWebGL(args: {
  inputs: InstanceNormInputs,
  backend: MathBackendWebGL,
  attrs: InstanceNormAttrs
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {epsilon, dataFormat} = attrs;
  const layout = instanceNormLayout(inputs.x.shape, dataFormat);
  const intermediates: TensorInfo[] = [];
  const x = view3d(backend, inputs.x, layout, intermediates);
  const chunking = chooseChunking(layout.spatial);

  // The partials stay packed even when WEBGL_LAZILY_UNPACK is off
  // (WEBGL_PACK=false): the merge reads them as RGBA texels.
  const partials = backend.runWebGLProgram(
      new ChunkMomentsProgram(layout, chunking), [x], 'float32', undefined, true);
  intermediates.push(partials);
  const stats = backend.runWebGLProgram(
      new MergeMomentsProgram(layout, chunking), [partials], 'float32', [[epsilon]]);
  intermediates.push(stats);
  const mean = backend.runWebGLProgram(new StatOutputProgram(layout, 'mean'), [stats, x], 'float32');
  const invStd = backend.runWebGLProgram(new StatOutputProgram(layout, 'invStd'), [stats], 'float32');
  const params = [inputs.gamma, inputs.beta].filter((t): t is TensorInfo => t != null);
  const y = backend.runWebGLProgram(
      new NormalizeProgram(layout, inputs.gamma != null, inputs.beta != null),
      [x, stats, ...params], 'float32');
  disposeAll(backend, intermediates);
  return [withShape(y, inputs.x.shape), mean, invStd];
}

export const instanceNormWebGLConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'webgl',
  kernelFunc: instanceNormWebGL as unknown as KernelFunc,
};
