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
export type TexelKind = 'columns' | 'rows' | 'none';

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
  /** Leading-axis groups per instance (packed 'columns') or per (instance, channel) ('none'). */
  outer: number;
  /**
   * WebGL2: chunk passes address texels by flat index with texelFetch
   * instead of the generated samplers' per-read coordinate math.
   */
  texelFetch: boolean;
}

export function geometry(
  shape: readonly number[],
  layout: InstanceNormLayout,
  packed: boolean,
  webglVersion: number,
): Geometry {
  const texelFetch = webglVersion === 2;
  const {batch, spatial, channels, dataFormat} = layout;
  if (!packed) {
    const viewShape: [number, number, number] =
      dataFormat === 'channelsLast' ? [batch, spatial, channels] : [batch, channels, spatial];
    return {
      layout,
      packed,
      viewShape,
      kind: 'columns',
      units: spatial,
      unitPixels: 1,
      unitsPerLine: 1,
      oddLine: false,
      texelsPerUnit: 1,
      outer: 1,
      texelFetch,
    };
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
    return {
      layout,
      packed,
      viewShape,
      kind: 'columns',
      units: outer * half(rows),
      unitPixels: 2,
      unitsPerLine: half(rows),
      oddLine: rows % 2 === 1,
      texelsPerUnit: 1,
      outer,
      texelFetch,
    };
  }
  if (rank === 3) {
    return {
      layout,
      packed,
      viewShape,
      kind: 'rows',
      units: half(cols),
      unitPixels: 2,
      unitsPerLine: half(cols),
      oddLine: cols % 2 === 1,
      texelsPerUnit: 1,
      outer: 1,
      texelFetch,
    };
  }
  // A unit is a row of texels: two image rows of `cols` pixels.
  const outer = lead / (batch * channels);
  return {
    layout,
    packed,
    viewShape,
    kind: 'none',
    units: outer * half(rows),
    unitPixels: 2 * cols,
    unitsPerLine: half(rows),
    oddLine: rows % 2 === 1,
    texelsPerUnit: half(cols),
    outer,
    texelFetch,
  };
}

/** How the units of each (instance, channel) are split among fragments. */
export interface Chunking {
  /** Units per chunk (the last chunk may have fewer). */
  unitsPerChunk: number;
  /** Chunks per (instance, channel). */
  count: number;
}

/**
 * About 2048 chunk-pass fragments in all (enough to fill a GPU; SwiftShader
 * runs a handful of threads), each over 64 to 1024 pixels: a 256x256 image
 * with 16 channels gets 256 chunks per (instance, channel), 8x64x64x32 gets
 * 16. Longer chunks make the merge (one fragment per (instance, channel)
 * looping over the chunks) cheap; shorter ones spread the work. Measured on
 * SwiftShader, 128 to 512 pixels per chunk all time alike for the chunk
 * passes, while the merges grow with the chunk count.
 */
export function chooseChunking(g: Geometry): Chunking {
  const groups = g.layout.batch * channelGroups(g);
  const chunksWanted = Math.max(1, Math.round(2048 / groups));
  const targetPixels = Math.min(1024, Math.max(64, Math.ceil(g.layout.spatial / chunksWanted)));
  const unitsPerChunk = Math.max(1, Math.min(g.units, Math.round(targetPixels / g.unitPixels)));
  return {unitsPerChunk, count: Math.max(1, Math.ceil(g.units / unitsPerChunk))};
}

/**
 * Chunk-pass fragments per instance: one per channel unpacked; packed, one
 * per pair of channels (c, c + 1), which share texels when the channel is a
 * texel axis and are read with one fetch.
 */
export function channelGroups(g: Geometry): number {
  return g.packed ? Math.ceil(g.layout.channels / 2) : g.layout.channels;
}

/**
 * GLSL literals of a power of two p, and of 1/p, for the squares of a chunk
 * pass: each fragment adds up (p * d)^2 over its at most `maxPixels` pixels,
 * with p^2 <= 1 / maxPixels, so the sum never exceeds the largest d^2 and a
 * chunk of deviations around 1e18 (squares 1e36; float32 holds 3.4e38) does
 * not overflow. A power of two scales without rounding, so small values lose
 * nothing either (short of float32's subnormal range).
 */
