import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {FORWARD_ROWS, Plan} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/** Forward elementwise pass, packed: y = act((x - pivot) * scale + shift), a texel at a time. */
export class PackedNormalizeProgram implements GPGPUProgram {
  variableNames = ['x', 'stats'];
  packedInputs = true;
  packedOutput = true;
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const scaleShift = rowsTexel('stats', FORWARD_ROWS.scale);
    const pivot = rowsTexel('stats', FORWARD_ROWS.pivot);
    const z =
      '(getXAtOutCoords() - spread(pivot, c, false)) * spread(scaleShift, c, false) + spread(scaleShift, c, true)';
    const y = plan.attributes.activation === 'linear' ? z : `activate4(${z})`;
    this.userCode = texelPass(
      plan,
      FORWARD_ROWS.count,
      `
        vec4 scaleShift = ${scaleShift};
        vec4 pivot = ${pivot};
        setOutput(${y});`,
      activationSnippet(plan.attributes.activation),
    );
  }
}
