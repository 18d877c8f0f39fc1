import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {InstanceNormLayout} from '../../src/layout';

export function float32Values(backend: MathBackendCPU, info: TensorInfo): Float32Array {
  return backend.data.get(info.dataId).values as Float32Array;
}

/**
 * A contiguous run of x: elements `x[offset + j]` for `j < length`, element j
 * belonging to the statistics index (`n * C + c`) `nc0 + j * ncStep`.
 */
export type RowVisitor = (offset: number, length: number, nc0: number, ncStep: number) => void;

/**
 * Visits x in memory order, one contiguous row at a time: channelsLast has a
 * row per (instance, pixel) holding every channel (ncStep 1), channelsFirst a
 * row per (instance, channel) holding its pixels (ncStep 0). The kernels run
 * their own tight loop over a row, so the layout is decided once per row, not
 * once per element, and memory is read in order in both layouts.
 */
export function forEachRow(layout: InstanceNormLayout, visit: RowVisitor): void {
  const {batch, spatial, channels} = layout;
  const channelsLast = layout.dataFormat === 'channelsLast';
  const rows = channelsLast ? spatial : channels;
  const length = channelsLast ? channels : spatial;
  let offset = 0;
  for (let n = 0; n < batch; n++) {
    for (let r = 0; r < rows; r++, offset += length) {
      visit(offset, length, channelsLast ? n * channels : n * channels + r, channelsLast ? 1 : 0);
    }
  }
}

/** A per-(instance, channel) array of a per-channel vector (absent: fill). */
export function perInstanceChannel(
  layout: InstanceNormLayout,
  values: Float32Array | null,
  fill: number,
): Float64Array {
  const {batch, channels} = layout;
  const out = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      out[n * channels + c] = values ? values[c] : fill;
    }
  }
  return out;
}

/**
 * Per-(instance, group) totals of a per-(instance, channel) array: group g of
 * instance n sums channels g * C / groups ... (g + 1) * C / groups - 1.
 */
export function sumOverGroups(
  layout: InstanceNormLayout,
  groups: number,
  perChannel: Float64Array,
): Float64Array {
  const perGroup = layout.channels / groups;
  const out = new Float64Array(layout.batch * groups);
  for (let nc = 0; nc < perChannel.length; nc++) {
    out[Math.floor(nc / perGroup)] += perChannel[nc];
  }
  return out;
}

/** A per-(instance, channel) array holding each channel's group value. */
export function expandGroups(
  layout: InstanceNormLayout,
  groups: number,
  perGroupValues: ArrayLike<number>,
): Float64Array {
  const perGroup = layout.channels / groups;
  const out = new Float64Array(layout.batch * layout.channels);
  for (let nc = 0; nc < out.length; nc++) {
    out[nc] = perGroupValues[Math.floor(nc / perGroup)];
  }
  return out;
}
