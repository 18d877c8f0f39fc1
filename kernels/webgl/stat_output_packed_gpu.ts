import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {FORWARD_ROWS, Plan} from './plan';

/**
 * The `[N, groups]` output mean or invStd of the forward, packed, from the
 * rows FORWARD_ROWS.mean and invStd of the merge at each group's first
 * channel.
 */
export class PackedStatOutputProgram implements GPGPUProgram {
  variableNames = ['stats'];
  packedInputs = true;
  packedOutput = true;
  outputShape: number[];
  userCode: string;

  constructor(plan: Plan, which: 'mean' | 'invStd') {
    const {batch, groups, channelsPerGroup} = plan.geometry;
    this.outputShape = [batch, groups];
    // A texel holds a pair of rows (even, odd) of channels (c, c + 1): the
    // even row in x, y, the odd one in z, w.
    const row = FORWARD_ROWS[which];
    const pairRow = row - (row % 2);
    const [even, odd] = row % 2 === 0 ? ['x', 'y'] : ['z', 'w'];
    const {count} = FORWARD_ROWS;
    // Texel (n..n+1, group..group+1); at an odd N or groups the rest is padding.
    this.userCode = `
      float statOf(int n, int group) {
        int c = group * ${channelsPerGroup};
        vec4 rows = getStats(n * ${count} + ${pairRow}, c);
        return imod(c, 2) == 1 ? rows.${odd} : rows.${even};
      }
      void main() {
        ivec2 coords = getOutputCoords();
        int n = coords.x;
        int group = coords.y;
        setOutput(vec4(statOf(n, group), statOf(n, group + 1),
                       statOf(n + 1, group), statOf(n + 1, group + 1)));
      }`;
  }
}
