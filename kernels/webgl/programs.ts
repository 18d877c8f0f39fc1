/**
 * The GPGPU programs of the webgl kernels, composed from shader_snippets.ts.
 *
 * Both kernels run a chunk pass (the statistics of chunks of the pixels of
 * each (instance, channel), one packed texel per chunk, so partial results
 * are means that fit float16), a merge over the chunks into per-(instance,
 * channel) rows, then elementwise programs. The chunk passes serve both
 * storage paths; the rest comes as an unpacked and a packed variant, so that
 * a packed x (the default) is read as is and y / dx come out packed, and
 * with WEBGL_PACK=false everything stays unpacked.
 */
import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import type {InstanceNormLayout} from '../../src/layout';
import {
  channelGroups,
  channelSums,
  chunkAccessSnippet,
  chunkHeader,
  chunkLoop,
  chunkPixelsSnippet,
  Chunking,
  firstPixelsSnippet,
  Geometry,
  masked,
  mergeGradSumsSnippet,
  mergeMomentsSnippet,
  packedChunkLoop,
  PICK_SNIPPET,
  SELECT_SNIPPET,
  spreadPair,
  squaresScale,
  texelChannelSnippet,
  unitReaderSnippet,
  viewShape,
} from './shader_snippets';

type UniformType = NonNullable<GPGPUProgram['customUniforms']>[number]['type'];

abstract class Program implements GPGPUProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract userCode: string;
  customUniforms?: Array<{name: string; type: UniformType}>;
  packedInputs?: boolean;
  packedOutput?: boolean;
}

/**
 * Output shape of the chunk passes: one texel per (n, channel group, chunk),
 * `blocks` times; the chunks along the texture's width, so that the draw is
 * not a one-texel-wide strip (SwiftShader shades 2x2 quads).
 */
function partialsShape(g: Geometry, chunking: Chunking, blocks = 1): number[] {
  return [blocks * g.layout.batch * channelGroups(g), 2, 2 * chunking.count];
}

/** `n, c, s` from the output coordinates of an unpacked program shaped like the 3-D view. */
function viewCoords(layout: InstanceNormLayout): string {
  return layout.dataFormat === 'channelsLast'
    ? 'ivec3 coords = getOutputCoords(); int n = coords.x; int s = coords.y; int c = coords.z;'
    : 'ivec3 coords = getOutputCoords(); int n = coords.x; int c = coords.y; int s = coords.z;';
}

// ------------------------------------------------------ chunk passes (both)

/**
 * Forward chunk pass: per chunk, (mean - pivot, standard deviation, pivot),
 * the pivot being the first pixel of the (instance, channel). Sums run
 * relative to the chunk's first pixel, so an offset of 1e4 or a constant
 * channel loses nothing; storing the deviation rather than the variance keeps
 * it in float16 range for any x that is. The squares are of deviations scaled
 * by a power of two (squaresScale), so that x of magnitude 1e18 does not
 * overflow their float32 sum; the variance stays scaled until its root.
 */
export class ChunkMomentsProgram extends Program {
  variableNames = ['x'];
  outputShape: number[];
  packedInputs: boolean;
  packedOutput = true;
  userCode: string;

