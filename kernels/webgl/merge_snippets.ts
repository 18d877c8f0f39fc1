/**
 * GLSL text of the merges: the chunk texels of the chunk passes combined
 * into per-(instance, group) statistics, Chan's merge over all chunks of the
 * group's channels for the forward, gamma-weighted sums of per-channel means
 * for the gradient; and the main() both packed merges share.
 */
import {channelBlocks, Chunking, Geometry} from './plan';
import {chunkPixelsSnippet, groupStart} from './chunk_snippets';
import {firstPixelsSnippet, PICK_SNIPPET} from './texel_snippets';

/**
 * Access to the chunk texels, per (n, c, chunk k): `vec2 chunkMoments(n, c,
 * k)` (mean relative to the group's pivot, standard deviation) and
 * `float groupPivot(n, c)` for the forward, `vec3 chunkGradMeans(n, c, k)`
 * (chunk means of dy, dy * xhat and xhat) for the gradient. Unpacked, a
 * texel holds one channel (the forward's with the pivot in z); packed, a
 * pair, with the xhat means in a second set of rows, and the pivot read from
 * x (firstPixelsSnippet).
 */
export function chunkAccessSnippet(geometry: Geometry, which: 'moments' | 'grad'): string {
  const {batch, channels} = geometry.layout;
  if (!geometry.packed) {
    const texel = (k: string) => `getPartials(n * ${channels} + c, 0, 2 * ${k})`;
    return which === 'moments'
      ? `
        vec2 chunkMoments(int n, int c, int k) { return ${texel('k')}.xy; }
        float groupPivot(int n, int c) { return ${texel('0')}.z; }`
      : `
        vec3 chunkGradMeans(int n, int c, int k) { return ${texel('k')}.xyz; }`;
  }
  const blocks = channelBlocks(geometry);
  const texel = (offset: string) => `getPartials(${offset}n * ${blocks} + c / 2, 0, 2 * k)`;
  return which === 'moments'
    ? `
      vec2 chunkMoments(int n, int c, int k) {
        vec4 chunk = ${texel('')};
        return imod(c, 2) == 0 ? chunk.xy : chunk.zw;
      }
      float groupPivot(int n, int c) { return xFirstPixel(n, ${groupStart(geometry, 'c')}); }`
    : `
      vec3 chunkGradMeans(int n, int c, int k) {
        vec4 chunk = ${texel('')};
        vec4 xhat = ${texel(`${batch * blocks} + `)};
        return imod(c, 2) == 0 ? vec3(chunk.xy, xhat.x) : vec3(chunk.zw, xhat.y);
      }`;
}

/**
 * `float gammaOf(int c)` and `float betaOf(int c)`: the affine parameters of
 * channel c, 1 and 0 when absent, from packed 1-D textures (two a texel; the
 * merges read all inputs packed).
 */
export function affineSnippet(hasGamma: boolean, hasBeta: boolean): string {
  const read = (name: string) => `pick1d(${name}(c), c)`;
  return `
    float gammaOf(int c) { return ${hasGamma ? read('getGamma') : '1.0'}; }
    float betaOf(int c) { return ${hasBeta ? read('getBeta') : '0.0'}; }`;
}

/**
 * `vec3 groupMoments(int n, int group)`: (mean - pivot, biased variance,
 * pivot) of the group, merged over the chunks of all its channels by Chan et
 * al.: the variance is the mean chunk variance plus the spread of the chunk
 * means, each chunk's term weighted by its share of the pixels as it is
 * added, never by its pixel count: count * variance overflows float32 when
 * the standard deviation is ~1e18.
 */
export function groupMomentsSnippet(geometry: Geometry, chunking: Chunking): string {
  const perGroup = geometry.channelsPerGroup;
  const pixels = `${geometry.layout.spatial * perGroup}.0`;
  const eachChunk = (body: string) => `
    for (int i = 0; i < ${perGroup}; i++) {
      for (int k = 0; k < ${chunking.count}; k++) {
        vec2 chunk = chunkMoments(n, group * ${perGroup} + i, k);
        ${body}
      }
    }`;
  return `
    vec3 groupMoments(int n, int group) {
      float mean = 0.0;
      ${eachChunk('mean += chunkPixels(k) * chunk.x;')}
      mean /= ${pixels};
      float variance = 0.0;
      ${eachChunk(`
        float d = chunk.x - mean;
        variance += (chunkPixels(k) / ${pixels}) * (chunk.y * chunk.y + d * d);`)}
      return vec3(mean, variance, groupPivot(n, group * ${perGroup}));
    }`;
}

