import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {Geometry, GRAD_ROWS} from './plan';
import {texelChannelSnippet} from './texel_snippets';

/** dx = A * dy - E - ((x - mean) * invStd) * F, packed (PackedMergeGradProgram). */
export class PackedInputGradProgram implements GPGPUProgram {
  variableNames = ['dy', 'x', 'coefficients'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry) {
    this.outputShape = geometry.viewShape;
    const rows = (name: 'slopes' | 'centre' | 'invStd') =>
      `getCoefficients(first + ${GRAD_ROWS[name]}, c - imod(c, 2))`;
    this.userCode = `
      ${texelChannelSnippet(geometry)}
      void main() {
        ivec2 instanceChannel = texelInstanceChannel(getOutputCoords());
        int first = instanceChannel.x * ${GRAD_ROWS.perInstance};
        int c = instanceChannel.y;
        vec4 slopes = ${rows('slopes')};
        vec4 centre = ${rows('centre')};
        vec4 invStd = spread(${rows('invStd')}, c, false);
        vec4 xhat = (getXAtOutCoords() - spread(centre, c, true)) * invStd;
        setOutput(spread(slopes, c, false) * getDyAtOutCoords() - spread(slopes, c, true) -
                  xhat * spread(centre, c, false));
      }`;
  }
}
