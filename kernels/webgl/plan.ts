/**
 * Planning for the webgl kernels: numbers only, no shader text. How the
 * programs see x (View), how the pixels of each (instance, channel) are
 * split into chunks (Chunking, per device class), which attributes the shaders
 * specialise on (KernelAttributes), and the rows of the merge textures.
 *
 * Two families of programs, picked once per call by how x is stored, with
 * the same constructor arguments, inputs and intermediate layouts:
 * - unpacked (one float per texel; WEBGL_PACK=false): programs see x as its
 *   3-D view `[N, S, C]` / `[N, C, S]` (free for an unpacked texture, which is
 *   laid out by flat index);
 * - packed (RGBA texels holding 2x2 tiles of the last two axes; the
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

import type {NormAttrs} from '../../src/kernel_names';
import {NormGeometry, normGeometry, threeDShape} from '../../src/geometry';
import {KernelAttributes, kernelAttributes} from '../common/attributes';
import {pairedRowLayout} from '../common/passes';
import type {DeviceClass} from '../common/device_class';
import {deviceClassOf} from './device_class';

/**
 * Where the channel is in a packed texel of `[B, R, Cc]`:
 * - 'columns': channelsLast; Cc = C, R = the last spatial axis.
 * - 'rows': channelsFirst of rank 3; R = C, Cc = S.
 * - 'texel': channelsFirst of rank >= 4; one channel per texel, R and Cc the
 *   last two spatial axes.
 */
export type ChannelAxis = 'columns' | 'rows' | 'texel';

/** How the programs of a family read x (and dy). */
export interface View {
  packed: boolean;
  /** The shape programs read x in: the 3-D view, or `[B, R, Cc]` if packed. */
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
  /**
   * Textures store float16 (largest finite value 65504): the merges clamp
   * what they store to that range (a constant group's invStd under 'stddev'
   * is 1 / epsilon, 1e5 at epsilon 1e-5), so that nothing reads back Inf.
   */
  halfFloat: boolean;
}

/** How the units of each (instance, channel) are split among fragments. */
export interface Chunking {
  /** Units per chunk (the last chunk may have fewer). */
  unitsPerChunk: number;
  /** Chunks per (instance, channel). */
  count: number;
}

/** Everything a kernel call plans from x and its attributes. */
export interface Plan {
  geometry: NormGeometry;
  view: View;
  chunking: Chunking;
  attributes: KernelAttributes;
}

export function view(
  shape: readonly number[],
  geometry: NormGeometry,
  packed: boolean,
  webglVersion: number,
  halfFloat = false,
): View {
  const {batch, channels, dataFormat} = geometry;
  const texelFetch = webglVersion === 2;
  if (!packed) {
    return {
      packed,
      viewShape: threeDShape(geometry),
      channelAxis: 'columns',
      units: geometry.spatial,
      unitPixels: 1,
      unitsPerLine: 1,
      oddLine: false,
      texelsPerUnit: 1,
      slabs: 1,
      texelFetch,
      halfFloat,
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
      packed,
      viewShape,
      channelAxis: 'columns',
      units: slabs * unitsPerLine,
      unitPixels: 2,
      unitsPerLine,
      oddLine: rows % 2 === 1,
      texelsPerUnit: 1,
      slabs,
      texelFetch,
      halfFloat,
    };
  }
  if (rank === 3) {
    return {
      packed,
      viewShape,
      channelAxis: 'rows',
      units: half(columns),
      unitPixels: 2,
      unitsPerLine: half(columns),
      oddLine: columns % 2 === 1,
      texelsPerUnit: 1,
      slabs: 1,
      texelFetch,
      halfFloat,
    };
  }
  // A unit is a row of texels: two image rows of `columns` pixels.
  const slabs = lead / (batch * channels);
  return {
    packed,
    viewShape,
    channelAxis: 'texel',
    units: slabs * half(rows),
    unitPixels: 2 * columns,
    unitsPerLine: half(rows),
    oddLine: rows % 2 === 1,
    texelsPerUnit: half(columns),
    slabs,
    texelFetch,
    halfFloat,
  };
}

/**
 * Channels per chunk-pass fragment: one unpacked; packed, a pair (c, c + 1),
 * which share texels when the channel is a texel axis and are read with one
 * fetch.
 */
export function tileWidth(seen: View): number {
  return seen.packed ? 2 : 1;
}

/** Channel tiles (of tileWidth channels) per instance. */
export function channelTiles(geometry: NormGeometry, seen: View): number {
  return Math.ceil(geometry.channels / tileWidth(seen));
}

