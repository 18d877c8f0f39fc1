import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {GRAD_ROWS, Plan} from './plan';

/**
 * dgamma or dbeta, unpacked, from the rows GRAD_ROWS.dgamma / dbeta of the gradient
 * merge: `[C]`, added over instances, or `[N, C]` for a per-instance gamma
 * or beta.
 */
export class ParamGradProgram implements GPGPUProgram {
  variableNames = ['coefficients'];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan, which: 'dgamma' | 'dbeta') {
    const {batch, channels} = plan.geometry;
    const {count} = GRAD_ROWS;
    const row = GRAD_ROWS[which];
    const perInstanceOutput =
      plan.attributes[which === 'dgamma' ? 'gamma' : 'beta'] === 'perInstance';
    this.outputShape = perInstanceOutput ? [batch, channels] : [channels];
    this.userCode = perInstanceOutput
      ? `
      void main() {
        ivec2 coords = getOutputCoords();
        setOutput(getCoefficients(coords.x * ${count} + ${row}, coords.y));
      }`
      : `
      void main() {
        int c = getOutputCoords();
        float total = 0.0;
        for (int n = 0; n < ${batch}; n++) {
          total += getCoefficients(n * ${count} + ${row}, c);
        }
        setOutput(total);
      }`;
  }
}
