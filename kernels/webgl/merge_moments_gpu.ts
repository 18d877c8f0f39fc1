import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {forwardMergeSnippet, mergeMain} from './merge_snippets';
import {FORWARD_ROWS, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Forward merge, unpacked: `[N * FORWARD_ROWS.count, C]`, one value a fragment,
 * per channel scale and shift, the pivot and the outputs (mean,
 * invStd) of its group. Reads the partials only, gamma and beta
 * included (their second set of rows).
 */
export class MergeMomentsProgram implements GPGPUProgram {
  packedInputs = true;
  customUniforms = NORM_UNIFORMS;
  variableNames = ['partials'];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    const {batch, channels} = plan.geometry;
    this.outputShape = [batch * FORWARD_ROWS.count, channels];
    this.userCode = `
      ${forwardMergeSnippet(plan)}
      ${mergeMain(plan, FORWARD_ROWS.count)}`;
  }
}

/** The gamma and beta inputs a merge reads: those present. */
export function paramNames(plan: Plan): string[] {
  const names: string[] = [];
  if (plan.attributes.gamma !== 'absent') names.push('gamma');
  if (plan.attributes.beta !== 'absent') names.push('beta');
  return names;
}