/**
 * Software: about 2048 chunk-pass fragments in all, each over 64 to 1024
 * pixels (a 256x256 image with 16 channels gets 256 chunks per (instance,
 * channel), 8x64x64x32 gets 16): on SwiftShader the chunk passes take about
 * the same time at 128 to 512 pixels per chunk, while the merges grow with
 * the chunk count (SwiftShader bench rows 1x256x256x16 and 8x64x64x32).
 *
 * GPU: fragments are plenty; what bounds a pass is its longest loop. A chunk
 * fragment loops over its units, a merge fragment twice over the chunks of
 * the channels of a group, so the chunk length balances the two:
 * unitsPerChunk * texelsPerUnit ~ 2 * count * channelsPerGroup, at least 16
 * pixels.
 */
export function chooseChunking(
  geometry: NormGeometry,
  seen: View,
  deviceClass: DeviceClass,
): Chunking {
  const {units, unitPixels} = seen;
  let unitsPerChunk: number;
  if (deviceClass === 'gpu') {
    const balanced = Math.sqrt((2 * units * geometry.channelsPerGroup) / seen.texelsPerUnit);
    unitsPerChunk = Math.max(Math.ceil(16 / unitPixels), Math.round(balanced));
  } else {
    const tilesInAll = geometry.batch * channelTiles(geometry, seen);
    const chunksWanted = Math.max(1, Math.round(2048 / tilesInAll));
    const targetPixels = Math.min(1024, Math.max(64, Math.ceil(geometry.spatial / chunksWanted)));
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
export function squaresScale(seen: View, chunking: Chunking): number {
  const maxPixels = chunking.unitsPerChunk * seen.unitPixels;
  return 2 ** -Math.ceil(Math.log2(maxPixels) / 2);
}

/**
 * Rows per instance of the forward merge `[N * FORWARD_ROWS.count, C]`, both
 * families, in pairs (packed, a texel holds a pair of rows of two channels,
 * read by the pair's first term). Terms of the pass model
 * (../common/passes.ts): y = act((x - pivot) * scale + shift); mean and
 * invStd are the outputs.
 */
export const FORWARD_ROWS = pairedRowLayout([
  ['scale', 'shift'],
  ['pivot', null],
  ['mean', 'invStd'],
]);

/**
 * Rows per instance of the gradient merge `[N * GRAD_ROWS.count, C]`, both
 * families, in pairs. dx = scale * (dz - meanDz) + centredIntercept -
 * xhatFactor * xhat (../common/passes.ts); gamma and beta give z for the
 * activation's derivative; dbeta and dgamma are one instance's. Every row is
 * a mean or a centred value, bounded by |dz| * invStd: float16-safe; a
 * one-element group gets dz - meanDz = 0, centredIntercept = 0 and xhat = 0
 * exactly.
 */
export const GRAD_ROWS = pairedRowLayout([
  ['scale', 'centredIntercept'],
  ['xhatFactor', 'meanDz'],
  ['mean', 'invStd'],
  ['gamma', 'beta'],
  ['dbeta', 'dgamma'],
]);

/**
 * Whether to run the packed family: x is stored packed, or not yet on the
 * GPU while the backend packs (WEBGL_PACK, the default), so it is uploaded
 * packed. Otherwise (WEBGL_PACK=false, or x from an unpacked op) the
 * unpacked family reads it without conversion. Rank 2 (`[N, C]`, one pixel
 * per instance) always runs unpacked: its packed texture holds two instances
 * per texel, a layout the packed programs do not read.
 */
export function prefersPacked(backend: MathBackendWebGL, x: TensorInfo): boolean {
  if (x.shape.length < 3) return false;
  const data = backend.texData.get(x.dataId);
  return data.isPacked === true || (data.texture == null && env().getBool('WEBGL_PACK'));
}

export function planFor(
  backend: MathBackendWebGL,
  x: TensorInfo,
  attrs: NormAttrs,
  kernelName: string,
  gamma?: TensorInfo,
  beta?: TensorInfo,
): Plan {
  const geometry = normGeometry(x.shape, attrs.dataFormat, attrs.groups, kernelName);
  const version = env().getNumber('WEBGL_VERSION');
  const halfFloat =
    env().getBool('WEBGL_FORCE_F16_TEXTURES') || !env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  const seen = view(x.shape, geometry, prefersPacked(backend, x), version, halfFloat);
  return {
    geometry,
    view: seen,
    chunking: chooseChunking(geometry, seen, deviceClassOf(backend)),
    attributes: kernelAttributes(attrs, gamma, beta),
  };
}

/**
 * Output shape of the chunk passes: one texel per (instance, channel tile,
 * chunk), `sets` times; the chunks along the texture's width, so that the
 * draw is not a one-texel-wide strip (SwiftShader shades 2x2 quads).
 */
export function partialsShape(plan: Plan, sets = 1): number[] {
  const tiles = channelTiles(plan.geometry, plan.view);
  return [sets * plan.geometry.batch * tiles, 2, 2 * plan.chunking.count];
}
