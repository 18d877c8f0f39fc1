import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {FORWARD_ROWS, Plan} from './plan';

/**
 * The `[N, groups]` output mean or invStd of the forward, unpacked, from the
 * rows FORWARD_ROWS.mean and invStd of the merge at each group's first
 * channel.
 */
export class StatOutputProgram implements GPGPUProgram {
  variableNames = ['stats'];
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan, which: 'mean' | 'invStd') {
    const {batch, groups, channelsPerGroup} = plan.geometry;
    this.outputShape = [batch, groups];
    const row = FORWARD_ROWS[which];
    this.userCode = `
      void main() {
        ivec2 coords = getOutputCoords();
        setOutput(getStats(coords.x * ${FORWARD_ROWS.count} + ${row},
                           coords.y * ${channelsPerGroup}));
      }`;
  }
}
