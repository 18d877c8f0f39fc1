import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {FORWARD_ROWS, Geometry} from './plan';
import {texelChannelSnippet} from './texel_snippets';

/** Forward normalize-and-affine, packed: y = (x - pivot) * scale + offset. */
export class PackedNormalizeProgram implements GPGPUProgram {
  variableNames = ['x', 'stats'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry) {
    this.outputShape = geometry.viewShape;
    const rows = (name: 'affine' | 'pivot') =>
      `getStats(first + ${FORWARD_ROWS[name]}, c - imod(c, 2))`;
    this.userCode = `
      ${texelChannelSnippet(geometry)}
      void main() {
        ivec2 instanceChannel = texelInstanceChannel(getOutputCoords());
        int first = instanceChannel.x * ${FORWARD_ROWS.perInstance};
        int c = instanceChannel.y;
        vec4 affine = ${rows('affine')};
        vec4 pivot = spread(${rows('pivot')}, c, false);
        vec4 x = getXAtOutCoords();
        setOutput((x - pivot) * spread(affine, c, false) + spread(affine, c, true));
      }`;
  }
}
