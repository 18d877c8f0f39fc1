import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  kernelConfig,
} from '../../src/kernel_names';
import {runPasses} from './dispatch';
import {SUM_FIELDS, gradSumsProgram} from './grad_sums_program';
import {inputGradProgram} from './input_grad_program';
import {INPUT_GRAD_ROWS, paramGradProgram} from './param_grad_program';
import {workgroupBudget} from './budget';
import {geometryOf, planElementwise, planTiling} from './plan';
import {
  ELEMENTWISE_UNIFORMS,
  FOLD_UNIFORMS,
  foldValues,
  TILING_UNIFORMS,
  tilingValues,
} from './program_kinds';
import {uniformValues} from './uniforms';

/**
 * Three dispatches: the partial sums of dy and x; dgamma, dbeta and the
 * per-(n, c) coefficients of dx; dx.
 */
function instanceNormGradWebGPU(args: {
  inputs: InstanceNormGradInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {dy, x, gamma, mean, invStd} = inputs;
  const geometry = geometryOf(x.shape, attrs.dataFormat, attrs.groups, InstanceNormGrad);
  const {batch, channels} = geometry;
  if (x.shape.some(d => d === 0)) {
    return [
      backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0)),
      backend.makeTensorInfo([channels], 'float32', new Float32Array(channels)),
      backend.makeTensorInfo([channels], 'float32', new Float32Array(channels)),
    ];
  }
  const budget = workgroupBudget(backend);
  const tiling = planTiling(geometry, budget);
  const elementwise = planElementwise(geometry, budget);
  return runPasses(backend, run => {
    const [partials] = run(
      gradSumsProgram(tiling),
      [dy, x, mean, invStd],
      [[batch, tiling.splits, SUM_FIELDS, channels]],
      uniformValues(TILING_UNIFORMS, tilingValues(tiling)),
    );
    const [dgamma, dbeta, coefficients] = run(
      paramGradProgram(geometry, budget.foldLanes, gamma != null),
      [partials, mean, invStd, ...(gamma ? [gamma] : [])],
      [[channels], [channels], [batch, INPUT_GRAD_ROWS.count, channels]],
      uniformValues(FOLD_UNIFORMS, foldValues(tiling)),
    );
    const [dx] = run(
      inputGradProgram(geometry, elementwise),
      [dy, x, coefficients],
      [x.shape],
      uniformValues(ELEMENTWISE_UNIFORMS, {...geometry, units: elementwise.units}),
    );
    return [dx, dgamma, dbeta];
  });
}

export const instanceNormGradWebGPUConfig = kernelConfig(
  InstanceNormGrad,
  'webgpu',
  instanceNormGradWebGPU,
);
