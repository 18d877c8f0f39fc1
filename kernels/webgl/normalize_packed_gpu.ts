import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {FORWARD_ROWS, Geometry} from './plan';
import {rowsTexel, texelPass} from './texel_snippets';

/** Forward normalize-and-affine, packed: y = (x - pivot) * scale + offset. */
export class PackedNormalizeProgram implements GPGPUProgram {
  variableNames = ['x', 'stats'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry) {
    this.outputShape = geometry.viewShape;
    this.userCode = texelPass(
      geometry,
      FORWARD_ROWS.perInstance,
      `
        vec4 affine = ${rowsTexel('stats', FORWARD_ROWS.affine)};
        vec4 pivot = spread(${rowsTexel('stats', FORWARD_ROWS.pivot)}, c, false);
        vec4 x = getXAtOutCoords();
        setOutput((x - pivot) * spread(affine, c, false) + spread(affine, c, true));`,
    );
  }
}
