/**
 * GLSL of the merges, both families: the chunk texels of the chunk passes
 * combined into per-(instance, group) terms (Chan's merge over all chunks of
 * the group's channels for the forward, gamma-weighted means for the
 * gradient), then the values of the rows of FORWARD_ROWS / GRAD_ROWS as
 * `vec2 rowPair(int n, int c, int row, vec4 stats)`, the rows (row, row + 1)
 * of channel c from `vec4 groupStats(int n, int group)`. The merges read all
 * inputs packed; the unpacked family's read the partials only.
 */
import type {ParamLayout} from '../common/attributes';
import {channelTiles, FORWARD_ROWS, GRAD_ROWS, Plan} from './plan';
import {chunkPixelsSnippet, groupStart} from './chunk_snippets';
import {firstPixelsSnippet, PICK_SNIPPET} from './texel_snippets';

/**
 * `float gammaOf(int n, int c)` and `float betaOf(int n, int c)`: 1 and 0
 * when absent; packed, from a packed `[C]` or `[N, C]` texture; unpacked,
 * from lanes z, w of the partials' second set of rows (chunk 0).
 */
export function affineSnippet(plan: Plan): string {
  const tiles = channelTiles(plan.geometry, plan.view);
  const secondSet = `getPartials(${plan.geometry.batch * tiles} + n * ${tiles} + c, 0, 0)`;
  const read = (kind: ParamLayout, sampler: string, absent: string, lane: string) =>
    kind === 'absent'
      ? absent
      : !plan.view.packed
        ? `${secondSet}.${lane}`
        : kind === 'perChannel'
          ? `pick1d(${sampler}(c), c)`
          : `pick2d(${sampler}(n, c), n, c)`;
  return `
    float gammaOf(int n, int c) { return ${read(plan.attributes.gamma, 'getGamma', '1.0', 'z')}; }
    float betaOf(int n, int c) { return ${read(plan.attributes.beta, 'getBeta', '0.0', 'w')}; }`;
}

/** GLSL expression: invStd from a biased `variance`, per epsilon mode. */
function invStdOf(plan: Plan, variance: string): string {
  return plan.attributes.epsilonMode === 'stddev'
    ? `1.0 / (sqrt(${variance}) + epsilon)`
    : `1.0 / sqrt(${variance} + epsilon)`;
}

/**
 * Forward: `vec4 groupStats(n, group)` = (mean - pivot, invStd, pivot, 0),
 * merged over the chunks of all the group's channels by Chan et al.: the
 * variance is the mean chunk variance plus the spread of the chunk means,
 * each chunk's term weighted by its share of the pixels as it is added, never
 * by its pixel count (count * variance overflows float32 when the standard
 * deviation is ~1e18); and the FORWARD_ROWS pairs. Unpacked, a chunk texel
 * holds one channel, its pivot in z; packed, a pair, the pivot read from x.
 */
export function forwardMergeSnippet(plan: Plan): string {
  const {channelsPerGroup, groupSize} = plan.geometry;
  const {count} = plan.chunking;
  const tiles = channelTiles(plan.geometry, plan.view);
  const access = plan.view.packed
    ? `${firstPixelsSnippet(plan, 'x')}
       vec2 chunkMoments(int n, int c, int k) {
         vec4 chunk = getPartials(n * ${tiles} + c / 2, 0, 2 * k);
         return imod(c, 2) == 0 ? chunk.xy : chunk.zw;
       }
       float groupPivot(int n, int c) { return xFirstPixel(n, ${groupStart(plan, 'c')}); }`
    : `vec2 chunkMoments(int n, int c, int k) { return getPartials(n * ${tiles} + c, 0, 2 * k).xy; }
       float groupPivot(int n, int c) { return getPartials(n * ${tiles} + c, 0, 0).z; }`;
  const eachChunk = (body: string) => `
    for (int i = 0; i < ${channelsPerGroup}; i++) {
      for (int k = 0; k < ${count}; k++) {
        vec2 chunk = chunkMoments(n, group * ${channelsPerGroup} + i, k);
        ${body}
      }
    }`;
  const rows = FORWARD_ROWS;
  return `
    ${chunkPixelsSnippet(plan)}
    ${PICK_SNIPPET}
    ${affineSnippet(plan)}
    ${access}
    vec4 groupStats(int n, int group) {
      float mean = 0.0;
      ${eachChunk('mean += chunkPixels(k) * chunk.x;')}
      mean /= ${groupSize}.0;
      float variance = 0.0;
      ${eachChunk(`
        float d = chunk.x - mean;
        variance += (chunkPixels(k) / ${groupSize}.0) * (chunk.y * chunk.y + d * d);`)}
      return vec4(mean, ${invStdOf(plan, 'variance')}, groupPivot(n, group * ${channelsPerGroup}), 0.0);
    }
    vec2 rowPair(int n, int c, int row, vec4 stats) {
      float scale = stats.y * gammaOf(n, c);
      return row == ${rows.scale} ? vec2(scale, betaOf(n, c) - stats.x * scale) :
             row == ${rows.pivot} ? vec2(stats.z, 0.0) : vec2(stats.z + stats.x, stats.y);
    }`;
}

/**
 * Gradient, in the terms of ../common/passes.ts: per channel, meanDz,
 * mean(dz * xhat) and mean(xhat) over its pixels (`vec3
 * channelGradMeans(n, c)`); per group (`groupStats`), meanU = the mean over
 * its channels of gamma * meanDz, xhatShift = that of mean(xhat),
 * V = mean of gamma * mean(dz * xhat) - xhatShift * meanU, and invStd. Then
 * xhatFactor = k * V, dx = scale * (dz - meanDz) + centredIntercept -
 * xhatFactor * xhat (GRAD_ROWS), and per channel dbeta = S * meanDz, dgamma =
 * S * (mean(dz * xhat) - xhatShift * meanDz). Unpacked, a chunk texel holds
 * one channel's three means and a second set of rows (mean, invStd, gamma,
 * beta); packed, two of a pair, mean(xhat) of the pair in the second set, the
 * statistics read from the mean and invStd inputs.
 */
