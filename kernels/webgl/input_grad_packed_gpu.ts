import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {GRAD_ROWS, Plan} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/** dx = G * (dz - A) + E - F * xhat, packed, from the rows of the gradient merge. */
export class PackedInputGradProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'coefficients'];
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const rows = (name: 'slopes' | 'centre' | 'stats' | 'affine') =>
      `vec4 ${name} = ${rowsTexel('coefficients', GRAD_ROWS[name])};`;
    const linear = plan.block.activation === 'linear';
    const gradient = linear
      ? 'getDyAtOutCoords()'
      : `getDyAtOutCoords() *
         activateGrad4(xhat * spread(affine, c, false) + spread(affine, c, true))`;
    // One pixel per channel: A, the channel's mean of dz, is dz itself, and
    // its float16 rounding must not leave G * (dz - A) nonzero.
    const ownTerm =
      plan.geometry.spatial === 1
        ? 'vec4(0.0)'
        : 'spread(slopes, c, false) * (gradient - spread(centre, c, true))';
    this.userCode = texelPass(
      plan,
      GRAD_ROWS.perInstance,
      `
        ${rows('slopes')}
        ${rows('centre')}
        ${rows('stats')}
        ${linear ? '' : rows('affine')}
        vec4 xhat = (getXAtOutCoords() - spread(stats, c, false)) * spread(stats, c, true);
        vec4 gradient = ${gradient};
        setOutput(${ownTerm} + spread(slopes, c, true) - spread(centre, c, false) * xhat);`,
      activationSnippet(plan.block.activation),
    );
  }
}
