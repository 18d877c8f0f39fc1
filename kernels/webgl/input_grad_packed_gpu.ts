import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {GRAD_ROWS, Plan} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/**
 * dx = scale * (dz - meanDz) + centredIntercept - xhatFactor * xhat, packed,
 * from the rows of the gradient merge (GRAD_ROWS), a pair of rows a texel.
 */
export class PackedInputGradProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'coefficients'];
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    // The texel of a pair of rows, named after its two terms.
    const pair = (name: string, first: 'scale' | 'xhatFactor' | 'mean' | 'gamma') =>
      `vec4 ${name} = ${rowsTexel('coefficients', GRAD_ROWS[first])};`;
    const linear = plan.attributes.activation === 'linear';
    const gradient = linear
      ? 'getDyAtOutCoords()'
      : `getDyAtOutCoords() *
         activateGrad4(xhat * spread(gammaBeta, c, false) + spread(gammaBeta, c, true))`;
    // One pixel per channel: meanDz is dz itself, and its float16 rounding
    // must not leave scale * (dz - meanDz) nonzero.
    const ownTerm =
      plan.geometry.spatial === 1
        ? 'vec4(0.0)'
        : 'spread(scaleCentredIntercept, c, false) * (gradient - spread(xhatFactorMeanDz, c, true))';
    this.userCode = texelPass(
      plan,
      GRAD_ROWS.count,
      `
        ${pair('scaleCentredIntercept', 'scale')}
        ${pair('xhatFactorMeanDz', 'xhatFactor')}
        ${pair('meanInvStd', 'mean')}
        ${linear ? '' : pair('gammaBeta', 'gamma')}
        vec4 xhat = (getXAtOutCoords() - spread(meanInvStd, c, false)) * spread(meanInvStd, c, true);
        vec4 gradient = ${gradient};
        setOutput(${ownTerm} + spread(scaleCentredIntercept, c, true) - spread(xhatFactorMeanDz, c, false) * xhat);`,
      activationSnippet(plan.attributes.activation),
    );
  }
}
