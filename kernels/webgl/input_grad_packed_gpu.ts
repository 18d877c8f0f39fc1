import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {Geometry, GRAD_ROWS} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';

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
      rowsTexel('coefficients', GRAD_ROWS[name]);
    this.userCode = texelPass(
      geometry,
      GRAD_ROWS.perInstance,
      `
        vec4 slopes = ${rows('slopes')};
        vec4 centre = ${rows('centre')};
        vec4 xhat = (getXAtOutCoords() - spread(centre, c, true)) *
                    spread(${rows('invStd')}, c, false);
        setOutput(spread(slopes, c, false) * getDyAtOutCoords() - spread(slopes, c, true) -
                  xhat * spread(centre, c, false));`,
    );
  }
}
