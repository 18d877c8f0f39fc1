import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {paramNames} from './merge_moments_gpu';
import {gradMergeSnippet, packedMergeMain} from './merge_snippets';
import {GRAD_ROWS, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Gradient merge, packed: `[N * GRAD_ROWS.count, C]`, a texel holding two rows of
 * two channels (the rows of gradMergeSnippet); the group's mean and invStd
 * read from the saved statistics.
 */
export class PackedMergeGradProgram implements GPGPUProgram {
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    const {batch, channels} = plan.geometry;
    this.outputShape = [batch * GRAD_ROWS.count, channels];
    this.variableNames = ['partials', 'mean', 'invStd', ...paramNames(plan)];
    this.userCode = `
      ${gradMergeSnippet(plan)}
      ${packedMergeMain(plan, GRAD_ROWS.count)}`;
  }
}
