import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {GRAD_ROWS, Plan} from './plan';

/**
 * dgamma or dbeta, packed, from the rows GRAD_ROWS.dgamma / dbeta of the gradient
 * merge: `[C]`, added over instances, or `[N, C]` for a per-instance gamma
 * or beta.
 */
export class PackedParamGradProgram implements GPGPUProgram {
  variableNames = ['coefficients'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan, which: 'dgamma' | 'dbeta') {
    const {batch, channels} = plan.geometry;
    const {count} = GRAD_ROWS;
    // A texel holds a pair of rows (even, odd): the even one in x, y, the odd one in z, w.
    const row = GRAD_ROWS[which];
    const pairRow = row - (row % 2);
    const lanes = row % 2 === 1 ? 'zw' : 'xy';
    const perInstanceOutput =
      plan.attributes[which === 'dgamma' ? 'gamma' : 'beta'] === 'perInstance';
    this.outputShape = perInstanceOutput ? [batch, channels] : [channels];
    // Per instance: texel (n..n+1, c..c+1); at an odd N the second row is padding.
    this.userCode = perInstanceOutput
      ? `
      vec2 rowOf(int n, int c) {
        return getCoefficients(n * ${count} + ${pairRow}, c).${lanes};
      }
      void main() {
        ivec2 coords = getOutputCoords();
        vec2 first = rowOf(coords.x, coords.y);
        vec2 second = coords.x + 1 < ${batch} ? rowOf(coords.x + 1, coords.y) : vec2(0.0);
        setOutput(vec4(first, second));
      }`
      : `
      void main() {
        int c = getOutputCoords();
        vec2 total = vec2(0.0);
        for (int n = 0; n < ${batch}; n++) {
          total += getCoefficients(n * ${count} + ${pairRow}, c).${lanes};
        }
        setOutput(vec4(total, 0.0, 0.0));
      }`;
  }
}
