import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  kernelConfig,
} from '../../src/kernel_names';
import {needsPreActivation} from '../common/attributes';
import {backendInternals} from './backend_seam';
import {runPasses} from './dispatch';
import {fusedInputGradProgram, FUSED_INPUT_GRAD_UNIFORMS} from './fused_input_grad_program';
import {fusedValues} from './fused_normalize_program';
import {
  GRAD_SUMS_UNIFORMS,
  gradPartialsLength,
  gradSumsProgram,
  SUM_FIELDS,
} from './grad_sums_program';
import {inputGradProgram, INPUT_GRAD_UNIFORMS} from './input_grad_program';
import {onePassGradProgram, ONE_PASS_GRAD_UNIFORMS} from './one_pass_grad_program';
import {INPUT_GRAD_ROWS, paramGradProgram, PARAM_GRAD_UNIFORMS} from './param_grad_program';
import {programOf} from './program_cache';
import {planElementwise, planFused, planOnePassGrad} from './plan';
import {foldValues, tilingValues} from './program_kinds';
import {gradientByOps} from './public_path';
import {callPlanning} from './signature_memo';
import {uniformValues} from './uniforms';

/**
 * One dispatch when each group is small over all instances (a workgroup per
 * group); else two: the partial sums of dz and x (and a copy of the saved
 * statistics); dx with the group sums folded per workgroup, and dgamma and
 * dbeta. Where the budget has no fused pass, three: the partial sums;
 * dgamma, dbeta and the per-(n, c) coefficients of dx; dx.
 */
function instanceNormGradWebGPU(args: {
  inputs: InstanceNormGradInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {dy, x, gamma, beta, mean, invStd} = inputs;
  const {budget, memo, geometry, attributes} = callPlanning(
    InstanceNormGrad,
    backend,
    x,
    gamma,
    beta,
    attrs,
  );
  const {channels} = geometry;
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
  const activated = needsPreActivation(attributes);
  const params = [gamma, beta].filter((p): p is TensorInfo => p != null);
  const read = [...(gamma ? [gamma] : []), ...(activated && beta ? [beta] : [])];
  const onePass = memo('onePass', () => planOnePassGrad(geometry, budget, 7 + read.length));
  if (onePass != null) {
    return runPasses(backend, internals, run =>
      run(
        memo('onePassProgram', () => programOf(onePassGradProgram, geometry, onePass, attributes)),
        [dy, x, mean, invStd, ...read],
        [x.shape, gammaShape, betaShape],
        memo('onePassUniforms', () =>
          uniformValues(ONE_PASS_GRAD_UNIFORMS, {...geometry, ...attributes}),
        ),
      ),
    );
  }
  const plan = memo('plan', () => planFused(geometry, budget, SUM_FIELDS));
  const {tiling} = plan;
  return runPasses(backend, internals, run => {
    const [partials] = run(
      memo('sumsProgram', () => programOf(gradSumsProgram, tiling, attributes)),
      [dy, x, mean, invStd, ...(activated ? params : [])],
      [[gradPartialsLength(tiling)]],
      memo('sumsUniforms', () =>
        uniformValues(GRAD_SUMS_UNIFORMS, {...tilingValues(tiling), ...attributes}),
      ),
    );
    if (plan.fused) {
      return run(
        memo('fusedProgram', () => programOf(fusedInputGradProgram, geometry, plan, attributes)),
        [partials, dy, x, ...read],
        [x.shape, gammaShape, betaShape],
        memo('fusedUniforms', () =>
          uniformValues(FUSED_INPUT_GRAD_UNIFORMS, fusedValues(geometry, plan, attributes)),
        ),
      );
    }
    const [dgamma, dbeta, coefficients] = run(
      memo('paramGradProgram', () =>
        programOf(paramGradProgram, geometry, budget.foldLanes, attributes),
      ),
      [partials, mean, invStd, ...read],
      [gammaShape, betaShape, [geometry.batch, INPUT_GRAD_ROWS.count, channels]],
      memo('paramGradUniforms', () =>
        uniformValues(PARAM_GRAD_UNIFORMS, {...foldValues(geometry, tiling), ...attributes}),
      ),
    );
    const elementwise = memo('elementwise', () => planElementwise(geometry, budget));
    const [dx] = run(
      memo('inputGradProgram', () =>
        programOf(inputGradProgram, geometry, elementwise, attributes),
      ),
      [dy, x, coefficients],
      [x.shape],
      memo('inputGradUniforms', () =>
        uniformValues(INPUT_GRAD_UNIFORMS, {...geometry, ...attributes, units: elementwise.units}),
      ),
    );
    return [dx, dgamma, dbeta];
  });
}

export const instanceNormGradWebGPUConfig = kernelConfig(
  InstanceNormGrad,
  'webgpu',
  instanceNormGradWebGPU,
);