export function gradMergeSnippet(plan: Plan): string {
  const {batch, channelsPerGroup, spatial} = plan.geometry;
  const tiles = channelTiles(plan.geometry, plan.view);
  const secondSet = batch * tiles;
  const texel = (offset: string, c: string) =>
    `getPartials(${offset}n * ${tiles} + ${c}, 0, 2 * k)`;
  const access = plan.view.packed
    ? `vec3 chunkGradMeans(int n, int c, int k) {
         vec4 chunk = ${texel('', 'c / 2')};
         vec4 xhat = ${texel(`${secondSet} + `, 'c / 2')};
         return imod(c, 2) == 0 ? vec3(chunk.xy, xhat.x) : vec3(chunk.zw, xhat.y);
       }
       vec2 groupMeanInvStd(int n, int group) {
         return vec2(pick2d(getMean(n, group), n, group), pick2d(getInvStd(n, group), n, group));
       }`
    : `vec3 chunkGradMeans(int n, int c, int k) { return ${texel('', 'c')}.xyz; }
       vec2 groupMeanInvStd(int n, int group) {
         int k = 0;
         return ${texel(`${secondSet} + `, `group * ${channelsPerGroup}`)}.xy;
       }`;
  const k =
    plan.attributes.epsilonMode === 'stddev'
      ? 'float sigma = 1.0 / stats.w - epsilon; float k = sigma > 0.0 ? 1.0 / sigma : 0.0;'
      : 'float k = stats.w;';
  const rows = GRAD_ROWS;
  return `
    ${chunkPixelsSnippet(plan)}
    ${PICK_SNIPPET}
    ${affineSnippet(plan)}
    ${access}
    vec3 channelGradMeans(int n, int c) {
      vec3 means = vec3(0.0);
      for (int k = 0; k < ${plan.chunking.count}; k++) {
        means += chunkPixels(k) * chunkGradMeans(n, c, k);
      }
      return means / ${spatial}.0;
    }
    vec4 groupStats(int n, int group) {
      vec3 sums = vec3(0.0);
      for (int i = 0; i < ${channelsPerGroup}; i++) {
        int c = group * ${channelsPerGroup} + i;
        vec3 means = channelGradMeans(n, c);
        float gamma = gammaOf(n, c);
        sums += vec3(gamma * means.x, gamma * means.y, means.z);
      }
      sums /= ${channelsPerGroup}.0;
      return vec4(sums.x, sums.y - sums.z * sums.x, sums.z,
                  groupMeanInvStd(n, group).y);
    }
    vec2 rowPair(int n, int c, int row, vec4 stats) {
      if (row == ${rows.mean}) {
        return groupMeanInvStd(n, c / ${channelsPerGroup});
      }
      float gamma = gammaOf(n, c);
      if (row == ${rows.gamma}) {
        return vec2(gamma, betaOf(n, c));
      }
      ${k}
      vec3 means = channelGradMeans(n, c);
      if (row == ${rows.scale}) {
        return vec2(gamma * stats.w, stats.w * (gamma * means.x - stats.x) + k * stats.y * stats.z);
      }
      if (row == ${rows.xhatFactor}) {
        return vec2(k * stats.y, means.x);
      }
      return vec2(means.x, means.y - stats.z * means.x) * ${spatial}.0;
    }`;
}

/**
 * main() of the packed merges: output `[N * rowsPerInstance, C]`, a texel
 * holding two rows of channels c, c + 1; the group's terms are merged once
 * per group the texel touches.
 */
export function packedMergeMain(plan: Plan, rowsPerInstance: number): string {
  const {channels, channelsPerGroup} = plan.geometry;
  const stored = storedValue(plan, 'vec4(first.x, second.x, first.y, second.y)');
  return `
    void main() {
      ivec2 coords = getOutputCoords();
      int n = coords.x / ${rowsPerInstance};
      int row = coords.x - n * ${rowsPerInstance};
      int c = coords.y;
      int group = c / ${channelsPerGroup};
      vec4 stats = groupStats(n, group);
      vec2 first = rowPair(n, c, row, stats);
      vec2 second = vec2(0.0);
      if (c + 1 < ${channels}) {
        int next = (c + 1) / ${channelsPerGroup};
        if (next != group) {
          stats = groupStats(n, next);
        }
        second = rowPair(n, c + 1, row, stats);
      }
      setOutput(${stored});
    }`;
}

/** main() of the unpacked merges: one value of `[N * rowsPerInstance, C]` a fragment. */
export function mergeMain(plan: Plan, rowsPerInstance: number): string {
  return `
    void main() {
      ivec2 coords = getOutputCoords();
      int n = coords.x / ${rowsPerInstance};
      int row = coords.x - n * ${rowsPerInstance};
      int c = coords.y;
      int even = row - imod(row, 2);
      vec2 pair = rowPair(n, c, even, groupStats(n, c / ${plan.geometry.channelsPerGroup}));
      setOutput(${storedValue(plan, 'row == even ? pair.x : pair.y')});
    }`;
}

/**
 * GLSL expression: `value` clamped to what a float16 texture holds, where
 * textures are; a NaN stays NaN (clamp of NaN is undefined in GLSL).
 */
function storedValue(plan: Plan, value: string): string {
  return plan.view.halfFloat
    ? `mix(clamp(${value}, -65504.0, 65504.0), ${value}, isnan(${value}))`
    : value;
}
