/**
 * Planning for the webgl kernels: numbers only, no shader text. How x is
 * seen (Geometry), how the pixels of each (instance, channel) are split into
 * chunks (Chunking, per renderer), and the rows of the merge textures.
 *
 * Two storage paths, chosen per call by how x is stored:
 * - unpacked (one float per texel; WEBGL_PACK=false): programs see x as its
 *   3-D view `[N, S, C]` / `[N, C, S]` (free for an unpacked texture, which is
 *   laid out by flat index);
 * - packed (RGBA texels holding 2x2 blocks of the last two axes; the
 *   default): programs see x as `[B, R, Cc]`, the leading axes collapsed and
 *   the last two kept, which leaves the texture untouched (reshape-free). The
 *   channel sits on a different axis of that view per layout (ChannelAxis).
 *
 * Statistics are reduced per chunk of `units` of one (instance, channel): a
 * unit is one pixel (unpacked), one texel (packed, channel on a texel axis)
 * or one row of texels (packed channelsFirst of rank >= 4, where a texel holds
 * 2x2 pixels of one channel).
 */
import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {DataFormat} from '../../src/kernel_names';
import {
  InstanceNormLayout,
  instanceNormLayout,
  threeDShape,
  kernelGroups,
} from '../../src/geometry';
import {Renderer, rendererOf} from './renderer';

/**
 * Where the channel is in a packed texel of `[B, R, Cc]`:
 * - 'columns': channelsLast; Cc = C, R = the last spatial axis.
 * - 'rows': channelsFirst of rank 3; R = C, Cc = S.
 * - 'texel': channelsFirst of rank >= 4; one channel per texel, R and Cc the
 *   last two spatial axes.
 */
export type ChannelAxis = 'columns' | 'rows' | 'texel';

export interface Geometry {
  layout: InstanceNormLayout;
  /** Channel groups (a divisor of C; C for instance norm). */
  groups: number;
  channelsPerGroup: number;
  packed: boolean;
  /** The view programs read x (and dy) in: the 3-D view, or `[B, R, Cc]` if packed. */
  viewShape: [number, number, number];
  channelAxis: ChannelAxis;
  /** Units per (instance, channel). */
  units: number;
  /** Pixels of a full unit; a unit at the end of an odd line holds half. */
  unitPixels: number;
  /** Units per line; with `oddLine`, the last unit of each line is half full. */
  unitsPerLine: number;
  oddLine: boolean;
  /** Texels per unit (packed 'texel': a row of texels). */
  texelsPerUnit: number;
  /** Leading-axis slabs per instance ('columns') or per (instance, channel) ('texel'). */
  slabs: number;
  /**
   * WebGL2: chunk passes address texels by flat index with texelFetch
   * instead of the generated samplers' per-read coordinate math.
   */
  texelFetch: boolean;
}

export function geometry(
  shape: readonly number[],
  layout: InstanceNormLayout,
  groups: number,
  packed: boolean,
  webglVersion: number,
): Geometry {
  const {batch, channels, dataFormat} = layout;
  const common = {layout, groups, channelsPerGroup: channels / groups, packed};
  const texelFetch = webglVersion === 2;
  if (!packed) {
    return {
      ...common,
      viewShape: threeDShape(layout),
      channelAxis: 'columns',
      units: layout.spatial,
      unitPixels: 1,
      unitsPerLine: 1,
      oddLine: false,
      texelsPerUnit: 1,
      slabs: 1,
      texelFetch,
    };
  }
  const rank = shape.length;
  const rows = shape[rank - 2];
  const columns = shape[rank - 1];
  const lead = shape.slice(0, rank - 2).reduce((a, b) => a * b, 1);
  const viewShape: [number, number, number] = [lead, rows, columns];
  const half = (d: number) => Math.ceil(d / 2);
  if (dataFormat === 'channelsLast') {
    // A line is one row of the last spatial axis (R), two pixels a texel.
    const slabs = lead / batch;
    const unitsPerLine = half(rows);
    return {
      ...common,
      viewShape,
      channelAxis: 'columns',
      units: slabs * unitsPerLine,
      unitPixels: 2,
      unitsPerLine,
      oddLine: rows % 2 === 1,
      texelsPerUnit: 1,
      slabs,
      texelFetch,
    };
  }
  if (rank === 3) {
    return {
      ...common,
      viewShape,
      channelAxis: 'rows',
      units: half(columns),
      unitPixels: 2,
      unitsPerLine: half(columns),
      oddLine: columns % 2 === 1,
      texelsPerUnit: 1,
      slabs: 1,
      texelFetch,
    };
  }
  // A unit is a row of texels: two image rows of `columns` pixels.
  const slabs = lead / (batch * channels);
  return {
    ...common,
    viewShape,
    channelAxis: 'texel',
    units: slabs * half(rows),
    unitPixels: 2 * columns,
    unitsPerLine: half(rows),
    oddLine: rows % 2 === 1,
    texelsPerUnit: half(columns),
    slabs,
    texelFetch,
  };
}

/**
 * Channels per chunk-pass fragment: one unpacked; packed, a pair (c, c + 1),
 * which share texels when the channel is a texel axis and are read with one
 * fetch.
 */
export function blockWidth(geometry: Geometry): number {
  return geometry.packed ? 2 : 1;
}

/** Channel blocks (of blockWidth channels) per instance. */
export function channelBlocks(geometry: Geometry): number {
  return Math.ceil(geometry.layout.channels / blockWidth(geometry));
}

