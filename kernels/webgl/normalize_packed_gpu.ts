import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {FORWARD_ROWS, Plan} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/** Forward elementwise pass, packed: y = act((x - pivot) * scale + offset), a texel at a time. */
export class PackedNormalizeProgram implements GPGPUProgram {
  variableNames = ['x', 'stats'];
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const affine = rowsTexel('stats', FORWARD_ROWS.affine);
    const pivot = rowsTexel('stats', FORWARD_ROWS.pivot);
    const z =
      '(getXAtOutCoords() - spread(pivot, c, false)) * spread(affine, c, false) + spread(affine, c, true)';
    const y = plan.block.activation === 'linear' ? z : `activate4(${z})`;
    this.userCode = texelPass(
      plan,
      FORWARD_ROWS.perInstance,
      `
        vec4 affine = ${affine};
        vec4 pivot = ${pivot};
        setOutput(${y});`,
      activationSnippet(plan.block.activation),
    );
  }
}
