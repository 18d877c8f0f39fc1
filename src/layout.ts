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

/** The shape `[N, S, C]` or `[N, C, S]` in which x is seen. */
export function threeDShape(layout: InstanceNormLayout): [number, number, number] {
  const {batch, spatial, channels} = layout;
  return layout.dataFormat === 'channelsLast'
    ? [batch, spatial, channels]
    : [batch, channels, spatial];
}
