import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {COEFFICIENT_ROWS, Geometry} from './plan';

/** dgamma or dbeta `[C]`, unpacked: the merge's rows added over instances. */
export class ParamGradProgram implements GPGPUProgram {
  variableNames = ['coefficients'];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, which: 'dgamma' | 'dbeta') {
    this.outputShape = [geometry.layout.channels];
    this.userCode = `
      void main() {
        int c = getOutputCoords();
        float total = 0.0;
        for (int n = 0; n < ${geometry.layout.batch}; n++) {
          total += getCoefficients(n, ${COEFFICIENT_ROWS[which]}, c);
        }
        setOutput(total);
      }`;
  }
}
