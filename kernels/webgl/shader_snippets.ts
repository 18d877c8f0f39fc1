/**
 * GLSL shared by the programs of the webgl kernels, and the geometry it is
 * generated from.
 *
 * Two paths, chosen per call by how x is stored:
 * - unpacked (one float per texel; WEBGL_PACK=false): programs see a tensor
 *   of the shape of x as its 3-D view `[N, S, C]` / `[N, C, S]` (free for an
 *   unpacked texture, which is laid out by flat index);
 * - packed (RGBA texels holding 2x2 blocks of the last two axes; the
 *   default): programs see it as `[B, R, Cc]`, the leading axes collapsed and
 *   the last two kept, which leaves the texture untouched (reshape-free). The
 *   channel sits on a different axis of that view per layout (see TexelKind).
 *
 * Statistics are reduced per chunk of `units` of one (instance, channel): a
 * unit is one pixel (unpacked), one texel (packed, channel on one of the two
 * texel axes) or one row of texels (packed channelsFirst of rank >= 4, where a
 * texel holds 2x2 pixels of one channel). Each chunk-pass fragment reads whole
 * texels, masks the lanes outside the tensor, and writes its chunk's means.
 */
import type {DataFormat} from '../../src/kernel_names';
import type {InstanceNormLayout} from '../../src/layout';

/**
 * Where the channel is in a packed texel of `[B, R, Cc]`:
 * - 'columns': channelsLast; Cc = C, R = the last spatial axis.
 * - 'rows': channelsFirst of rank 3; R = C, Cc = S.
 * - 'none': channelsFirst of rank >= 4; one channel per texel, R and Cc the
 *   last two spatial axes.
 */
export type TexelKind = 'columns'|'rows'|'none';

export interface Geometry {
  layout: InstanceNormLayout;
  packed: boolean;
  /** The view programs read x (and dy) in: 3-D view, or `[B, R, Cc]` if packed. */
  viewShape: [number, number, number];
  kind: TexelKind;
  /** Units per (instance, channel). */
  units: number;
  /** Pixels of a full unit; a unit at the end of an odd line holds half. */
  unitPixels: number;
  /** Units per line; with `oddLine`, the last unit of each line is half full. */
  unitsPerLine: number;
  oddLine: boolean;
  /** Texels per unit (packed 'none': a row of texels). */
  texelsPerUnit: number;
  /** Leading-axis groups per (instance) or per (instance, channel), see unitTexel. */
  outer: number;
}

export function geometry(shape: readonly number[], layout: InstanceNormLayout, packed: boolean):
    Geometry {
  const {batch, spatial, channels, dataFormat} = layout;
  if (!packed) {
    const viewShape: [number, number, number] = dataFormat === 'channelsLast' ?
        [batch, spatial, channels] : [batch, channels, spatial];
    return {layout, packed, viewShape, kind: 'columns', units: spatial, unitPixels: 1,
            unitsPerLine: 1, oddLine: false, texelsPerUnit: 1, outer: 1};
  }
  const rank = shape.length;
  const rows = shape[rank - 2];
  const cols = shape[rank - 1];
  const lead = shape.slice(0, rank - 2).reduce((a, b) => a * b, 1);
  const viewShape: [number, number, number] = [lead, rows, cols];
  const half = (d: number) => Math.ceil(d / 2);
  if (dataFormat === 'channelsLast') {
    // A line is one row of the last spatial axis (R), two pixels a texel.
    const outer = lead / batch;
    return {layout, packed, viewShape, kind: 'columns', units: outer * half(rows), unitPixels: 2,
            unitsPerLine: half(rows), oddLine: rows % 2 === 1, texelsPerUnit: 1, outer};
  }
  if (rank === 3) {
    return {layout, packed, viewShape, kind: 'rows', units: half(cols), unitPixels: 2,
            unitsPerLine: half(cols), oddLine: cols % 2 === 1, texelsPerUnit: 1, outer: 1};
  }
  // A unit is a row of texels: two image rows of `cols` pixels.
  const outer = lead / (batch * channels);
  return {layout, packed, viewShape, kind: 'none', units: outer * half(rows), unitPixels: 2 * cols,
          unitsPerLine: half(rows), oddLine: rows % 2 === 1, texelsPerUnit: half(cols), outer};
}

/** How the units of each (instance, channel) are split among fragments. */
export interface Chunking {
  /** Units per chunk (the last chunk may have fewer). */
  unitsPerChunk: number;
  /** Chunks per (instance, channel). */
  count: number;
}

/**
 * Chunks of about sqrt(S) pixels (at least 64, or the whole (instance,
 * channel) when smaller) balance the two passes: the chunk pass runs
 * N*C*count fragments of sqrt(S) reads each, the merge N*C fragments of
 * `count` reads.
 */
