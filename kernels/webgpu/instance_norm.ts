import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {
  InstanceNorm,
  InstanceNormAttrs,
  InstanceNormInputs,
  kernelConfig,
} from '../../src/kernel_names';
import {backendInternals} from './backend_seam';
import {runPasses} from './dispatch';
import {
  fusedNormalizeProgram,
  FUSED_NORMALIZE_UNIFORMS,
  fusedValues,
} from './fused_normalize_program';
import {MOMENT_FIELDS, momentsProgram} from './moments_program';
import {normalizeProgram, NORMALIZE_UNIFORMS} from './normalize_program';
import {onePassProgram, ONE_PASS_UNIFORMS} from './one_pass_program';
import {programOf} from './program_cache';
import {canMergeGroups, planElementwise, planFused, planOnePass} from './plan';
import {foldValues, TILING_UNIFORMS, tilingValues} from './program_kinds';
import {forwardByOps} from './public_path';
import {NORMALIZE_ROWS, statisticsProgram, STATISTICS_UNIFORMS} from './statistics_program';
import {callPlanning} from './signature_memo';
import {uniformValues} from './uniforms';

/**
 * One dispatch when each (n, group) is small (a workgroup each); else two:
 * the partial moments of x; y with the statistics folded per workgroup (and
 * mean and invStd, the saved outputs). Where the budget has no fused pass,
 * three: the partial moments; the statistics and the per-(n, c) scale and
 * shift; y.
 */
function instanceNormWebGPU(args: {
  inputs: InstanceNormInputs;
  backend: WebGPUBackend;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {x, gamma, beta} = inputs;
  const {budget, memo, geometry, attributes} = callPlanning(
    InstanceNorm,
    backend,
    x,
    gamma,
    beta,
    attrs,
  );
  const {batch, groups, channels} = geometry;
  if (x.shape.some(d => d === 0)) {
    // With S == 0 but N, C > 0 the statistics are the cpu kernel's (mean 0, variance 0).
    const invStd =
      attributes.epsilonMode === 'stddev' ? 1 / attrs.epsilon : 1 / Math.sqrt(attrs.epsilon);
    return [
      backend.makeTensorInfo(x.shape, 'float32', new Float32Array(0)),
      backend.makeTensorInfo([batch, groups], 'float32', new Float32Array(batch * groups)),
      backend.makeTensorInfo(
        [batch, groups],
        'float32',
        new Float32Array(batch * groups).fill(invStd),
      ),
    ];
  }
  const internals = backendInternals(backend);
  if (internals == null) return forwardByOps(inputs, attributes, geometry);
  const params = [gamma, beta].filter((p): p is TensorInfo => p != null);
  const onePass = memo('onePass', () => planOnePass(geometry, budget));
  if (onePass != null) {
    return runPasses(backend, internals, run =>
      run(
        memo('onePassProgram', () => programOf(onePassProgram, geometry, onePass, attributes)),
        [x, ...params],
        [x.shape, [batch, groups], [batch, groups]],
        memo('onePassUniforms', () =>
          uniformValues(ONE_PASS_UNIFORMS, {...geometry, ...attributes}),
        ),
      ),
    );
  }
  // A group norm's moments are merged per group in the reduction where a
  // tile can hold whole groups: its folds then read one column per group.
  const plan = memo('plan', () =>
    planFused(geometry, budget, MOMENT_FIELDS, canMergeGroups(geometry)),
  );
  const {tiling} = plan;
  return runPasses(backend, internals, run => {
    const [partials] = run(
      memo('momentsProgram', () => programOf(momentsProgram, tiling)),
      [x],
      [[batch, tiling.splits, MOMENT_FIELDS, tiling.partials.partialColumns]],
      memo('momentsUniforms', () => uniformValues(TILING_UNIFORMS, tilingValues(tiling))),
    );
    if (plan.fused) {
      return run(
        memo('fusedProgram', () => programOf(fusedNormalizeProgram, geometry, plan, attributes)),
        [partials, x, ...params],
        [x.shape, [batch, groups], [batch, groups]],
        memo('fusedUniforms', () =>
          uniformValues(FUSED_NORMALIZE_UNIFORMS, fusedValues(geometry, plan, attributes)),
        ),
      );
    }
    const [mean, invStd, coefficients] = run(
      memo('statisticsProgram', () =>
        programOf(statisticsProgram, geometry, budget.foldLanes, attributes),
      ),
      [partials, x, ...params],
      [
        [batch, groups],
        [batch, groups],
        [batch, NORMALIZE_ROWS.count, channels],
      ],
      memo('statisticsUniforms', () =>
        uniformValues(STATISTICS_UNIFORMS, {...foldValues(geometry, tiling), ...attributes}),
      ),
    );
    const elementwise = memo('elementwise', () => planElementwise(geometry, budget));
    const [y] = run(
      memo('normalizeProgram', () =>
        programOf(normalizeProgram, geometry, elementwise, attributes),
      ),
      [x, coefficients],
      [x.shape],
      memo('normalizeUniforms', () =>
        uniformValues(NORMALIZE_UNIFORMS, {...geometry, ...attributes, units: elementwise.units}),
      ),
    );
    return [y, mean, invStd];
  });
}

export const instanceNormWebGPUConfig = kernelConfig(InstanceNorm, 'webgpu', instanceNormWebGPU);
