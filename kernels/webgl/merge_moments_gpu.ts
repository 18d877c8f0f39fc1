import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {momentsMergeSnippets} from './merge_snippets';
import {Chunking, Geometry, STATS_ROWS} from './plan';
import {MERGE_UNIFORMS} from './uniforms';

/** Forward merge, unpacked: `[N, STATS_ROWS, groups]`, rows mean - pivot, invStd, pivot. */
export class MergeMomentsProgram implements GPGPUProgram {
  variableNames = ['partials'];
  packedInputs = true;
  customUniforms = MERGE_UNIFORMS;
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking) {
    this.outputShape = [geometry.layout.batch, STATS_ROWS.perInstance, geometry.groups];
    this.userCode = `
      ${momentsMergeSnippets(geometry, chunking)}
      void main() {
        ivec3 coords = getOutputCoords();
        vec3 moments = groupMoments(coords.x, coords.z);
        setOutput(coords.y == ${STATS_ROWS.shiftedMean} ? moments.x :
                  coords.y == ${STATS_ROWS.invStd} ? 1.0 / sqrt(moments.y + epsilon) : moments.z);
      }`;
  }
}