export function squaresScale(g: Geometry, chunking: Chunking): {scale: string; inverse: string} {
  const maxPixels = chunking.unitsPerChunk * g.unitPixels;
  const halvings = Math.ceil(Math.log2(maxPixels) / 2);
  // 2^-k prints exactly in decimal (JS uses an exponent form GLSL also reads).
  const scale = 2 ** -halvings;
  const literal = (v: number) => (Number.isInteger(v) ? `${v}.0` : `${v}`);
  return {scale: literal(scale), inverse: literal(1 / scale)};
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

/** Unpacked: `float <name>Unit(int n, int c, int u, int j)` is pixel u of (n, c). */
export function unitReaderSnippet(g: Geometry, name: string): string {
  const get = `get${capitalized(name)}`;
  const args = g.layout.dataFormat === 'channelsLast' ? 'n, u, c' : 'n, c, u';
  return `float ${name}Unit(int n, int c, int u, int j) { return ${get}(${args}); }`;
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
 * The loop of an unpacked chunk-pass fragment over its pixels, with `body`
 * seeing `u`. Constant bounds, as GLSL ES 1.0 requires.
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
 * `[rows, 2, 2*count]` holds the four values of chunk k of one group (a
 * channel, or a pair of channels packed), in the order x, y, z, w =
 * [0][2k], [0][2k+1], [1][2k], [1][2k+1]; row = n * groups + group, plus `rowOffset`
 * for a second block of rows.
 */
export function chunkHeader(g: Geometry, chunking: Chunking, rowOffset = '0'): string {
  const groups = channelGroups(g);
  return `
    ivec3 texel = getOutputCoords();
    int group = texel.x - ${rowOffset};
    int n = group / ${groups};
    int c = (group - n * ${groups}) * ${g.packed ? 2 : 1};
    int u0 = (texel.z / 2) * ${chunking.unitsPerChunk};
    int units = min(${chunking.unitsPerChunk}, ${g.units} - u0);
    float count = chunkPixels(texel.z / 2);`;
}

/**
 * Access to the chunk texels for the merges, per (n, c, chunk k):
 * `vec2 chunkMoments(n, c, k)` (mean relative to the pivot, standard
 * deviation), `float pivotOf(n, c)`, and `vec3 chunkGradMeans(n, c, k)`
 * (chunk means of dy, dy * xhat, xhat). Unpacked, a texel holds one channel
 * (the forward's with the pivot in z); packed, a pair, with the xhat means
 * in a second block of rows, and the pivot read from x.
 */
export function chunkAccessSnippet(g: Geometry, which: 'moments' | 'grad'): string {
  const {batch, channels} = g.layout;
  if (!g.packed) {
    const texel = `getPartials(n * ${channels} + c, 0, 2 * k)`;
    return which === 'moments'
      ? `
        vec2 chunkMoments(int n, int c, int k) { return ${texel}.xy; }
        float pivotOf(int n, int c) { int k = 0; return ${texel}.z; }`
      : `
        vec3 chunkGradMeans(int n, int c, int k) { return ${texel}.xyz; }`;
  }
  const groups = channelGroups(g);
  const texel = (offset: string) => `getPartials(${offset}n * ${groups} + c / 2, 0, 2 * k)`;
  return which === 'moments'
    ? `
      vec2 chunkMoments(int n, int c, int k) {
        vec4 t = ${texel('')};
        return imod(c, 2) == 0 ? t.xy : t.zw;
      }
      float pivotOf(int n, int c) {
        vec2 pivots = xFirstPixels(n, c - imod(c, 2), 0);
        return imod(c, 2) == 0 ? pivots.x : pivots.y;
      }`
    : `
      vec3 chunkGradMeans(int n, int c, int k) {
        vec4 t = ${texel('')};
        vec4 xhat = ${texel(`${batch * groups} + `)};
        return imod(c, 2) == 0 ? vec3(t.xy, xhat.x) : vec3(t.zw, xhat.y);
      }`;
}

/**
 * `void mergeMoments(int n, int c, out float shiftedMean, out float variance,
 * out float pivot)` over the forward chunks (chunkMoments), by Chan et al.: the
 * variance is the mean chunk variance plus the spread of the chunk means,
 * each chunk's term weighted by its share of the pixels as it is added, never
 * by its pixel count: count * variance overflows float32 when the standard
 * deviation is ~1e18.
 */
export function mergeMomentsSnippet(layout: InstanceNormLayout, chunking: Chunking): string {
  return `
    void mergeMoments(int n, int c, out float shiftedMean, out float variance, out float pivot) {
      float mean = 0.0;
      for (int k = 0; k < ${chunking.count}; k++) {
        mean += chunkPixels(k) * chunkMoments(n, c, k).x;
      }
      mean /= ${layout.spatial}.0;
      variance = 0.0;
      for (int k = 0; k < ${chunking.count}; k++) {
        vec2 chunk = chunkMoments(n, c, k);
        float d = chunk.x - mean;
        variance += (chunkPixels(k) / ${layout.spatial}.0) * (chunk.y * chunk.y + d * d);
      }
      shiftedMean = mean;
      pivot = pivotOf(n, c);
    }`;
}

/**
 * `vec3 mergeGradSums(int n, int c)`: mean(dy), mean(xhat) and
 * mean(dy * xhat') with xhat' = xhat - mean(xhat), from the gradient chunks
 * (chunkGradMeans). Re-centering xhat removes the shift
 * the float32 rounding of the saved mean causes at large offsets (the true
 * xhat has mean zero).
 */
export function mergeGradSumsSnippet(layout: InstanceNormLayout, chunking: Chunking): string {
  return `
    vec3 mergeGradSums(int n, int c) {
      vec3 means = vec3(0.0);
      for (int k = 0; k < ${chunking.count}; k++) {
        means += chunkPixels(k) * chunkGradMeans(n, c, k);
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
 * `[N * rows, C]` texture at (n * rows + row, even channel): lanes x, y = row for the
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

export function viewShape(
  layout: InstanceNormLayout,
  format: DataFormat = layout.dataFormat,
): [number, number, number] {
  const {batch, spatial, channels} = layout;
  return format === 'channelsLast' ? [batch, spatial, channels] : [batch, channels, spatial];
}

// ------------------------------------------------- packed chunk-pass loops

/** Whether some texels read by a packed chunk pass have padding lanes. */
function needsMask(g: Geometry): boolean {
  const [, , cols] = g.viewShape;
  return g.oddLine || (g.kind === 'none' && cols % 2 === 1);
}

/**
 * GLSL expression spreading a vec2 of per-channel values (c, c + 1) over the
 * lanes of texel t of a unit ('0', or '1' for the second channel's texel of
 * kind 'none'), matching where the channels sit in the texel.
 */
export function spreadPair(g: Geometry, v: string, t: '0' | '1'): string {
  switch (g.kind) {
    case 'columns':
      return `${v}.xyxy`;
    case 'rows':
      return `${v}.xxyy`;
    default:
      return t === '0' ? `vec4(${v}.x)` : `vec4(${v}.y)`;
  }
}

/** GLSL expression: per-lane sums s0 (and s1, kind 'none') added up per channel (c, c + 1). */
export function channelSums(g: Geometry, s0: string, s1: string): string {
  switch (g.kind) {
    case 'columns':
      return `vec2(${s0}.x + ${s0}.z, ${s0}.y + ${s0}.w)`;
    case 'rows':
      return `vec2(${s0}.x + ${s0}.y, ${s0}.z + ${s0}.w)`;
    default:
      return `vec2(dot(${s0}, vec4(1.0)), dot(${s1}, vec4(1.0)))`;
  }
}

/** Zeroes the padding lanes of `expr` where the texel has any (compile-time). */
export function masked(g: Geometry, expr: string): string {
  return needsMask(g) ? `select4(valid, ${expr}, vec4(0.0))` : expr;
}

/**
 * `vec2 <name>FirstPixels(int n, int c, int u)`: the first pixel of unit u
 * of channels c (even) and c + 1 of instance n.
 */
export function firstPixelsSnippet(g: Geometry, name: string): string {
  const get = `get${capitalized(name)}`;
  const tpl = g.unitsPerLine;
  const {channels} = g.layout;
  switch (g.kind) {
    case 'columns':
      return `
        vec2 ${name}FirstPixels(int n, int c, int u) {
          int line = u / ${tpl};
          return ${get}(n * ${g.outer} + line, 2 * (u - line * ${tpl}), c).xy;
        }`;
    case 'rows':
      return `vec2 ${name}FirstPixels(int n, int c, int u) { return ${get}(n, c, 2 * u).xz; }`;
    default:
      return `
        vec2 ${name}FirstPixels(int n, int c, int u) {
          int slab = u / ${tpl};
          int r = 2 * (u - slab * ${tpl});
          int b = (n * ${channels} + c) * ${g.outer} + slab;
          return vec2(${get}(b, r, 0).x, c + 1 < ${channels} ? ${get}(b + ${g.outer}, r, 0).x : 0.0);
        }`;
  }
}

/**
 * The loop of a packed chunk-pass fragment over the texels of its chunk of
 * channels (c, c + 1) of instance n, from unit u0. Each step defines
 * `vec4 <input>0` per input (and `<input>1`, the second channel's texel, for
 * kind 'none'), plus `bvec4 valid` when texels can have padding lanes, then
 * runs body('0') (and body('1')). The position in the view advances by
 * counters rather than a division per texel, which SwiftShader pays for.
 */
export function packedChunkLoop(
  g: Geometry,
  chunking: Chunking,
  inputs: string[],
  body: (t: '0' | '1') => string,
): string {
  const tpl = g.unitsPerLine;
  const [, rows, cols] = g.viewShape;
  const {channels} = g.layout;
  const get = (name: string) => `get${capitalized(name)}`;
  const mask = needsMask(g);
  let setup: string;
  let fetch: string;
  let advance: string;
  let innerCount = 1;
  const ceilC = Math.ceil(channels / 2);
  // WebGL2: flat texel index of the first texel of the chunk, and the step
  // per unit (packed texels run row-major through [B, ceil(R/2), ceil(Cc/2)]).
  const at = (name: string, index: string) =>
    `texelFetch(${name}, ivec2(imod(${index}, ${name}Width), ${index} / ${name}Width), 0)`;
  const widths = inputs.map(name => `int ${name}Width = textureSize(${name}, 0).x;`).join('\n');
  switch (g.kind) {
    case 'columns':
      setup =
        `int line = u0 / ${tpl}; int step = u0 - line * ${tpl};` +
        (g.texelFetch
          ? `
          ${widths}
          int index = (n * ${g.outer * tpl} + u0) * ${ceilC} + c / 2;`
          : '');
      fetch =
        inputs
          .map(name =>
            g.texelFetch
              ? `vec4 ${name}0 = ${at(name, 'index')};`
              : `vec4 ${name}0 = ${get(name)}(n * ${g.outer} + line, 2 * step, c);`,
          )
          .join('\n') +
        (mask ? `\nbvec4 valid = bvec4(true, true, step < ${tpl - 1}, step < ${tpl - 1});` : '');
      advance =
        `step++; if (step == ${tpl}) { step = 0; line++; }` +
        (g.texelFetch ? `\nindex += ${ceilC};` : '');
      break;
    case 'rows':
      setup = g.texelFetch
        ? `
          ${widths}
          int index = (n * ${ceilC} + c / 2) * ${tpl} + u0;`
        : '';
      fetch =
        inputs
          .map(name =>
            g.texelFetch
              ? `vec4 ${name}0 = ${at(name, 'index')};`
              : `vec4 ${name}0 = ${get(name)}(n, c, 2 * (u0 + i));`,
          )
          .join('\n') +
        (mask
          ? `\nbool full = u0 + i < ${tpl - 1};\nbvec4 valid = bvec4(true, full, true, full);`
          : '');
      advance = g.texelFetch ? 'index++;' : '';
      break;
    default: {
      innerCount = Math.ceil(cols / 2);
      const channelTexels = g.outer * tpl * innerCount;
      setup =
        `int slab = u0 / ${tpl}; int step = u0 - slab * ${tpl};
               int first = (n * ${channels} + c) * ${g.outer};
               bool pair = c + 1 < ${channels};` +
        (g.texelFetch
          ? `
               ${widths}
               int index = ((n * ${channels} + c) * ${g.outer * tpl} + u0) * ${innerCount};`
          : '');
      fetch =
        inputs
          .map(name =>
            g.texelFetch
              ? `
          vec4 ${name}0 = ${at(name, 'index')};
          vec4 ${name}1 = pair ? ${at(name, `(index + ${channelTexels})`)} : ${name}0;`
              : `
          vec4 ${name}0 = ${get(name)}(first + slab, 2 * step, 2 * j);
          vec4 ${name}1 = pair ? ${get(name)}(first + ${g.outer} + slab, 2 * step, 2 * j) : ${name}0;`,
          )
          .join('\n') +
        (mask
          ? `
          bool nextRow = 2 * step + 1 < ${rows};
          bool nextCol = 2 * j + 1 < ${cols};
          bvec4 valid = bvec4(true, nextCol, nextRow, nextRow && nextCol);`
          : '');
      advance = `step++; if (step == ${tpl}) { step = 0; slab++; }`;
    }
  }
  return `
    ${setup}
    for (int i = 0; i < ${chunking.unitsPerChunk}; i++) {
      if (i >= units) {
        break;
      }
      for (int j = 0; j < ${innerCount}; j++) {
        ${fetch}
        ${body('0')}
        ${g.kind === 'none' ? body('1') : ''}
        ${g.kind === 'none' && g.texelFetch ? 'index++;' : ''}
      }
      ${advance}
    }`;
}