  constructor(g: Geometry, chunking: Chunking) {
    super();
    this.outputShape = partialsShape(g, chunking);
    this.packedInputs = g.packed;
    const {scale, inverse} = squaresScale(g, chunking);
    if (!g.packed) {
      this.userCode = `
        ${chunkPixelsSnippet(g, chunking)}
        ${unitReaderSnippet(g, 'x')}
        void main() {
          ${chunkHeader(g, chunking)}
          float pivot = xUnit(n, c, 0, 0);
          float local = xUnit(n, c, u0, 0);
          float sum = 0.0;
          float sumSquares = 0.0;
          ${chunkLoop(
            g,
            chunking,
            `
            float d = xUnit(n, c, u, j) - local;
            float scaled = d * ${scale};
            sum += d;
            sumSquares += scaled * scaled;`,
          )}
          float mean = sum / count;
          float scaledMean = mean * ${scale};
          float scaledVariance = max(sumSquares / count - scaledMean * scaledMean, 0.0);
          setOutput(vec4((local - pivot) + mean, sqrt(scaledVariance) * ${inverse}, pivot, 0.0));
        }`;
      return;
    }
    // Packed: channels c and c + 1 at once, per lane of the texels, added
    // up per channel at the end; texel
    // (mean_c - pivot_c, sd_c, mean_c+1 - pivot_c+1, sd_c+1).
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${firstPixelsSnippet(g, 'x')}
      ${SELECT_SNIPPET}
      void main() {
        ${chunkHeader(g, chunking)}
        vec2 pivot = xFirstPixels(n, c, 0);
        vec2 local = xFirstPixels(n, c, u0);
        vec4 local0 = ${spreadPair(g, 'local', '0')};
        vec4 local1 = ${spreadPair(g, 'local', '1')};
        vec4 sum0 = vec4(0.0);
        vec4 sum1 = vec4(0.0);
        vec4 squares0 = vec4(0.0);
        vec4 squares1 = vec4(0.0);
        ${packedChunkLoop(
          g,
          chunking,
          ['x'],
          t => `
          vec4 d${t} = ${masked(g, `x${t} - local${t}`)};
          vec4 scaled${t} = d${t} * ${scale};
          sum${t} += d${t};
          squares${t} += scaled${t} * scaled${t};`,
        )}
        vec2 mean = ${channelSums(g, 'sum0', 'sum1')} / count;
        vec2 scaledMean = mean * ${scale};
        vec2 deviation = sqrt(max(${channelSums(g, 'squares0', 'squares1')} / count -
                                  scaledMean * scaledMean, 0.0)) * ${inverse};
        vec2 shifted = (local - pivot) + mean;
        setOutput(vec4(shifted.x, deviation.x, shifted.y, deviation.y));
      }`;
  }
}

/**
 * Gradient chunk pass: per chunk, the means of dy, dy * xhat and xhat, with
 * xhat = (x - mean) * invStd from the saved statistics.
 */
export class ChunkGradSumsProgram extends Program {
  variableNames = ['dy', 'x', 'mean', 'invStd'];
  outputShape: number[];
  packedInputs: boolean;
  packedOutput = true;
  userCode: string;

  constructor(g: Geometry, chunking: Chunking) {
    super();
    this.packedInputs = g.packed;
    if (!g.packed) {
      this.outputShape = partialsShape(g, chunking);
      this.userCode = `
        ${chunkPixelsSnippet(g, chunking)}
        ${unitReaderSnippet(g, 'x')}
        ${unitReaderSnippet(g, 'dy')}
        void main() {
          ${chunkHeader(g, chunking)}
          float mean = getMean(n, c);
          float invStd = getInvStd(n, c);
          vec3 sums = vec3(0.0);
          ${chunkLoop(
            g,
            chunking,
            `
            float g = dyUnit(n, c, u, j);
            float xhat = (xUnit(n, c, u, j) - mean) * invStd;
            sums += vec3(g, g * xhat, xhat);`,
          )}
          setOutput(vec4(sums / count, 0.0));
        }`;
      return;
    }
    // Packed: a texel holds two channels, so the three means of a pair go
    // in two blocks of rows: (dy_c, dy*xhat_c, dy_c+1, dy*xhat_c+1) for the
    // first, (xhat_c, xhat_c+1, 0, 0) for the second, whose fragments read
    // x only. Blocks, not alternating rows: neighbouring fragments then take
    // the same branch.
    this.outputShape = partialsShape(g, chunking, 2);
    const block = g.layout.batch * channelGroups(g);
    const stat = (name: string) =>
      `vec2(pick2d(${name}(n, c), n, c), pick2d(${name}(n, c + 1), n, c + 1))`;
    const xhat = (t: string) => masked(g, `(x${t} - mean${t}) * invStd${t}`);
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${SELECT_SNIPPET}
      ${PICK_SNIPPET}
      void main() {
        ${chunkHeader(g, chunking, `(texel.x >= ${block} ? ${block} : 0)`)}
        vec2 mean = ${stat('getMean')};
        vec2 invStd = ${stat('getInvStd')};
        vec4 mean0 = ${spreadPair(g, 'mean', '0')};
        vec4 mean1 = ${spreadPair(g, 'mean', '1')};
        vec4 invStd0 = ${spreadPair(g, 'invStd', '0')};
        vec4 invStd1 = ${spreadPair(g, 'invStd', '1')};
        vec4 dySum0 = vec4(0.0);
        vec4 dySum1 = vec4(0.0);
        vec4 dyXhatSum0 = vec4(0.0);
        vec4 dyXhatSum1 = vec4(0.0);
        vec4 xhatSum0 = vec4(0.0);
        vec4 xhatSum1 = vec4(0.0);
        if (texel.x >= ${block}) {
          ${packedChunkLoop(
            g,
            chunking,
            ['x'],
            t => `
            xhatSum${t} += ${xhat(t)};`,
          )}
          setOutput(vec4(${channelSums(g, 'xhatSum0', 'xhatSum1')} / count, 0.0, 0.0));
        } else {
          ${packedChunkLoop(
            g,
            chunking,
            ['dy', 'x'],
            t => `
            vec4 g${t} = ${masked(g, `dy${t}`)};
            dySum${t} += g${t};
            dyXhatSum${t} += g${t} * ${xhat(t)};`,
          )}
          vec2 dyMeans = ${channelSums(g, 'dySum0', 'dySum1')} / count;
          vec2 dyXhatMeans = ${channelSums(g, 'dyXhatSum0', 'dyXhatSum1')} / count;
          setOutput(vec4(dyMeans.x, dyXhatMeans.x, dyMeans.y, dyXhatMeans.y));
        }
      }`;
  }
}

