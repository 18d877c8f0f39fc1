import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {momentsMergeSnippets, packedMergeMain} from './merge_snippets';
import {Chunking, FORWARD_ROWS, Geometry} from './plan';
import {MERGE_UNIFORMS} from './uniforms';

/**
 * Forward merge, packed: `[N * FORWARD_ROWS, C]` (2-D: cheaper samplers),
 * per channel the affine (scale, offset), the pivot and the outputs (mean,
 * invStd) of its group. The elementwise pass is then
 * y = (x - pivot) * scale + offset: two texel reads for four outputs, and no
 * cancellation at large offsets.
 */
export class PackedMergeMomentsProgram implements GPGPUProgram {
  packedInputs = true;
  packedOutput = true;
  customUniforms = MERGE_UNIFORMS;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking, hasGamma: boolean, hasBeta: boolean) {
    const {batch, channels} = geometry.layout;
    this.outputShape = [batch * FORWARD_ROWS.perInstance, channels];
    this.variableNames = ['partials', 'x'];
    if (hasGamma) this.variableNames.push('gamma');
    if (hasBeta) this.variableNames.push('beta');
    this.userCode = `
      ${momentsMergeSnippets(geometry, chunking, hasGamma, hasBeta)}
      vec4 groupStats(int n, int group) {
        vec3 moments = groupMoments(n, group);
        return vec4(moments.x, 1.0 / sqrt(moments.y + epsilon), moments.z, 0.0);
      }
      vec2 rowPair(int n, int c, int row, vec4 stats) {
        float scale = stats.y * gammaOf(c);
        return row == ${FORWARD_ROWS.affine} ? vec2(scale, betaOf(c) - stats.x * scale) :
               row == ${FORWARD_ROWS.pivot} ? vec2(stats.z, 0.0) : vec2(stats.z + stats.x, stats.y);
      }
      ${packedMergeMain(geometry, FORWARD_ROWS.perInstance)}`;
  }
}
