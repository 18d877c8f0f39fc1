/**
 * The GPGPU programs of the webgl kernels and the GLSL they share.
 *
 * Every program sees a tensor of the shape of x through its 3-D view
 * (`[N, S, C]` or `[N, C, S]`, src/layout.ts) and reads it with
 * `<name>At(n, c, s)`, so the shaders are written once for both formats.
 *
 * Statistics are reduced in two steps so that the GPU works in parallel: a
 * chunk pass, where each fragment reduces one chunk of the S pixels of one
 * (instance, channel) and writes the chunk's means into one RGBA texel of a
 * packed texture, then a merge pass with one fragment per (instance, channel)
 * over the chunks. Partial results are means (never raw sums), so they stay
 * in range when textures are float16 (max 65504).
 */
import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import type {DataFormat} from '../../src/kernel_names';
import type {InstanceNormLayout} from '../../src/layout';

type UniformType = NonNullable<GPGPUProgram['customUniforms']>[number]['type'];

/** How the S pixels of each (instance, channel) are split among fragments. */
export interface Chunking {
  /** Pixels per chunk (the last chunk may be shorter). */
  length: number;
  /** Chunks per (instance, channel). */
  count: number;
}

/**
 * Chunks of about sqrt(S) pixels balance the two passes: the chunk pass
 * runs N*C*count fragments of `length` reads each, the merge N*C fragments
 * of `count` reads. Small images are one chunk (the merge is then trivial),
 * and there are at least 16 pixels per chunk so a fragment amortizes its
 * setup and the partial texture stays small.
 */
export function chooseChunking(spatial: number): Chunking {
  const length = spatial <= 64 ? Math.max(spatial, 1) :
                                 Math.max(16, Math.ceil(Math.sqrt(spatial)));
  return {length, count: Math.max(1, Math.ceil(spatial / length))};
}

// ---------------------------------------------------------------- snippets

/** `float <name>At(int n, int c, int s)`: an input of the shape of x. */
function viewAccessor(name: string, format: DataFormat): string {
  const getter = `get${name.charAt(0).toUpperCase()}${name.slice(1)}`;
  const args = format === 'channelsLast' ? 'n, s, c' : 'n, c, s';
  return `float ${name}At(int n, int c, int s) { return ${getter}(${args}); }`;
}

/** `n, c, s` from the output coordinates of a program shaped like x. */
function viewCoords(format: DataFormat): string {
  return format === 'channelsLast' ?
      'ivec3 coords = getOutputCoords(); int n = coords.x; int s = coords.y; int c = coords.z;' :
      'ivec3 coords = getOutputCoords(); int n = coords.x; int c = coords.y; int s = coords.z;';
}

/**
 * The chunk a chunk-pass fragment reduces. Its packed output has the shape
 * `[N*C, 2*count, 2]`: texel (nc, 2k) holds the four values of chunk k of
 * (n, c) = (nc / C, nc % C), in the order x, y, z, w =
 * [2k][0], [2k][1], [2k+1][0], [2k+1][1].
 */
function chunkHeader(layout: InstanceNormLayout, chunking: Chunking): string {
  return `
    ivec3 texel = getOutputCoords();
    int nc = texel.x;
    int n = nc / ${layout.channels};
    int c = nc - n * ${layout.channels};
    int start = (texel.y / 2) * ${chunking.length};
    int len = min(${chunking.length}, ${layout.spatial} - start);
    float count = float(len);`;
}

/** Loops `s` over the pixels of the chunk (a constant bound, for GLSL ES 1.0). */
function chunkLoop(body: string): string {
  return `
    for (int i = 0; i < CHUNK_LENGTH; i++) {
      if (i >= len) {
        break;
      }
      int s = start + i;
      ${body}
    }`;
}

/**
 * In a merge fragment: `weightedSum` of the chunks' vec4s, each weighted by
 * the chunk's share of the S pixels, i.e. the mean over all pixels of
 * whatever the chunk texels hold as chunk means.
 */
function mergeLoop(layout: InstanceNormLayout, chunking: Chunking, body: string): string {
  const last = layout.spatial - (chunking.count - 1) * chunking.length;
  return `
    for (int k = 0; k < ${chunking.count}; k++) {
      vec4 chunk = getPartials(nc, 2 * k, 0);
      float share = (k == ${chunking.count - 1} ? ${last}.0 : ${chunking.length}.0) /
          ${layout.spatial}.0;
      ${body}
    }`;
}

