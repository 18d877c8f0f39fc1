import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {normGeometry} from '../../src/geometry';
import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  kernelConfig,
} from '../../src/kernel_names';
import {kernelAttributes, needsPreActivation} from './attributes';
import {backendInternals} from './backend_seam';
import {workgroupBudget} from './budget';
import {runPasses} from './dispatch';
import {GRAD_SUMS_UNIFORMS, SUM_FIELDS, gradSumsProgram} from './grad_sums_program';
import {inputGradProgram, INPUT_GRAD_UNIFORMS} from './input_grad_program';
import {INPUT_GRAD_ROWS, paramGradProgram, PARAM_GRAD_UNIFORMS} from './param_grad_program';
import {onePassGradProgram, ONE_PASS_GRAD_UNIFORMS} from './one_pass_grad_program';
import {planElementwise, planOnePassGrad, planTiling} from './plan';
import {foldValues, tilingValues} from './program_kinds';
import {gradientByOps} from './public_path';
import {uniformValues} from './uniforms';

/**
 * One dispatch when each group is small over all instances (a workgroup per
 * group); else three: the partial sums of dz and x; dgamma, dbeta and the
 * per-(n, c) coefficients of dx; dx.
 */
function instanceNormGradWebGPU(args: {
  inputs: InstanceNormGradInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {dy, x, gamma, beta, mean, invStd} = inputs;
  const geometry = normGeometry(x.shape, attrs.dataFormat, attrs.groups, InstanceNormGrad);
  const {batch, channels} = geometry;
  const attributes = kernelAttributes(attrs, gamma, beta);
  const gammaShape = gamma?.shape ?? [channels];
  const betaShape = beta?.shape ?? [channels];
  if (x.shape.some(d => d === 0)) {
    const zeros = (shape: number[]) =>
      backend.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, b) => a * b, 1)));
    return [
      backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0)),
      zeros(gammaShape),
      zeros(betaShape),
    ];
  }
  const internals = backendInternals(backend);
  if (internals == null) return gradientByOps(inputs, attributes, geometry);
  const budget = workgroupBudget(backend);
  const activated = needsPreActivation(attributes);
  const params = [gamma, beta].filter((p): p is TensorInfo => p != null);
  const read = [...(gamma ? [gamma] : []), ...(activated && beta ? [beta] : [])];
  const onePass = planOnePassGrad(geometry, budget, 7 + read.length);
  if (onePass != null) {
    return runPasses(backend, internals, run =>
      run(
        onePassGradProgram(geometry, onePass, attributes),
        [dy, x, mean, invStd, ...read],
        [x.shape, gammaShape, betaShape],
        uniformValues(ONE_PASS_GRAD_UNIFORMS, {...geometry, ...attributes}),
      ),
    );
  }
  const tiling = planTiling(geometry, budget);
  const elementwise = planElementwise(geometry, budget);
  return runPasses(backend, internals, run => {
    const [partials] = run(
      gradSumsProgram(tiling, attributes),
      [dy, x, mean, invStd, ...(activated ? params : [])],
      [[batch, tiling.splits, SUM_FIELDS, channels]],
      uniformValues(GRAD_SUMS_UNIFORMS, {...tilingValues(tiling), ...attributes}),
    );
    const [dgamma, dbeta, coefficients] = run(
      paramGradProgram(geometry, budget.foldLanes, attributes),
      [partials, mean, invStd, ...read],
      [gammaShape, betaShape, [batch, INPUT_GRAD_ROWS.count, channels]],
      uniformValues(PARAM_GRAD_UNIFORMS, {...foldValues(tiling), ...attributes}),
    );
    const [dx] = run(
      inputGradProgram(geometry, elementwise, attributes),
      [dy, x, coefficients],
      [x.shape],
      uniformValues(INPUT_GRAD_UNIFORMS, {...geometry, ...attributes, units: elementwise.units}),
    );
    return [dx, dgamma, dbeta];
  });
}

export const instanceNormGradWebGPUConfig = kernelConfig(
  InstanceNormGrad,
  'webgpu',
  instanceNormGradWebGPU,
);