export function chooseChunking(g: Geometry): Chunking {
  const override = (globalThis as {CHUNK_TARGET?: number}).CHUNK_TARGET;
  const targetPixels = override ?? Math.max(64, Math.ceil(Math.sqrt(g.layout.spatial)));
  const unitsPerChunk = Math.max(1, Math.min(g.units, Math.round(targetPixels / g.unitPixels)));
  return {unitsPerChunk, count: Math.max(1, Math.ceil(g.units / unitsPerChunk))};
}

// --------------------------------------------------------------- snippets

const capitalized = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * `float chunkPixels(int k)`: the number of pixels in chunk k, in closed
 * form: full units, less half a unit for each line end (odd line) inside.
 */
export function chunkPixelsSnippet(g: Geometry, chunking: Chunking): string {
  const halfUnit = g.oddLine ? g.unitPixels / 2 : 0;
  return `
    float chunkPixels(int k) {
      int u0 = k * ${chunking.unitsPerChunk};
      int u1 = min(u0 + ${chunking.unitsPerChunk}, ${g.units});
      int lineEnds = u1 / ${g.unitsPerLine} - u0 / ${g.unitsPerLine};
      return float(${g.unitPixels} * (u1 - u0) - ${halfUnit} * lineEnds);
    }`;
}

/**
 * Readers of a tensor shaped like x, per unit: unpacked,
 * `float <name>Unit(int n, int c, int u, int j)` is the pixel u; packed, it
 * returns a vec4 of up to four pixels of channel c from texel j of unit u,
 * valid where `unitValid(u, j)` says.
 */
export function unitReaderSnippet(g: Geometry, name: string): string {
  const get = `get${capitalized(name)}`;
  const {channels} = g.layout;
  if (!g.packed) {
    const args = g.layout.dataFormat === 'channelsLast' ? 'n, u, c' : 'n, c, u';
    return `float ${name}Unit(int n, int c, int u, int j) { return ${get}(${args}); }`;
  }
  const tpl = g.unitsPerLine;
  switch (g.kind) {
    case 'columns':
      return `
        vec4 ${name}Unit(int n, int c, int u, int j) {
          int line = u / ${tpl};
          vec4 t = ${get}(n * ${g.outer} + line, 2 * (u - line * ${tpl}), c - imod(c, 2));
          return imod(c, 2) == 0 ? vec4(t.x, t.z, 0.0, 0.0) : vec4(t.y, t.w, 0.0, 0.0);
        }`;
    case 'rows':
      return `
        vec4 ${name}Unit(int n, int c, int u, int j) {
          vec4 t = ${get}(n, c - imod(c, 2), 2 * u);
          return imod(c, 2) == 0 ? vec4(t.x, t.y, 0.0, 0.0) : vec4(t.z, t.w, 0.0, 0.0);
        }`;
    default:
      return `
        vec4 ${name}Unit(int n, int c, int u, int j) {
          int slab = u / ${tpl};
          return ${get}((n * ${channels} + c) * ${g.outer} + slab, 2 * (u - slab * ${tpl}), 2 * j);
        }`;
  }
}

/** `bvec4 unitValid(int u, int j)`: the lanes of `<name>Unit` inside the tensor. */
export function unitValidSnippet(g: Geometry): string {
  const [, rows, cols] = g.viewShape;
  const tpl = g.unitsPerLine;
  switch (g.packed ? g.kind : 'unpacked') {
    case 'unpacked':
      return '';
    case 'columns':
      return `
        bvec4 unitValid(int u, int j) {
          int r = 2 * (u - (u / ${tpl}) * ${tpl});
          return bvec4(true, r + 1 < ${rows}, false, false);
        }`;
    case 'rows':
      return `bvec4 unitValid(int u, int j) { return bvec4(true, 2 * u + 1 < ${cols}, false, false); }`;
    default:
      return `
        bvec4 unitValid(int u, int j) {
          bool nextRow = 2 * (u - (u / ${tpl}) * ${tpl}) + 1 < ${rows};
          bool nextCol = 2 * j + 1 < ${cols};
          return bvec4(true, nextCol, nextRow, nextRow && nextCol);
        }`;
  }
}

/**
 * Componentwise choice without arithmetic: padding lanes of a packed
 * texture may hold anything, NaN included, and NaN * 0 is NaN.
 */
export const SELECT_SNIPPET = `
  vec4 select4(bvec4 which, vec4 a, vec4 b) {
    return vec4(which.x ? a.x : b.x, which.y ? a.y : b.y, which.z ? a.z : b.z,
                which.w ? a.w : b.w);
  }`;

/**
 * The loop of a chunk-pass fragment over its units (and, packed 'none', the
 * texels of each unit), with `body` seeing `u` and `j`. Constant bounds, as
 * GLSL ES 1.0 requires.
 */
export function chunkLoop(g: Geometry, chunking: Chunking, body: string): string {
  return `
    for (int i = 0; i < ${chunking.unitsPerChunk}; i++) {
      if (i >= units) {
        break;
      }
      int u = u0 + i;
      for (int j = 0; j < ${g.texelsPerUnit}; j++) {
        ${body}
      }
    }`;
}

