import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {GRAD_ROWS, Plan} from './plan';

/**
 * dgamma or dbeta, unpacked, from the rows GRAD_ROWS.params of the gradient
 * merge: `[C]`, added over instances, or `[N, C]` for a per-instance gamma
 * or beta.
 */
export class ParamGradProgram implements GPGPUProgram {
  variableNames = ['coefficients'];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan, which: 'dgamma' | 'dbeta') {
    const {batch, channels} = plan.geometry;
    const {perInstance, params} = GRAD_ROWS;
    const row = `${params} + ${which === 'dgamma' ? 1 : 0}`;
    const perInstanceOutput = plan.block[which === 'dgamma' ? 'gamma' : 'beta'] === 'perInstance';
    this.outputShape = perInstanceOutput ? [batch, channels] : [channels];
    this.userCode = perInstanceOutput
      ? `
      void main() {
        ivec2 coords = getOutputCoords();
        setOutput(getCoefficients(coords.x * ${perInstance} + ${row}, coords.y));
      }`
      : `
      void main() {
        int c = getOutputCoords();
        float total = 0.0;
        for (int n = 0; n < ${batch}; n++) {
          total += getCoefficients(n * ${perInstance} + ${row}, c);
        }
        setOutput(total);
      }`;
  }
}
