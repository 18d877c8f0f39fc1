/**
 * GLSL text for reading packed texels: where a channel's values sit in a
 * texel of the view `[B, R, Cc]` (see ChannelAxis in plan.ts), lane picks,
 * masks for padding lanes. Strings only; the numbers come from plan.ts.
 */
import type {Plan} from './plan';

/** `getX` for the input named `x`: the sampler tfjs generates. */
export function samplerOf(name: string): string {
  return `get${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/** A GLSL float literal (JS prints 2^-k exactly, in a form GLSL also reads). */
export function glslFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : `${value}`;
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

/** Packed 2-D and 1-D samplers return the texel holding (r, c): pick the lane. */
export const PICK_SNIPPET = `
  float pick2d(vec4 texel, int r, int c) {
    bool oddC = imod(c, 2) == 1;
    return imod(r, 2) == 1 ? (oddC ? texel.w : texel.z) : (oddC ? texel.y : texel.x);
  }
  float pick1d(vec4 texel, int c) { return imod(c, 2) == 1 ? texel.y : texel.x; }`;

/** Whether some texels read by a packed chunk pass have padding lanes. */
export function needsMask(plan: Plan): boolean {
  const columns = plan.view.viewShape[2];
  return plan.view.oddLine || (plan.view.channelAxis === 'texel' && columns % 2 === 1);
}

/** Zeroes the padding lanes of `expr` where the texel has any (compile-time). */
export function masked(plan: Plan, expr: string): string {
  return needsMask(plan) ? `select4(valid, ${expr}, vec4(0.0))` : expr;
}

/**
 * GLSL expression spreading a vec2 of per-channel values (c, c + 1) over the
 * lanes of texel `which` of a unit ('0', or '1' for the second channel's
 * texel when a texel holds one channel).
 */
export function spreadPair(plan: Plan, pair: string, which: '0' | '1'): string {
  switch (plan.view.channelAxis) {
    case 'columns':
      return `${pair}.xyxy`;
    case 'rows':
      return `${pair}.xxyy`;
    default:
      return which === '0' ? `vec4(${pair}.x)` : `vec4(${pair}.y)`;
  }
}

/** GLSL expression: per-lane sums `first` (and `second`, 'texel') added up per channel (c, c + 1). */
export function channelSums(plan: Plan, first: string, second: string): string {
  switch (plan.view.channelAxis) {
    case 'columns':
      return `vec2(${first}.x + ${first}.z, ${first}.y + ${first}.w)`;
    case 'rows':
      return `vec2(${first}.x + ${first}.y, ${first}.z + ${first}.w)`;
    default:
      return `vec2(dot(${first}, vec4(1.0)), dot(${second}, vec4(1.0)))`;
  }
}

/**
 * `vec2 <name>FirstPixels(int n, int c, int u)`: the first pixel of unit u
 * of channels c (even) and c + 1 of instance n; and
 * `float <name>FirstPixel(int n, int c)`, the first pixel of channel c (any).
 */
export function firstPixelsSnippet(plan: Plan, name: string): string {
  const get = samplerOf(name);
  const {unitsPerLine, slabs} = plan.view;
  const {channels} = plan.geometry;
  let pair: string;
  switch (plan.view.channelAxis) {
    case 'columns':
      pair = `
        vec2 ${name}FirstPixels(int n, int c, int u) {
          int line = u / ${unitsPerLine};
          return ${get}(n * ${slabs} + line, 2 * (u - line * ${unitsPerLine}), c).xy;
        }`;
      break;
    case 'rows':
      pair = `vec2 ${name}FirstPixels(int n, int c, int u) { return ${get}(n, c, 2 * u).xz; }`;
      break;
    default:
      pair = `
        vec2 ${name}FirstPixels(int n, int c, int u) {
          int slab = u / ${unitsPerLine};
          int r = 2 * (u - slab * ${unitsPerLine});
          int b = (n * ${channels} + c) * ${slabs} + slab;
          return vec2(${get}(b, r, 0).x, c + 1 < ${channels} ? ${get}(b + ${slabs}, r, 0).x : 0.0);
        }`;
  }
  return `
    ${pair}
    float ${name}FirstPixel(int n, int c) {
      vec2 pixels = ${name}FirstPixels(n, c - imod(c, 2), 0);
      return imod(c, 2) == 0 ? pixels.x : pixels.y;
    }`;
}

/**
 * Packed elementwise programs: `ivec2 texelInstanceChannel(ivec3 texel)`,
 * the instance and the (first, even) channel of an output texel of
 * `[B, R, Cc]`, and `vec4 spread(vec4 rows, int c, bool second)`, which
 * spreads per-channel values over the texel's lanes. `rows` is a texel of a
 * packed `[N * rowsPerInstance, C]` texture at (a row pair, even channel):
 * lanes x, y = the even row for channels c, c + 1; z, w = the odd row
 * (`second`).
 */
export function texelChannelSnippet(plan: Plan): string {
  const {channels} = plan.geometry;
  switch (plan.view.channelAxis) {
    case 'columns':
      return `
        ivec2 texelInstanceChannel(ivec3 texel) { return ivec2(texel.x / ${plan.view.slabs}, texel.z); }
        vec4 spread(vec4 rows, int c, bool second) { return second ? rows.zwzw : rows.xyxy; }`;
    case 'rows':
      return `
        ivec2 texelInstanceChannel(ivec3 texel) { return ivec2(texel.x, texel.y); }
        vec4 spread(vec4 rows, int c, bool second) { return second ? rows.zzww : rows.xxyy; }`;
    default:
      return `
        ivec2 texelInstanceChannel(ivec3 texel) {
          int slab = texel.x / ${plan.view.slabs};
          return ivec2(slab / ${channels}, imod(slab, ${channels}));
        }
        vec4 spread(vec4 rows, int c, bool second) {
          bool odd = imod(c, 2) == 1;
          return vec4(second ? (odd ? rows.w : rows.z) : (odd ? rows.y : rows.x));
        }`;
  }
}

/**
 * Unpacked elementwise programs shaped like the 3-D view: `n`, `c` and the
 * channel's `group` from the output coordinates.
 */
export function viewCoordsSnippet(plan: Plan): string {
  const channel = plan.geometry.dataFormat === 'channelsLast' ? 'z' : 'y';
  return `
    ivec3 coords = getOutputCoords();
    int n = coords.x;
    int c = coords.${channel};
    int group = c / ${plan.geometry.channelsPerGroup};`;
}

/**
 * A packed elementwise program: main() defines `first` (the instance's first
 * row of a packed merge texture of `rowsPerInstance` rows an instance) and
 * `c` (the channel) of the output texel, then runs `body`, with `spread`
 * (texelChannelSnippet) and `declarations` at hand.
 */
export function texelPass(
  plan: Plan,
  rowsPerInstance: number,
  body: string,
  declarations = '',
): string {
  return `
    ${texelChannelSnippet(plan)}
    ${declarations}
    void main() {
      ivec2 instanceChannel = texelInstanceChannel(getOutputCoords());
      int first = instanceChannel.x * ${rowsPerInstance};
      int c = instanceChannel.y;
      ${body}
    }`;
}

/** GLSL expression: the texel of rows (row, row + 1) at channels (c, c + 1) of `input`. */
export function rowsTexel(input: string, row: number): string {
  return `${samplerOf(input)}(first + ${row}, c - imod(c, 2))`;
}
