import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {COEFFICIENT_ROWS, Geometry} from './plan';
import {viewCoordsSnippet} from './texel_snippets';

/** dx = invStd * (gamma * dy - shift - xhat * slope), unpacked (MergeGradProgram). */
export class InputGradProgram implements GPGPUProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, hasGamma: boolean) {
    this.outputShape = geometry.viewShape;
    this.variableNames = ['dy', 'x', 'mean', 'invStd', 'coefficients'];
    if (hasGamma) this.variableNames.push('gamma');
    const row = (name: 'shift' | 'slope') => `getCoefficients(n, ${COEFFICIENT_ROWS[name]}, c)`;
    this.userCode = `
      void main() {
        ${viewCoordsSnippet(geometry)}
        float invStd = getInvStd(n, group);
        float xhat = (getXAtOutCoords() - getMean(n, group)) * invStd;
        float gradient = getDyAtOutCoords()${hasGamma ? ' * getGamma(c)' : ''};
        setOutput(invStd * (gradient - ${row('shift')} - xhat * ${row('slope')}));
      }`;
  }
}