// ------------------------------------------------------------ unpacked path

/** Forward merge, unpacked: `[N, 3, C]`, rows mean - pivot, invStd, pivot. */
export class MergeMomentsProgram extends Program {
  variableNames = ['partials'];
  outputShape: number[];
  packedInputs = true;
  customUniforms = [{name: 'epsilon', type: 'float' as UniformType}];
  userCode: string;

  constructor(g: Geometry, chunking: Chunking) {
    super();
    const {batch, channels} = g.layout;
    this.outputShape = [batch, 3, channels];
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${chunkAccessSnippet(g, 'moments')}
      ${mergeMomentsSnippet(g.layout, chunking)}
      void main() {
        ivec3 coords = getOutputCoords();
        float shiftedMean, variance, pivot;
        mergeMoments(coords.x, coords.z, shiftedMean, variance, pivot);
        setOutput(coords.y == 0 ? shiftedMean :
                  coords.y == 1 ? 1.0 / sqrt(variance + epsilon) : pivot);
      }`;
  }
}

/** The `[N, C]` outputs mean and invStd of the forward, unpacked. */
export class StatOutputProgram extends Program {
  variableNames = ['stats'];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'mean' | 'invStd') {
    super();
    this.outputShape = [layout.batch, layout.channels];
    const value = which === 'mean' ? 'getStats(n, 2, c) + getStats(n, 0, c)' : 'getStats(n, 1, c)';
    this.userCode = `
      void main() {
        ivec2 coords = getOutputCoords();
        int n = coords.x;
        int c = coords.y;
        setOutput(${value});
      }`;
  }
}

/**
 * Forward normalize-and-affine, unpacked. y comes from x - pivot and the
 * shifted mean, rather than from the float32-rounded mean, which at an
 * offset of 1e4 is off by ~5e-4.
 */
export class NormalizeProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, hasGamma: boolean, hasBeta: boolean) {
    super();
    this.outputShape = viewShape(layout);
    this.variableNames = [
      'x',
      'stats',
      ...(hasGamma ? ['gamma'] : []),
      ...(hasBeta ? ['beta'] : []),
    ];
    this.userCode = `
      void main() {
        ${viewCoords(layout)}
        float centered = (getXAtOutCoords() - getStats(n, 2, c)) - getStats(n, 0, c);
        float y = centered * getStats(n, 1, c);
        ${hasGamma ? 'y *= getGamma(c);' : ''}
        ${hasBeta ? 'y += getBeta(c);' : ''}
        setOutput(y);
      }`;
  }
}

/** Gradient merge, unpacked: `[N, 3, C]`, rows mean(dy), mean(xhat), mean(dy * xhat'). */
export class MergeGradSumsProgram extends Program {
  variableNames = ['partials'];
  outputShape: number[];
  packedInputs = true;
  userCode: string;

  constructor(g: Geometry, chunking: Chunking) {
    super();
    const {batch, channels} = g.layout;
    this.outputShape = [batch, 3, channels];
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${chunkAccessSnippet(g, 'grad')}
      ${mergeGradSumsSnippet(g.layout, chunking)}
      void main() {
        ivec3 coords = getOutputCoords();
        vec3 means = mergeGradSums(coords.x, coords.z);
        setOutput(coords.y == 0 ? means.x : coords.y == 1 ? means.y : means.z);
      }`;
  }
}

