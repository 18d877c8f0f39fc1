import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {paramNames} from './merge_moments_gpu';
import {forwardMergeSnippet, packedMergeMain} from './merge_snippets';
import {FORWARD_ROWS, Plan} from './plan';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Forward merge, packed: `[N * FORWARD_ROWS.count, C]` (2-D: cheaper samplers),
 * per channel scale and shift, the pivot and the outputs (mean,
 * invStd) of its group, a texel holding two rows of two channels; the
 * pivots read from x. The elementwise pass is then
 * y = act((x - pivot) * scale + shift): two texel reads for four outputs,
 * and no cancellation at large offsets.
 */
export class PackedMergeMomentsProgram implements GPGPUProgram {
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    const {batch, channels} = plan.geometry;
    this.outputShape = [batch * FORWARD_ROWS.count, channels];
    this.variableNames = ['partials', 'x', ...paramNames(plan)];
    this.userCode = `
      ${forwardMergeSnippet(plan)}
      ${packedMergeMain(plan, FORWARD_ROWS.count)}`;
  }
}
