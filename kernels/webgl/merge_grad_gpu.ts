import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {paramNames} from './merge_moments_gpu';
import {gradMergeSnippet, mergeMain} from './merge_snippets';
import {GRAD_ROWS, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient merge, unpacked: `[N * GRAD_ROWS, C]`, one value a fragment (the
 * rows of gradMergeSnippet). Its inputs are read packed; the group's mean
 * and invStd come from the chunk pass's second set of rows.
 */
export class MergeGradProgram implements GPGPUProgram {
  packedInputs = true;
  customUniforms = NORM_UNIFORMS;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    const {batch, channels} = plan.geometry;
    this.outputShape = [batch * GRAD_ROWS.perInstance, channels];
    this.variableNames = ['partials', ...paramNames(plan)];
    this.userCode = `
      ${gradMergeSnippet(plan)}
      ${mergeMain(plan, GRAD_ROWS.perInstance)}`;
  }
}
