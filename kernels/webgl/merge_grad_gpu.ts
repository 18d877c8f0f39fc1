import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {gradMergeSnippets} from './merge_snippets';
import {Chunking, COEFFICIENT_ROWS, Geometry} from './plan';

/**
 * Gradient merge, unpacked: `[N, COEFFICIENT_ROWS, C]`, per channel the
 * group's shift U - Xg * V and slope V (gradTermsSnippet), and the channel's
 * dbeta and dgamma of one instance. Its inputs are read packed (gamma too).
 */
export class MergeGradProgram implements GPGPUProgram {
  packedInputs = true;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking, hasGamma: boolean) {
    const {batch, channels, spatial} = geometry.layout;
    this.outputShape = [batch, COEFFICIENT_ROWS.perInstance, channels];
    this.variableNames = hasGamma ? ['partials', 'gamma'] : ['partials'];
    this.userCode = `
      ${gradMergeSnippets(geometry, chunking, hasGamma)}
      void main() {
        ivec3 coords = getOutputCoords();
        int n = coords.x;
        int row = coords.y;
        int c = coords.z;
        vec3 terms = groupGradTerms(n, c / ${geometry.channelsPerGroup});
        if (row == ${COEFFICIENT_ROWS.shift}) {
          setOutput(terms.x - terms.z * terms.y);
        } else if (row == ${COEFFICIENT_ROWS.slope}) {
          setOutput(terms.y);
        } else {
          vec3 means = channelGradMeans(n, c);
          float sum = row == ${COEFFICIENT_ROWS.dbeta} ? means.x : means.y - terms.z * means.x;
          setOutput(sum * ${spatial}.0);
        }
      }`;
  }
}
