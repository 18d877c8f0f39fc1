/**
 * The one description of x that every backend, the composite and the layers
 * share: {@link NormGeometry}. One spelling per concept: `dataFormat`,
 * `channelsPerGroup`, `groupSize`.
 */
import type {DataFormat} from './kernel_names';

/**
 * Every kernel sees x as a 3-D array: `[batch, spatial, channels]` for
 * channelsLast, `[batch, channels, spatial]` for channelsFirst, where
 * `spatial` is the product of the spatial dimensions (rank 2 to 5 alike:
 * rank 2, `[N, C]`, has spatial = 1).
 */
export interface InstanceNormLayout {
  batch: number;
  spatial: number;
  channels: number;
  dataFormat: DataFormat;
}

/** x as every kernel sees it, with its channel groups. */
export interface NormGeometry extends InstanceNormLayout {
  /** Channel groups (C for instance norm); channel c is in group floor(c / channelsPerGroup). */
  groups: number;
  /** C / groups. */
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
  const count = kernelGroups(layout, groups, kernelName);
  const channelsPerGroup = layout.channels / count;
  return {
    ...layout,
    groups: count,
    channelsPerGroup,
    groupSize: layout.spatial * channelsPerGroup,
  };
}

/**
 * Whether a gamma or beta of this shape is per instance (`[N, C]`) rather
 * than per channel (`[C]`): element (n, c) is at `n * C + c` if so, at `c`
 * otherwise.
 */
export function isPerInstance(shape: readonly number[] | undefined): boolean {
  return shape != null && shape.length === 2;
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
  const channelsPerGroup = channels / groups;
  const groupSize = spatial * channelsPerGroup;
  return layout.dataFormat === 'channelsLast'
    ? {
        shape: [batch, spatial, groups, channelsPerGroup],
        reduceAxes: [1, 3],
        spatialAxis: 1,
        channelShape: [groups, channelsPerGroup],
        groupSize,
      }
    : {
        shape: [batch, groups, channelsPerGroup, spatial],
        reduceAxes: [2, 3],
        spatialAxis: 3,
        channelShape: [groups, channelsPerGroup, 1],
        groupSize,
      };
}
