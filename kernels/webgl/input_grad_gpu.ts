import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {GRAD_ROWS, Plan} from './plan';
import {viewCoordsSnippet} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/**
 * dx = scale * (dz - meanDz) + centredIntercept - xhatFactor * xhat, unpacked,
 * from the rows of the gradient merge (GRAD_ROWS).
 */
export class InputGradProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'coefficients'];
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const row = (index: number) => `getCoefficients(n * ${GRAD_ROWS.count} + ${index}, c)`;
    const {scale, centredIntercept, xhatFactor, meanDz, mean, invStd, gamma, beta} = GRAD_ROWS;
    const gradient =
      plan.attributes.activation === 'linear'
        ? 'getDyAtOutCoords()'
        : `getDyAtOutCoords() * activateGrad(xhat * ${row(gamma)} + ${row(beta)})`;
    // One pixel per channel: meanDz is dz itself, and its float16 rounding
    // must not leave scale * (dz - meanDz) nonzero.
    const ownTerm =
      plan.geometry.spatial === 1 ? '0.0' : `${row(scale)} * (gradient - ${row(meanDz)})`;
    this.userCode = `
      ${activationSnippet(plan.attributes.activation)}
      void main() {
        ${viewCoordsSnippet(plan)}
        float xhat = (getXAtOutCoords() - ${row(mean)}) * ${row(invStd)};
        float gradient = ${gradient};
        setOutput(${ownTerm} + ${row(centredIntercept)} - ${row(xhatFactor)} * xhat);
      }`;
  }
}