/**
 * `vec3 channelGradMeans(int n, int c)`: A = mean(dy), B = mean(dy * xhat)
 * and X = mean(xhat) over the pixels of (n, c); and `vec3
 * groupGradTerms(int n, int group)`: U = mean over the group's channels of
 * gamma * A, V = that of gamma * (B - Xg * A), Xg = the group's mean of xhat.
 * Then dx = invStd * (gamma * dy - (U - Xg * V) - xhat * V), and per channel
 * dbeta = S * A, dgamma = S * (B - Xg * A). Subtracting Xg re-centres xhat,
 * removing the shift the float32 rounding of the saved mean causes at large
 * offsets (the true xhat has mean zero over the group).
 */
export function gradTermsSnippet(geometry: Geometry, chunking: Chunking): string {
  const perGroup = geometry.channelsPerGroup;
  return `
    vec3 channelGradMeans(int n, int c) {
      vec3 means = vec3(0.0);
      for (int k = 0; k < ${chunking.count}; k++) {
        means += chunkPixels(k) * chunkGradMeans(n, c, k);
      }
      return means / ${geometry.layout.spatial}.0;
    }
    vec3 groupGradTerms(int n, int group) {
      vec3 sums = vec3(0.0);
      for (int i = 0; i < ${perGroup}; i++) {
        int c = group * ${perGroup} + i;
        vec3 means = channelGradMeans(n, c);
        float gamma = gammaOf(c);
        sums += vec3(gamma * means.x, gamma * means.y, means.z);
      }
      sums /= ${perGroup}.0;
      return vec3(sums.x, sums.y - sums.z * sums.x, sums.z);
    }`;
}

/**
 * main() of the packed merges: output `[N * rowsPerInstance, C]`, a texel
 * holding two rows of channels c, c + 1. Expects `vec4 groupStats(int n,
 * int group)` (merged once per group the texel touches) and
 * `vec2 rowPair(int n, int c, int row, vec4 stats)`, the values of rows row
 * and row + 1 of channel c.
 */
export function packedMergeMain(geometry: Geometry, rowsPerInstance: number): string {
  const {channels} = geometry.layout;
  const perGroup = geometry.channelsPerGroup;
  return `
    void main() {
      ivec2 coords = getOutputCoords();
      int n = coords.x / ${rowsPerInstance};
      int row = coords.x - n * ${rowsPerInstance};
      int c = coords.y;
      int group = c / ${perGroup};
      vec4 stats = groupStats(n, group);
      vec2 first = rowPair(n, c, row, stats);
      vec2 second = vec2(0.0);
      if (c + 1 < ${channels}) {
        int next = (c + 1) / ${perGroup};
        if (next != group) {
          stats = groupStats(n, next);
        }
        second = rowPair(n, c + 1, row, stats);
      }
      setOutput(vec4(first.x, second.x, first.y, second.y));
    }`;
}

/**
 * Everything a forward merge builds on: `vec3 groupMoments(n, group)` and
 * the affine parameters `gammaOf(c)`, `betaOf(c)`; the packed merge reads
 * the pivots from x.
 */
export function momentsMergeSnippets(
  geometry: Geometry,
  chunking: Chunking,
  hasGamma = false,
  hasBeta = false,
): string {
  return `
    ${chunkPixelsSnippet(geometry, chunking)}
    ${geometry.packed ? firstPixelsSnippet(geometry, 'x') : ''}
    ${chunkAccessSnippet(geometry, 'moments')}
    ${groupMomentsSnippet(geometry, chunking)}
    ${PICK_SNIPPET}
    ${affineSnippet(hasGamma, hasBeta)}`;
}

/**
 * Everything a gradient merge builds on: `channelGradMeans(n, c)`,
 * `groupGradTerms(n, group)`, `gammaOf(c)` and the lane picks.
 */
export function gradMergeSnippets(
  geometry: Geometry,
  chunking: Chunking,
  hasGamma: boolean,
): string {
  return `
    ${chunkPixelsSnippet(geometry, chunking)}
    ${chunkAccessSnippet(geometry, 'grad')}
    ${PICK_SNIPPET}
    ${affineSnippet(hasGamma, false)}
    ${gradTermsSnippet(geometry, chunking)}`;
}