/** dx = gamma * invStd * (dy - mean(dy) - xhat' * mean(dy * xhat')), unpacked. */
export class InputGradProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, hasGamma: boolean) {
    super();
    this.outputShape = viewShape(layout);
    this.variableNames = ['dy', 'x', 'mean', 'invStd', 'coefs', ...(hasGamma ? ['gamma'] : [])];
    this.userCode = `
      void main() {
        ${viewCoords(layout)}
        float invStd = getInvStd(n, c);
        float xhat = (getXAtOutCoords() - getMean(n, c)) * invStd - getCoefs(n, 1, c);
        float scale = invStd${hasGamma ? ' * getGamma(c)' : ''};
        setOutput(scale *
            (getDyAtOutCoords() - getCoefs(n, 0, c) - xhat * getCoefs(n, 2, c)));
      }`;
  }
}

/** dgamma or dbeta, unpacked: S * mean(dy * xhat') or S * mean(dy), added over instances. */
export class ParamGradProgram extends Program {
  variableNames = ['coefs'];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'dgamma' | 'dbeta') {
    super();
    this.outputShape = [layout.channels];
    this.userCode = `
      void main() {
        int c = getOutputCoords();
        float total = 0.0;
        for (int n = 0; n < ${layout.batch}; n++) {
          total += getCoefs(n, ${which === 'dgamma' ? 2 : 0}, c);
        }
        setOutput(total * ${layout.spatial}.0);
      }`;
  }
}

// -------------------------------------------------------------- packed path

/**
 * Forward merge, packed: `[N * 6, C]` (2-D: cheaper samplers) with rows scale = invStd * gamma,
 * offset = beta - (mean - pivot) * scale, pivot, 0, mean, invStd; a fragment
 * merges channels c and c + 1 and writes two rows of both. The elementwise
 * pass is then y = (x - pivot) * scale + offset: two texel reads of rows
 * for four outputs, and no cancellation at large offsets.
 */
