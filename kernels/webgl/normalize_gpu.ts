import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {FORWARD_ROWS, Plan} from './plan';
import {viewCoordsSnippet} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Forward elementwise pass, unpacked: y = act((x - pivot) * scale + shift)
 * from the merge's rows; x - pivot rather than x - mean, whose float32
 * rounding at an offset of 1e4 is ~5e-4.
 */
export class NormalizeProgram implements GPGPUProgram {
  variableNames = ['x', 'stats'];
  customUniforms = NORM_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan) {
    this.outputShape = plan.view.viewShape;
    const row = (index: number) => `getStats(n * ${FORWARD_ROWS.count} + ${index}, c)`;
    const {scale, shift, pivot} = FORWARD_ROWS;
    this.userCode = `
      ${activationSnippet(plan.attributes.activation)}
      void main() {
        ${viewCoordsSnippet(plan)}
        float z = (getXAtOutCoords() - ${row(pivot)}) * ${row(scale)} + ${row(shift)};
        setOutput(activate(z));
      }`;
  }
}
