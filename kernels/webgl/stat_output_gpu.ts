import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {Geometry, STATS_ROWS} from './plan';

/** The `[N, groups]` output mean or invStd of the forward, unpacked. */
export class StatOutputProgram implements GPGPUProgram {
  variableNames = ['stats'];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, which: 'mean' | 'invStd') {
    this.outputShape = [geometry.layout.batch, geometry.groups];
    const row = (name: keyof typeof STATS_ROWS) => `getStats(n, ${STATS_ROWS[name]}, group)`;
    const value = which === 'mean' ? `${row('pivot')} + ${row('shiftedMean')}` : row('invStd');
    this.userCode = `
      void main() {
        ivec2 coords = getOutputCoords();
        int n = coords.x;
        int group = coords.y;
        setOutput(${value});
      }`;
  }
}
