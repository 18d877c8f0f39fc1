import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {gradMergeSnippet, mergeMain} from './merge_snippets';
import {GRAD_ROWS, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient merge, unpacked: `[N * GRAD_ROWS.count, C]`, one value a fragment (the
 * rows of gradMergeSnippet). Reads the partials only: the group's
 * mean and invStd, gamma and beta come in their second set of rows.
 */
export class MergeGradProgram implements GPGPUProgram {
  packedInputs = true;
  customUniforms = NORM_UNIFORMS;
  variableNames = ['partials'];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    const {batch, channels} = plan.geometry;
    this.outputShape = [batch * GRAD_ROWS.count, channels];
    this.userCode = `
      ${gradMergeSnippet(plan)}
      ${mergeMain(plan, GRAD_ROWS.count)}`;
  }
}
