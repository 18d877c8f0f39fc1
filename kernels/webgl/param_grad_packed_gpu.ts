import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {Geometry, GRAD_ROWS} from './plan';

/** dgamma or dbeta `[C]`, packed: rows GRAD_ROWS.params of the merge added over instances. */
export class PackedParamGradProgram implements GPGPUProgram {
  variableNames = ['coefficients'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, which: 'dgamma' | 'dbeta') {
    this.outputShape = [geometry.layout.channels];
    const {perInstance, params} = GRAD_ROWS;
    this.userCode = `
      void main() {
        int c = getOutputCoords();
        vec2 total = vec2(0.0);
        for (int n = 0; n < ${geometry.layout.batch}; n++) {
          total += getCoefficients(n * ${perInstance} + ${params}, c).${
            which === 'dgamma' ? 'zw' : 'xy'
          };
        }
        setOutput(vec4(total, 0.0, 0.0));
      }`;
  }
}
