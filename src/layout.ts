import type {DataFormat} from './kernel_names';

/**
 * Every kernel sees x as a 3-D array: `[batch, spatial, channels]` for
 * channelsLast, `[batch, channels, spatial]` for channelsFirst, where
 * `spatial` is the product of the spatial dimensions (rank 3, 4 and 5 alike).
 */
export interface InstanceNormLayout {
  batch: number;
  spatial: number;
  channels: number;
  dataFormat: DataFormat;
}

export function instanceNormLayout(
  shape: readonly number[],
  dataFormat: DataFormat,
): InstanceNormLayout {
  const batch = shape[0];
  const channelsLast = dataFormat === 'channelsLast';
  const channels = channelsLast ? shape[shape.length - 1] : shape[1];
  const spatialDims = channelsLast ? shape.slice(1, -1) : shape.slice(2);
  const spatial = spatialDims.reduce((a, b) => a * b, 1);
  return {batch, spatial, channels, dataFormat};
}

/**
 * The `groups` attribute of a kernel checked against the channels of x
 * (absent: C, instance norm): every backend's kernels call this, so a kernel
 * run directly with a bad value fails the same way everywhere.
 */
export function kernelGroups(
  layout: InstanceNormLayout,
  groups: number | undefined,
  kernelName: string,
): number {
  const count = groups ?? layout.channels;
  if (!Number.isInteger(count) || count < 1 || layout.channels % count !== 0) {
    throw new Error(
      `${kernelName}: attribute 'groups' must be a positive divisor of C = ` +
        `${layout.channels}, but got ${String(groups)}.`,
    );
  }
  return count;
}

/** The shape `[N, S, C]` or `[N, C, S]` in which x is seen. */
export function threeDShape(layout: InstanceNormLayout): [number, number, number] {
  const {batch, spatial, channels} = layout;
  return layout.dataFormat === 'channelsLast'
    ? [batch, spatial, channels]
    : [batch, channels, spatial];
}

/**
 * x seen as a 4-D array in which each (instance, group) is a slab over two
 * axes: `[N, S, groups, C / groups]` for channelsLast (reduced over axes 1
 * and 3), `[N, groups, C / groups, S]` for channelsFirst (axes 2 and 3). The
 * statistics of the group, kept with keepDims, then broadcast against it.
 */
export interface GroupView {
  shape: [number, number, number, number];
  reduceAxes: [number, number];
  /** The spatial axis, over which per-(instance, channel) sums are taken. */
  spatialAxis: number;
  /** The shape a per-channel vector takes to broadcast against the view. */
  channelShape: number[];
  /** Elements per (instance, group): S * C / groups. */
  groupSize: number;
}

export function groupView(layout: InstanceNormLayout, groups: number): GroupView {
  const {batch, spatial, channels} = layout;
  const perGroup = channels / groups;
  const groupSize = spatial * perGroup;
  return layout.dataFormat === 'channelsLast'
    ? {
        shape: [batch, spatial, groups, perGroup],
        reduceAxes: [1, 3],
        spatialAxis: 1,
        channelShape: [groups, perGroup],
        groupSize,
      }
    : {
        shape: [batch, groups, perGroup, spatial],
        reduceAxes: [2, 3],
        spatialAxis: 3,
        channelShape: [groups, perGroup, 1],
        groupSize,
      };
}
