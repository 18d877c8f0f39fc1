/**
 * GLSL text of the chunk passes: the fragment's chunk, its pixel count, and
 * the loops over its pixels (unpacked) or texels (packed). Each chunk-pass
 * fragment reads whole texels, masks the lanes outside the tensor, and writes
 * its chunk's means.
 */
import {tileWidth, channelTiles, Plan, squaresScale} from './plan';
import {glslFloat, needsMask, samplerOf} from './texel_snippets';

/**
 * A whole chunk pass: chunkPixels, `declarations`, and a main() that starts
 * with chunkHeader and runs `body`.
 */
export function chunkPass(
  plan: Plan,
  declarations: string,
  body: string,
  rowOffset?: string,
): string {
  return `
    ${chunkPixelsSnippet(plan)}
    ${declarations}
    void main() {
      ${chunkHeader(plan, rowOffset)}
      ${body}
    }`;
}

/**
 * `float chunkPixels(int k)`: the number of pixels in chunk k, in closed
 * form: full units, less half a unit for each line end (odd line) inside.
 */
export function chunkPixelsSnippet(plan: Plan): string {
  const {units, unitsPerLine, unitPixels} = plan.view;
  const halfUnit = plan.view.oddLine ? unitPixels / 2 : 0;
  return `
    float chunkPixels(int k) {
      int u0 = k * ${plan.chunking.unitsPerChunk};
      int u1 = min(u0 + ${plan.chunking.unitsPerChunk}, ${units});
      int lineEnds = u1 / ${unitsPerLine} - u0 / ${unitsPerLine};
      return float(${unitPixels} * (u1 - u0) - ${halfUnit} * lineEnds);
    }`;
}

/**
 * The start of a chunk-pass fragment: its output texel of
 * `[rows, 2, 2 * count]` holds the four values of chunk k of one channel
 * tile (a channel, or a pair of channels packed), in the order x, y, z, w =
 * [0][2k], [0][2k+1], [1][2k], [1][2k+1]; row = n * tiles + tile, plus
 * `rowOffset` for a second set of rows. Defines n, c (the tile's first
 * channel), u0, units (in the chunk) and count (its pixels).
 */
export function chunkHeader(plan: Plan, rowOffset = '0'): string {
  const tiles = channelTiles(plan.geometry, plan.view);
  return `
    ivec3 texel = getOutputCoords();
    int tile = texel.x - ${rowOffset};
    int n = tile / ${tiles};
    int c = (tile - n * ${tiles}) * ${tileWidth(plan.view)};
    int u0 = (texel.z / 2) * ${plan.chunking.unitsPerChunk};
    int units = min(${plan.chunking.unitsPerChunk}, ${plan.view.units} - u0);
    float count = chunkPixels(texel.z / 2);`;
}

/** GLSL expression: the first channel of the group of channel `c`. */
export function groupStart(plan: Plan, c: string): string {
  const {channelsPerGroup} = plan.geometry;
  return channelsPerGroup === 1 ? c : `((${c}) / ${channelsPerGroup}) * ${channelsPerGroup}`;
}

/** Unpacked: `float <name>Pixel(int n, int c, int u)` is pixel u of (n, c), per name. */
export function pixelReadersSnippet(plan: Plan, names: string[]): string {
  const args = plan.geometry.dataFormat === 'channelsLast' ? 'n, u, c' : 'n, c, u';
  return names
    .map(name => `float ${name}Pixel(int n, int c, int u) { return ${samplerOf(name)}(${args}); }`)
    .join('\n');
}

/**
 * The loop of an unpacked chunk-pass fragment over its pixels, with `body`
 * seeing `u`. Constant bounds, as GLSL ES 1.0 requires.
 */
export function pixelLoop(plan: Plan, body: string): string {
  return `
    for (int i = 0; i < ${plan.chunking.unitsPerChunk}; i++) {
      if (i >= units) {
        break;
      }
      int u = u0 + i;
      ${body}
    }`;
}

/** Per channel axis: GLSL before the loop, per texel fetch, and per unit step. */
interface TexelWalk {
  setup: string;
  fetch: string;
  advance: string;
  /** Texels per unit, looped over by `j`. */
  inner: number;
}

/**
 * The loop of a packed chunk-pass fragment over the texels of its chunk of
 * channels (c, c + 1) of instance n, from unit u0. Each step defines
 * `vec4 <input>0` per input (and `<input>1`, the second channel's texel, when
 * a texel holds one channel), plus `bvec4 valid` when texels can have padding
 * lanes, then runs body('0') (and body('1')). The position in the view
 * advances by counters rather than a division per texel, which SwiftShader
 * pays for.
 */
export function texelLoop(
  plan: Plan,
  inputs: string[],
  body: (which: '0' | '1') => string,
): string {
  const walk = texelWalk(plan, inputs);
  const perTexel = plan.view.channelAxis === 'texel';
  return `
    ${walk.setup}
    for (int i = 0; i < ${plan.chunking.unitsPerChunk}; i++) {
      if (i >= units) {
        break;
      }
      for (int j = 0; j < ${walk.inner}; j++) {
        ${walk.fetch}
        ${body('0')}
        ${perTexel ? body('1') : ''}
        ${perTexel && plan.view.texelFetch ? 'index++;' : ''}
      }
      ${walk.advance}
    }`;
}