// ----------------------------------------------------------------- programs

abstract class Program implements GPGPUProgram {
  abstract variableNames: string[];
  abstract outputShape: number[];
  abstract userCode: string;
  customUniforms?: Array<{name: string, type: UniformType}>;
  packedInputs?: boolean;
  packedOutput?: boolean;
}

/**
 * Forward chunk pass: per chunk, the mean relative to the pivot (the first
 * pixel of the (instance, channel)) and the standard deviation. Sums run
 * relative to the chunk's first pixel, so an offset of 1e4 or a constant
 * channel loses nothing; storing the deviation rather than the variance keeps
 * it within float16 range for any x that is.
 */
export class ChunkMomentsProgram extends Program {
  variableNames = ['x'];
  outputShape: number[];
  packedOutput = true;
  userCode: string;

  constructor(layout: InstanceNormLayout, chunking: Chunking) {
    super();
    this.outputShape = [layout.batch * layout.channels, 2 * chunking.count, 2];
    this.userCode = `
      #define CHUNK_LENGTH ${chunking.length}
      ${viewAccessor('x', layout.dataFormat)}
      void main() {
        ${chunkHeader(layout, chunking)}
        float pivot = xAt(n, c, 0);
        float local = xAt(n, c, start);
        float sum = 0.0;
        float sumSquares = 0.0;
        ${chunkLoop(`
          float d = xAt(n, c, s) - local;
          sum += d;
          sumSquares += d * d;`)}
        float mean = sum / count;
        float variance = max(sumSquares / count - mean * mean, 0.0);
        setOutput(vec4((local - pivot) + mean, sqrt(variance), 0.0, 0.0));
      }`;
  }
}

/**
 * Forward merge (Chan et al.): output `[N, 2, C]`, row 0 the mean relative
 * to the pivot, row 1 invStd. The variance is the mean of the chunk
 * variances plus the spread of the chunk means around the overall mean.
 */
export class MergeMomentsProgram extends Program {
  variableNames = ['partials'];
  outputShape: number[];
  packedInputs = true;
  customUniforms = [{name: 'epsilon', type: 'float' as UniformType}];
  userCode: string;