/**
 * The start of a chunk-pass fragment: its output texel of
 * `[N*C, 2*count, 2]` holds the four values of chunk k of (n, c), in the
 * order x, y, z, w = [2k][0], [2k][1], [2k+1][0], [2k+1][1].
 */
export function chunkHeader(g: Geometry, chunking: Chunking): string {
  return `
    ivec3 texel = getOutputCoords();
    int nc = texel.x;
    int n = nc / ${g.layout.channels};
    int c = nc - n * ${g.layout.channels};
    int u0 = (texel.y / 2) * ${chunking.unitsPerChunk};
    int units = min(${chunking.unitsPerChunk}, ${g.units} - u0);
    float count = chunkPixels(texel.y / 2);`;
}

/**
 * `void mergeMoments(int nc, out float shiftedMean, out float variance,
 * out float pivot)` over the forward chunk texels (x: chunk mean relative to
 * the pivot, y: chunk standard deviation, z: the pivot), by Chan et al.: the
 * variance is the mean chunk variance plus the spread of the chunk means.
 */
export function mergeMomentsSnippet(layout: InstanceNormLayout, chunking: Chunking): string {
  return `
    void mergeMoments(int nc, out float shiftedMean, out float variance, out float pivot) {
      float mean = 0.0;
      for (int k = 0; k < ${chunking.count}; k++) {
        mean += chunkPixels(k) * getPartials(nc, 2 * k, 0).x;
      }
      mean /= ${layout.spatial}.0;
      float spread = 0.0;
      for (int k = 0; k < ${chunking.count}; k++) {
        vec4 chunk = getPartials(nc, 2 * k, 0);
        float d = chunk.x - mean;
        spread += chunkPixels(k) * (chunk.y * chunk.y + d * d);
      }
      shiftedMean = mean;
      variance = spread / ${layout.spatial}.0;
      pivot = getPartials(nc, 0, 0).z;
    }`;
}

/**
 * `vec3 mergeGradSums(int nc)`: mean(dy), mean(xhat) and mean(dy * xhat')
 * with xhat' = xhat - mean(xhat), from the gradient chunk texels (x, y, z:
 * chunk means of dy, dy * xhat, xhat). Re-centering xhat removes the shift
 * the float32 rounding of the saved mean causes at large offsets (the true
 * xhat has mean zero).
 */
export function mergeGradSumsSnippet(layout: InstanceNormLayout, chunking: Chunking): string {
  return `
    vec3 mergeGradSums(int nc) {
      vec3 means = vec3(0.0);
      for (int k = 0; k < ${chunking.count}; k++) {
        means += chunkPixels(k) * getPartials(nc, 2 * k, 0).xyz;
      }
      means /= ${layout.spatial}.0;
      return vec3(means.x, means.z, means.y - means.z * means.x);
    }`;
}

/**
 * Packed elementwise programs: `ivec2 texelInstanceChannel(ivec3 texel)`,
 * the instance and the (first, even) channel of an output texel of
 * `[B, R, Cc]`, and `vec4 spread(vec4 t, int c, bool second)`, which spreads
 * per-channel values over the texel's lanes. t is a texel of a packed
 * `[N, rows, C]` texture at (n, row, even channel): lanes x, y = row for the
 * channels c, c + 1; z, w = the next row (`second`).
 */
export function texelChannelSnippet(g: Geometry): string {
  const {channels} = g.layout;
  switch (g.kind) {
    case 'columns':
      return `
        ivec2 texelInstanceChannel(ivec3 texel) { return ivec2(texel.x / ${g.outer}, texel.z); }
        vec4 spread(vec4 t, int c, bool second) { return second ? t.zwzw : t.xyxy; }`;
    case 'rows':
      return `
        ivec2 texelInstanceChannel(ivec3 texel) { return ivec2(texel.x, texel.y); }
        vec4 spread(vec4 t, int c, bool second) { return second ? t.zzww : t.xxyy; }`;
    default:
      return `
        ivec2 texelInstanceChannel(ivec3 texel) {
          int nc = texel.x / ${g.outer};
          return ivec2(nc / ${channels}, imod(nc, ${channels}));
        }
        vec4 spread(vec4 t, int c, bool second) {
          bool odd = imod(c, 2) == 1;
          return vec4(second ? (odd ? t.w : t.z) : (odd ? t.y : t.x));
        }`;
  }
}

/** Packed 2-D and 1-D samplers return the texel holding (r, c): pick the lane. */
export const PICK_SNIPPET = `
  float pick2d(vec4 t, int r, int c) {
    bool oddC = imod(c, 2) == 1;
    return imod(r, 2) == 1 ? (oddC ? t.w : t.z) : (oddC ? t.y : t.x);
  }
  float pick1d(vec4 t, int c) { return imod(c, 2) == 1 ? t.y : t.x; }`;

export function viewShape(layout: InstanceNormLayout, format: DataFormat = layout.dataFormat):
    [number, number, number] {
  const {batch, spatial, channels} = layout;
  return format === 'channelsLast' ? [batch, spatial, channels] : [batch, channels, spatial];
}
