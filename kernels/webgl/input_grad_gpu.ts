import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {GRAD_ROWS, Plan} from './plan';
import {viewCoordsSnippet} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/** dx = G * (dz - A) + E - F * xhat, unpacked, from the rows of the gradient merge. */
export class InputGradProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'coefficients'];
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const row = (offset: number) => `getCoefficients(n * ${GRAD_ROWS.perInstance} + ${offset}, c)`;
    const {slopes, centre, stats, affine} = GRAD_ROWS;
    const gradient =
      plan.block.activation === 'linear'
        ? 'getDyAtOutCoords()'
        : `getDyAtOutCoords() * activateGrad(xhat * ${row(affine)} + ${row(affine + 1)})`;
    // One pixel per channel: A, the channel's mean of dz, is dz itself, and
    // its float16 rounding must not leave G * (dz - A) nonzero.
    const ownTerm =
      plan.geometry.spatial === 1 ? '0.0' : `${row(slopes)} * (gradient - ${row(centre + 1)})`;
    this.userCode = `
      ${activationSnippet(plan.block.activation)}
      void main() {
        ${viewCoordsSnippet(plan)}
        float xhat = (getXAtOutCoords() - ${row(stats)}) * ${row(stats + 1)};
        float gradient = ${gradient};
        setOutput(${ownTerm} + ${row(slopes + 1)} - ${row(centre)} * xhat);
      }`;
  }
}
