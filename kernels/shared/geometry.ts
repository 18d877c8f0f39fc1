/**
 * What the float64 loops of this folder need to know about x: its layout
 * (src/layout.ts) and the channel groups of group norm. Backend-independent:
 * the loops read and write plain typed arrays (JS arrays on cpu, views of the
 * wasm heap on wasm).
 */
import type {DataFormat} from '../../src/kernel_names';
import {instanceNormLayout, InstanceNormLayout} from '../../src/layout';

export interface NormGeometry extends InstanceNormLayout {
  /** Channel groups (C for instance norm); channel c is in group floor(c / channelsPerGroup). */
  groups: number;
  channelsPerGroup: number;
  /** Elements per (instance, group): spatial * channelsPerGroup. */
  groupSize: number;
}

/**
 * The geometry of x for the kernel `kernelName`; `groups` absent means C.
 * Throws when `groups` is not a positive divisor of C.
 */
export function normGeometry(
  shape: readonly number[],
  dataFormat: DataFormat,
  groups: number | undefined,
  kernelName: string,
): NormGeometry {
  const layout = instanceNormLayout(shape, dataFormat);
  const count = groups ?? layout.channels;
  if (!Number.isInteger(count) || count < 1 || layout.channels % count !== 0) {
    throw new Error(
      `${kernelName}: attribute 'groups' must be a positive divisor of C = ` +
        `${layout.channels}, but got ${String(groups)}.`,
    );
  }
  const channelsPerGroup = layout.channels / count;
  return {
    ...layout,
    groups: count,
    channelsPerGroup,
    groupSize: layout.spatial * channelsPerGroup,
  };
}

/**
 * Visits x in memory order, one contiguous run at a time. channelsLast: a run
 * per (instance, pixel) over every channel, element j of it in channel
 * `channel0 + j`. channelsFirst: a run per (instance, channel) over its
 * pixels, every element in channel `channel0` (`perElement` false). The
 * statistics index of a channel is `n * C + c`, passed as `channel0`.
 */
export type RunVisitor = (
  offset: number,
  length: number,
  channel0: number,
  perElement: boolean,
) => void;

export function forEachRun(geometry: NormGeometry, visit: RunVisitor): void {
  const {batch, spatial, channels} = geometry;
  const perElement = geometry.dataFormat === 'channelsLast';
  const runs = perElement ? spatial : channels;
  const length = perElement ? channels : spatial;
  for (let n = 0, offset = 0; n < batch; n++) {
    const base = n * channels;
    for (let r = 0; r < runs; r++, offset += length) {
      visit(offset, length, perElement ? base : base + r, perElement);
    }
  }
}

/**
 * Per (instance, channel) values from per (instance, group) ones: entry
 * `n * C + c` of the result is entry `n * groups + group(c)` of `perGroup`.
 */
export function groupToChannel(geometry: NormGeometry, perGroup: ArrayLike<number>): Float64Array {
  const {batch, channels, groups, channelsPerGroup} = geometry;
  const out = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      out[n * channels + c] = perGroup[n * groups + Math.floor(c / channelsPerGroup)];
    }
  }
  return out;
}

/** A per-channel vector read at c, or `fill` where it is absent. */
export function channelValue(values: ArrayLike<number> | null, c: number, fill: number): number {
  return values ? values[c] : fill;
}