/** How the units of each (instance, channel) are split among fragments. */
export interface Chunking {
  /** Units per chunk (the last chunk may have fewer). */
  unitsPerChunk: number;
  /** Chunks per (instance, channel). */
  count: number;
}

/**
 * Software: about 2048 chunk-pass fragments in all, each over 64 to 1024
 * pixels (a 256x256 image with 16 channels gets 256 chunks per (instance,
 * channel), 8x64x64x32 gets 16). Measured on SwiftShader, 128 to 512 pixels
 * per chunk all time alike for the chunk passes, while the merges grow with
 * the chunk count.
 *
 * GPU: fragments are plenty; what bounds a pass is its longest loop. A chunk
 * fragment loops over its units, a merge fragment twice over the chunks of
 * the channels of a group, so the chunk length balances the two:
 * unitsPerChunk * texelsPerUnit ~ 2 * count * channelsPerGroup, at least 16
 * pixels.
 */
export function chooseChunking(geometry: Geometry, renderer: Renderer): Chunking {
  const {units, unitPixels, layout} = geometry;
  let unitsPerChunk: number;
  if (renderer === 'gpu') {
    const {texelsPerUnit, channelsPerGroup} = geometry;
    const balanced = Math.sqrt((2 * units * channelsPerGroup) / texelsPerUnit);
    unitsPerChunk = Math.max(Math.ceil(16 / unitPixels), Math.round(balanced));
  } else {
    const blocksInAll = layout.batch * channelBlocks(geometry);
    const chunksWanted = Math.max(1, Math.round(2048 / blocksInAll));
    const targetPixels = Math.min(1024, Math.max(64, Math.ceil(layout.spatial / chunksWanted)));
    unitsPerChunk = Math.round(targetPixels / unitPixels);
  }
  unitsPerChunk = Math.max(1, Math.min(units, unitsPerChunk));
  return {unitsPerChunk, count: Math.ceil(units / unitsPerChunk)};
}

/**
 * The power of two p (and 1/p) by which a chunk pass scales deviations
 * before squaring: each fragment adds up (p * d)^2 over its at most
 * `maxPixels` pixels, with p^2 <= 1 / maxPixels, so the sum never exceeds the
 * largest d^2 and deviations around 1e18 (squares 1e36; float32 holds 3.4e38)
 * do not overflow. A power of two scales without rounding.
 */
export function squaresScale(geometry: Geometry, chunking: Chunking): number {
  const maxPixels = chunking.unitsPerChunk * geometry.unitPixels;
  return 2 ** -Math.ceil(Math.log2(maxPixels) / 2);
}

/**
 * Rows per instance of the packed merge textures `[N * rows, C]`; a texel
 * holds two rows (an even one and the next) of two channels, so each pair of
 * rows is named by its even row.
 */
export const FORWARD_ROWS = {
  /** (scale = invStd * gamma, offset = beta - (mean - pivot) * scale) */
  affine: 0,
  /** (pivot, 0) */
  pivot: 2,
  /** (mean, invStd): the outputs */
  stats: 4,
  perInstance: 6,
} as const;

export const GRAD_ROWS = {
  /** (A = gamma * invStd, E = invStd * (U - Xg * V)); dx = A dy - E - xhat F */
  slopes: 0,
  /** (F = invStd * V, mean) */
  centre: 2,
  /** (invStd, 0) */
  invStd: 4,
  /** (dbeta, dgamma) of one instance */
  params: 6,
  perInstance: 8,
} as const;

/** Rows per instance of the unpacked forward merge `[N, rows, groups]`. */
export const STATS_ROWS = {shiftedMean: 0, invStd: 1, pivot: 2, perInstance: 3} as const;

/**
 * Rows per instance of the unpacked gradient merge `[N, rows, C]`:
 * dx = invStd * (gamma * dy - shift - xhat * slope); dbeta and dgamma of one
 * instance.
 */
export const COEFFICIENT_ROWS = {shift: 0, slope: 1, dbeta: 2, dgamma: 3, perInstance: 4} as const;

/** Everything a kernel call plans from x: the geometry, the chunking. */
export interface Plan {
  geometry: Geometry;
  chunking: Chunking;
}

/**
 * Whether to run the packed programs: x is stored packed, or not yet on the
 * GPU while the backend packs (WEBGL_PACK, the default), so it is uploaded
 * packed. Otherwise (WEBGL_PACK=false, or x from an unpacked op) the
 * unpacked programs read it without conversion.
 */
export function prefersPacked(backend: MathBackendWebGL, x: TensorInfo): boolean {
  const data = backend.texData.get(x.dataId);
  return data.isPacked === true || (data.texture == null && env().getBool('WEBGL_PACK'));
}

export function planFor(
  backend: MathBackendWebGL,
  x: TensorInfo,
  dataFormat: DataFormat,
  groups: number | undefined,
  kernelName: string,
): Plan {
  const layout = instanceNormLayout(x.shape, dataFormat);
  groups = kernelGroups(layout, groups, kernelName);
  const packed = prefersPacked(backend, x);
  const version = env().getNumber('WEBGL_VERSION');
  const seen = geometry(x.shape, layout, groups, packed, version);
  return {geometry: seen, chunking: chooseChunking(seen, rendererOf(backend))};
}

/**
 * Output shape of the chunk passes: one texel per (instance, channel block,
 * chunk), `sets` times; the chunks along the texture's width, so that the
 * draw is not a one-texel-wide strip (SwiftShader shades 2x2 quads).
 */
export function partialsShape(geometry: Geometry, chunking: Chunking, sets = 1): number[] {
  return [sets * geometry.layout.batch * channelBlocks(geometry), 2, 2 * chunking.count];
}
