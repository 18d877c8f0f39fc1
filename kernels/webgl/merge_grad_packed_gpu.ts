import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {gradMergeSnippets, packedMergeMain} from './merge_snippets';
import {Chunking, Geometry, GRAD_ROWS} from './plan';

/**
 * Gradient merge, packed: `[N * GRAD_ROWS, C]`, per channel
 * A = gamma * invStd, E = invStd * (U - Xg * V), F = invStd * V, the saved
 * mean and invStd (gradTermsSnippet), and dbeta, dgamma of one instance.
 * Then dx = A * dy - E - ((x - mean) * invStd) * F, and dbeta, dgamma are
 * added over instances. Every row is bounded by |dy| * invStd-sized terms:
 * float16-safe.
 */
export class PackedMergeGradProgram implements GPGPUProgram {
  packedInputs = true;
  packedOutput = true;
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(geometry: Geometry, chunking: Chunking, hasGamma: boolean) {
    const {batch, channels, spatial} = geometry.layout;
    this.outputShape = [batch * GRAD_ROWS.perInstance, channels];
    this.variableNames = ['partials', 'mean', 'invStd'];
    if (hasGamma) this.variableNames.push('gamma');
    this.userCode = `
      ${gradMergeSnippets(geometry, chunking, hasGamma)}
      vec4 groupStats(int n, int group) {
        vec3 terms = groupGradTerms(n, group);
        return vec4(terms, pick2d(getInvStd(n, group), n, group));
      }
      vec2 rowPair(int n, int c, int row, vec4 stats) {
        float invStd = stats.w;
        if (row == ${GRAD_ROWS.slopes}) {
          return vec2(gammaOf(c) * invStd, invStd * (stats.x - stats.z * stats.y));
        }
        if (row == ${GRAD_ROWS.centre}) {
          int group = c / ${geometry.channelsPerGroup};
          return vec2(invStd * stats.y, pick2d(getMean(n, group), n, group));
        }
        if (row == ${GRAD_ROWS.invStd}) {
          return vec2(invStd, 0.0);
        }
        vec3 means = channelGradMeans(n, c);
        return vec2(means.x, means.y - stats.z * means.x) * ${spatial}.0;
      }
      ${packedMergeMain(geometry, GRAD_ROWS.perInstance)}`;
  }
}
