import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {activationSnippet} from './activation_snippet';
import {FORWARD_ROWS, Plan} from './plan';
import {viewCoordsSnippet} from './texel_snippets';
import {NORM_UNIFORMS} from './uniforms';

/**
 * Forward elementwise pass, unpacked: y = act((x - pivot) * scale + offset)
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
    const row = (offset: number) => `getStats(n * ${FORWARD_ROWS.perInstance} + ${offset}, c)`;
    const {affine, pivot} = FORWARD_ROWS;
    this.userCode = `
      ${activationSnippet(plan.block.activation)}
      void main() {
        ${viewCoordsSnippet(plan)}
        float z = (getXAtOutCoords() - ${row(pivot)}) * ${row(affine)} + ${row(affine + 1)};
        setOutput(activate(z));
      }`;
  }
}