  constructor(layout: InstanceNormLayout, chunking: Chunking) {
    super();
    const {batch, channels} = layout;
    this.outputShape = [batch, 2, channels];
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int nc = coords.x * ${channels} + coords.z;
        float mean = 0.0;
        ${mergeLoop(layout, chunking, 'mean += share * chunk.x;')}
        if (coords.y == 0) {
          setOutput(mean);
          return;
        }
        float variance = 0.0;
        ${mergeLoop(layout, chunking, `
          float d = chunk.x - mean;
          variance += share * (chunk.y * chunk.y + d * d);`)}
        setOutput(1.0 / sqrt(variance + epsilon));
      }`;
  }
}

/** The `[N, C]` outputs of the forward: `mean` (pivot + shifted mean) or `invStd`. */
export class StatOutputProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'mean'|'invStd') {
    super();
    this.outputShape = [layout.batch, layout.channels];
    this.variableNames = which === 'mean' ? ['stats', 'x'] : ['stats'];
    this.userCode = which === 'mean' ? `
      ${viewAccessor('x', layout.dataFormat)}
      void main() {
        ivec2 coords = getOutputCoords();
        setOutput(xAt(coords.x, coords.y, 0) + getStats(coords.x, 0, coords.y));
      }` : `
      void main() {
        ivec2 coords = getOutputCoords();
        setOutput(getStats(coords.x, 1, coords.y));
      }`;
  }
}

/**
 * Forward normalize-and-affine, elementwise. y is computed from x - pivot
 * and the shifted mean, both exact-ish small numbers, rather than from the
 * float32-rounded mean, which at an offset of 1e4 is off by ~5e-4.
 */
export class NormalizeProgram extends Program {
  variableNames: string[];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, hasGamma: boolean, hasBeta: boolean) {
    super();
    this.outputShape = viewShape(layout);
    this.variableNames = ['x', 'stats', ...(hasGamma ? ['gamma'] : []), ...(hasBeta ? ['beta'] : [])];
    this.userCode = `
      ${viewAccessor('x', layout.dataFormat)}
      void main() {
        ${viewCoords(layout.dataFormat)}
        float centered = (getXAtOutCoords() - xAt(n, c, 0)) - getStats(n, 0, c);
        float y = centered * getStats(n, 1, c);
        ${hasGamma ? 'y *= getGamma(c);' : ''}
        ${hasBeta ? 'y += getBeta(c);' : ''}
        setOutput(y);
      }`;
  }
}

/**
 * Gradient chunk pass: per chunk, the means of dy, dy * xhat and xhat,
 * with xhat = (x - mean) * invStd from the saved statistics.
 */
export class ChunkGradSumsProgram extends Program {
  variableNames = ['dy', 'x', 'mean', 'invStd'];
  outputShape: number[];
  packedOutput = true;
  userCode: string;

  constructor(layout: InstanceNormLayout, chunking: Chunking) {
    super();
    this.outputShape = [layout.batch * layout.channels, 2 * chunking.count, 2];
    this.userCode = `
      #define CHUNK_LENGTH ${chunking.length}
      ${viewAccessor('x', layout.dataFormat)}
      ${viewAccessor('dy', layout.dataFormat)}
      void main() {
        ${chunkHeader(layout, chunking)}
        float mean = getMean(n, c);
        float invStd = getInvStd(n, c);
        vec3 sums = vec3(0.0);
        ${chunkLoop(`
          float g = dyAt(n, c, s);
          float xhat = (xAt(n, c, s) - mean) * invStd;
          sums += vec3(g, g * xhat, xhat);`)}
        setOutput(vec4(sums / count, 0.0));
      }`;
  }
}

/**
 * Gradient merge: output `[N, 3, C]` with rows mean(dy), mean(xhat) and
 * mean(dy * xhat') where xhat' = xhat - mean(xhat). Re-centering removes the
 * shift of xhat that the float32 rounding of the saved mean causes at large
 * offsets (the true xhat has mean zero).
 */
export class MergeGradSumsProgram extends Program {
  variableNames = ['partials'];
  outputShape: number[];
  packedInputs = true;
  userCode: string;

  constructor(layout: InstanceNormLayout, chunking: Chunking) {
    super();
    const {batch, channels} = layout;
    this.outputShape = [batch, 3, channels];
    this.userCode = `
      void main() {
        ivec3 coords = getOutputCoords();
        int nc = coords.x * ${channels} + coords.z;
        vec3 means = vec3(0.0);
        ${mergeLoop(layout, chunking, 'means += share * chunk.xyz;')}
        float meanDy = means.x;
        float meanXhat = means.z;
        float result = coords.y == 0 ? meanDy :
            coords.y == 1 ? meanXhat : means.y - meanXhat * meanDy;
        setOutput(result);
      }`;
  }
}

/** dx = gamma * invStd * (dy - mean(dy) - xhat' * mean(dy * xhat')), elementwise. */
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
        ${viewCoords(layout.dataFormat)}
        float invStd = getInvStd(n, c);
        float xhat = (getXAtOutCoords() - getMean(n, c)) * invStd - getCoefs(n, 1, c);
        float scale = invStd${hasGamma ? ' * getGamma(c)' : ''};
        setOutput(scale *
            (getDyAtOutCoords() - getCoefs(n, 0, c) - xhat * getCoefs(n, 2, c)));
      }`;
  }
}

/**
 * dgamma (row 2 of the coefficients) or dbeta (row 0): the per-(instance,
 * channel) means times S, added over instances.
 */
export class ParamGradProgram extends Program {
  variableNames = ['coefs'];
  outputShape: number[];
  userCode: string;

  constructor(layout: InstanceNormLayout, which: 'dgamma'|'dbeta') {
    super();
    this.outputShape = [layout.channels];
    const row = which === 'dgamma' ? 2 : 0;
    this.userCode = `
      void main() {
        int c = getOutputCoords();
        float total = 0.0;
        for (int n = 0; n < ${layout.batch}; n++) {
          total += getCoefs(n, ${row}, c);
        }
        setOutput(total * ${layout.spatial}.0);
      }`;
  }
}

export function viewShape(layout: InstanceNormLayout): [number, number, number] {
  const {batch, spatial, channels} = layout;
  return layout.dataFormat === 'channelsLast' ? [batch, spatial, channels] :
                                                [batch, channels, spatial];
}