export class PackedMergeMomentsProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  customUniforms = [{name: 'epsilon', type: 'float' as UniformType}];
  userCode: string;

  constructor(g: Geometry, chunking: Chunking, hasGamma: boolean, hasBeta: boolean) {
    super();
    const {batch, channels} = g.layout;
    this.outputShape = [batch * 6, channels];
    this.variableNames = [
      'partials',
      'x',
      ...(hasGamma ? ['gamma'] : []),
      ...(hasBeta ? ['beta'] : []),
    ];
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${firstPixelsSnippet(g, 'x')}
      ${chunkAccessSnippet(g, 'moments')}
      ${mergeMomentsSnippet(g.layout, chunking)}
      ${PICK_SNIPPET}
      vec2 rowPair(int n, int c, int row) {
        float shiftedMean, variance, pivot;
        mergeMoments(n, c, shiftedMean, variance, pivot);
        float invStd = 1.0 / sqrt(variance + epsilon);
        float scale = invStd${hasGamma ? ' * pick1d(getGamma(c), c)' : ''};
        float shift = ${hasBeta ? 'pick1d(getBeta(c), c)' : '0.0'};
        return row == 0 ? vec2(scale, shift - shiftedMean * scale) :
               row == 2 ? vec2(pivot, 0.0) : vec2(pivot + shiftedMean, invStd);
      }
      void main() {
        ivec2 coords = getOutputCoords();
        int n = coords.x / 6;
        int c = coords.y;
        vec2 first = rowPair(n, c, coords.x - n * 6);
        vec2 second = c + 1 < ${channels} ? rowPair(n, c + 1, coords.x - n * 6) : vec2(0.0);
        setOutput(vec4(first.x, second.x, first.y, second.y));
      }`;
  }
}

/** The `[N, C]` outputs mean and invStd, packed, from rows 4 and 5 of the merge. */
export class PackedStatOutputProgram extends Program {
  variableNames = ['stats'];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'mean' | 'invStd') {
    super();
    this.outputShape = [layout.batch, layout.channels];
    const lanes = which === 'mean' ? 'xy' : 'zw';
    // Texel (n..n+1, c..c+1); at an odd N the second row is padding.
    this.userCode = `
      void main() {
        ivec2 coords = getOutputCoords();
        vec4 first = getStats(coords.x * 6 + 4, coords.y);
        vec4 second = getStats(coords.x * 6 + 10, coords.y);
        setOutput(vec4(first.${lanes}, second.${lanes}));
      }`;
  }
}

/** Forward normalize-and-affine, packed: y = (x - pivot) * scale + offset. */
export class PackedNormalizeProgram extends Program {
  variableNames = ['x', 'stats'];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  userCode: string;

  constructor(g: Geometry) {
    super();
    this.outputShape = g.viewShape;
    this.userCode = `
      ${texelChannelSnippet(g)}
      void main() {
        ivec3 texel = getOutputCoords();
        ivec2 nc = texelInstanceChannel(texel);
        int c = nc.y;
        vec4 affine = getStats(nc.x * 6, c - imod(c, 2));
        vec4 pivot = spread(getStats(nc.x * 6 + 2, c - imod(c, 2)), c, false);
        vec4 x = getXAtOutCoords();
        setOutput((x - pivot) * spread(affine, c, false) + spread(affine, c, true));
      }`;
  }
}

/**
 * Gradient merge, packed: `[N * 6, C]` with rows A = gamma * invStd,
 * E = mean(dy) - mean(xhat) * mean(dy * xhat'), F = invStd * mean(dy * xhat'),
 * the saved mean, S * mean(dy), S * mean(dy * xhat'). Then
 * dx = A * (dy - E - (x - mean) * F), and dbeta, dgamma are the last two rows
 * added over instances. All rows stay bounded by |dy| * invStd-sized terms:
 * float16-safe.
 */
export class PackedMergeGradProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  userCode: string;

  constructor(g: Geometry, chunking: Chunking, hasGamma: boolean) {
    super();
    const {batch, channels, spatial} = g.layout;
    this.outputShape = [batch * 6, channels];
    this.variableNames = ['partials', 'mean', 'invStd', ...(hasGamma ? ['gamma'] : [])];
    this.userCode = `
      ${chunkPixelsSnippet(g, chunking)}
      ${chunkAccessSnippet(g, 'grad')}
      ${mergeGradSumsSnippet(g.layout, chunking)}
      ${PICK_SNIPPET}
      vec2 rowPair(int n, int c, int row) {
        vec3 means = mergeGradSums(n, c);
        float invStd = pick2d(getInvStd(n, c), n, c);
        float scale = invStd${hasGamma ? ' * pick1d(getGamma(c), c)' : ''};
        return row == 0 ? vec2(scale, means.x - means.y * means.z) :
               row == 2 ? vec2(invStd * means.z, pick2d(getMean(n, c), n, c)) :
                          vec2(means.x, means.z) * ${spatial}.0;
      }
      void main() {
        ivec2 coords = getOutputCoords();
        int n = coords.x / 6;
        int c = coords.y;
        vec2 first = rowPair(n, c, coords.x - n * 6);
        vec2 second = c + 1 < ${channels} ? rowPair(n, c + 1, coords.x - n * 6) : vec2(0.0);
        setOutput(vec4(first.x, second.x, first.y, second.y));
      }`;
  }
}

/** dx = A * (dy - E - (x - mean) * F), packed. */
export class PackedInputGradProgram extends Program {
  variableNames = ['dy', 'x', 'coefs'];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  userCode: string;

  constructor(g: Geometry) {
    super();
    this.outputShape = g.viewShape;
    this.userCode = `
      ${texelChannelSnippet(g)}
      void main() {
        ivec3 texel = getOutputCoords();
        ivec2 nc = texelInstanceChannel(texel);
        int c = nc.y;
        vec4 ae = getCoefs(nc.x * 6, c - imod(c, 2));
        vec4 fm = getCoefs(nc.x * 6 + 2, c - imod(c, 2));
        vec4 dy = getDyAtOutCoords();
        vec4 x = getXAtOutCoords();
        setOutput(spread(ae, c, false) *
            (dy - spread(ae, c, true) - (x - spread(fm, c, true)) * spread(fm, c, false)));
      }`;
  }
}

/** dgamma or dbeta, packed `[C]`: rows 5 or 4 of the gradient merge added over instances. */
export class PackedParamGradProgram extends Program {
  variableNames = ['coefs'];
  outputShape: number[];
  packedInputs = true;
  packedOutput = true;
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'dgamma' | 'dbeta') {
    super();
    this.outputShape = [layout.channels];
    this.userCode = `
      void main() {
        int c = getOutputCoords();
        vec2 total = vec2(0.0);
        for (int n = 0; n < ${layout.batch}; n++) {
          total += getCoefs(n * 6 + 4, c).${which === 'dgamma' ? 'zw' : 'xy'};
        }
        setOutput(vec4(total, 0.0, 0.0));
      }`;
  }
}
