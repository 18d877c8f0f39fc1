import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {Geometry, STATS_ROWS} from './plan';
import {viewCoordsSnippet} from './texel_snippets';

/**
 * Forward normalize-and-affine, unpacked. y comes from x - pivot and the
 * shifted mean, rather than from the float32-rounded mean, which at an
 * offset of 1e4 is off by ~5e-4.
 */
export class NormalizeProgram implements GPGPUProgram {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, hasGamma: boolean, hasBeta: boolean) {
    this.outputShape = geometry.viewShape;
    this.variableNames = ['x', 'stats'];
    if (hasGamma) this.variableNames.push('gamma');
    if (hasBeta) this.variableNames.push('beta');
    const row = (name: keyof typeof STATS_ROWS) => `getStats(n, ${STATS_ROWS[name]}, group)`;
    this.userCode = `
      void main() {
        ${viewCoordsSnippet(geometry)}
        float centered = (getXAtOutCoords() - ${row('pivot')}) - ${row('shiftedMean')};
        float y = centered * ${row('invStd')};
        ${hasGamma ? 'y *= getGamma(c);' : ''}
        ${hasBeta ? 'y += getBeta(c);' : ''}
        setOutput(y);
      }`;
  }
}