function texelWalk(plan: Plan, inputs: string[]): TexelWalk {
  const {unitsPerLine, slabs, texelFetch} = plan.view;
  const [, rows, columns] = plan.view.viewShape;
  const {channels} = plan.geometry;
  const tiles = channelTiles(plan.geometry, plan.view);
  const mask = needsMask(plan);
  // WebGL2: flat texel index of the first texel of the chunk, and the step
  // per unit (packed texels run row-major through [B, ceil(R/2), ceil(Cc/2)]).
  const at = (name: string, index: string) =>
    `texelFetch(${name}, ivec2(imod(${index}, ${name}Width), ${index} / ${name}Width), 0)`;
  const widths = texelFetch
    ? inputs.map(name => `int ${name}Width = textureSize(${name}, 0).x;`).join('\n')
    : '';
  const fetchEach = (read: (name: string) => string) => inputs.map(read).join('\n');
  switch (plan.view.channelAxis) {
    case 'columns':
      return {
        setup: `int line = u0 / ${unitsPerLine}; int step = u0 - line * ${unitsPerLine};
          ${widths}
          ${texelFetch ? `int index = (n * ${slabs * unitsPerLine} + u0) * ${tiles} + c / 2;` : ''}`,
        fetch:
          fetchEach(name =>
            texelFetch
              ? `vec4 ${name}0 = ${at(name, 'index')};`
              : `vec4 ${name}0 = ${samplerOf(name)}(n * ${slabs} + line, 2 * step, c);`,
          ) +
          (mask
            ? `\nbvec4 valid = bvec4(true, true, step < ${unitsPerLine - 1}, step < ${
                unitsPerLine - 1
              });`
            : ''),
        advance: `step++; if (step == ${unitsPerLine}) { step = 0; line++; }
          ${texelFetch ? `index += ${tiles};` : ''}`,
        inner: 1,
      };
    case 'rows':
      return {
        setup: `${widths}
          ${texelFetch ? `int index = (n * ${tiles} + c / 2) * ${unitsPerLine} + u0;` : ''}`,
        fetch:
          fetchEach(name =>
            texelFetch
              ? `vec4 ${name}0 = ${at(name, 'index')};`
              : `vec4 ${name}0 = ${samplerOf(name)}(n, c, 2 * (u0 + i));`,
          ) +
          (mask
            ? `\nbool full = u0 + i < ${unitsPerLine - 1};\nbvec4 valid = bvec4(true, full, true, full);`
            : ''),
        advance: texelFetch ? 'index++;' : '',
        inner: 1,
      };
    default: {
      const inner = Math.ceil(columns / 2);
      const channelTexels = slabs * unitsPerLine * inner;
      const first = `(n * ${channels} + c) * ${slabs}`;
      return {
        setup: `int slab = u0 / ${unitsPerLine}; int step = u0 - slab * ${unitsPerLine};
          bool pair = c + 1 < ${channels};
          ${widths}
          ${texelFetch ? `int index = (${first} * ${unitsPerLine} + u0) * ${inner};` : ''}`,
        fetch:
          fetchEach(name => {
            const get = samplerOf(name);
            return texelFetch
              ? `vec4 ${name}0 = ${at(name, 'index')};
                 vec4 ${name}1 = pair ? ${at(name, `(index + ${channelTexels})`)} : ${name}0;`
              : `vec4 ${name}0 = ${get}(${first} + slab, 2 * step, 2 * j);
                 vec4 ${name}1 = pair ? ${get}(${first} + ${slabs} + slab, 2 * step, 2 * j) : ${name}0;`;
          }) +
          (mask
            ? `
          bool nextRow = 2 * step + 1 < ${rows};
          bool nextColumn = 2 * j + 1 < ${columns};
          bvec4 valid = bvec4(true, nextColumn, nextRow, nextRow && nextColumn);`
            : ''),
        advance: `step++; if (step == ${unitsPerLine}) { step = 0; slab++; }`,
        inner,
      };
    }
  }
}

/**
 * Packed: GLSL expression, the pivots (first element of the group) of
 * channels c and c + 1, read from x (firstPixelsSnippet).
 */
export function pivotPair(plan: Plan): string {
  const {channelsPerGroup} = plan.geometry;
  if (channelsPerGroup === 1) return 'xFirstPixels(n, c, 0)';
  const first = `xFirstPixel(n, ${groupStart(plan, 'c')})`;
  if (channelsPerGroup % 2 === 0) return `vec2(${first})`;
  const last = plan.geometry.channels - 1;
  return `vec2(${first}, xFirstPixel(n, ${groupStart(plan, `min(c + 1, ${last})`)}))`;
}

/** Packed: GLSL defining `group0`, `group1`, the groups of channels c and c + 1. */
export function groupPair(plan: Plan): string {
  const {channelsPerGroup} = plan.geometry;
  const last = plan.geometry.channels - 1;
  return `int group0 = c / ${channelsPerGroup}; int group1 = min(c + 1, ${last}) / ${channelsPerGroup};`;
}

/**
 * GLSL adding deviation `d` (relative to the chunk's first pixel) to `sum`,
 * and its square, scaled by squaresScale, to `squares`.
 */
export function addDeviation(plan: Plan, d: string, sum: string, squares: string): string {
  const scale = glslFloat(squaresScale(plan.view, plan.chunking));
  return `${sum} += ${d}; ${squares} += (${d} * ${scale}) * (${d} * ${scale});`;
}

/**
 * GLSL defining `<type> mean` and `<type> deviation` of a chunk from its
 * `sum` and `squares` (addDeviation) over `count` pixels; the variance stays
 * scaled until its root.
 */
export function chunkMoments(
  plan: Plan,
  type: 'float' | 'vec2',
  sum: string,
  squares: string,
): string {
  const scale = squaresScale(plan.view, plan.chunking);
  return `
    ${type} mean = ${sum} / count;
    ${type} scaledMean = mean * ${glslFloat(scale)};
    ${type} scaledVariance = max(${squares} / count - scaledMean * scaledMean, 0.0);
    ${type} deviation = sqrt(scaledVariance) * ${glslFloat(1 / scale)};`;
}
