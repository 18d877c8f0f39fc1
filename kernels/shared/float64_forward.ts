/**
 * The forward pass of instance / group norm as plain loops with float64
 * accumulation, on typed arrays the caller owns (a backend's own arrays or
 * views of the wasm heap): no tensors, no allocation of outputs.
 *
 * Two passes over x. Pass 1 sums d = x - pivot and d² per (instance,
 * channel), the pivot being the channel's first pixel, so an offset of 1e4 or
 * a constant channel costs no precision; the (count, mean, M2) of the channels
 * of a group are then merged with Chan's formula. Pass 2 writes
 * y = (x - mean) * scale + beta, mean and scale per (instance, channel); x -
 * mean is taken first so that beta survives at any magnitude of x.
 */
import {channelValue, NormGeometry} from './geometry';

export interface ForwardArrays {
  /** Same layout as x. */
  y: Float32Array;
  /** `[N, groups]`. */
  mean: Float32Array;
  /** `[N, groups]`: 1 / sqrt(variance + epsilon). */
  invStd: Float32Array;
}

/**
 * Writes y, mean and invStd of x into `out`. gamma and beta are per channel;
 * null means 1 and 0.
 */
export function normForwardFloat64(
  geometry: NormGeometry,
  x: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  epsilon: number,
  out: ForwardArrays,
): void {
  if (geometry.groupSize === 0) {
    // No elements: y is empty; the statistics of an empty group are those of zeros.
    out.mean.fill(0);
    out.invStd.fill(1 / Math.sqrt(epsilon));
    return;
  }
  const {center, scale, shift} = groupStatistics(geometry, x, gamma, beta, epsilon, out);
  const {batch, spatial, channels} = geometry;
  const {y} = out;
  if (geometry.dataFormat === 'channelsLast') {
    // Two pixels per step (the last one twice for an odd S): the three
    // factors are loaded once for both.
    for (let n = 0; n < batch; n++) {
      const base = n * channels;
      for (let s = 0, i = base * spatial; s < spatial; s += 2, i += 2 * channels) {
        const next = s + 1 < spatial ? channels : 0;
        for (let c = 0; c < channels; c++) {
          const m = center[base + c];
          const a = scale[base + c];
          const b = shift[base + c];
          y[i + c] = (x[i + c] - m) * a + b;
          y[i + next + c] = (x[i + next + c] - m) * a + b;
        }
      }
    }
  } else {
    for (let nc = 0, i = 0; nc < batch * channels; nc++) {
      const m = center[nc];
      const a = scale[nc];
      const b = shift[nc];
      for (const end = i + spatial; i < end; i++) y[i] = (x[i] - m) * a + b;
    }
  }
}

/**
 * Pass 1 and the merge: writes mean and invStd per (instance, group) and
 * returns the per-(instance, channel) terms of y = (x - center) * scale + shift.
 */
function groupStatistics(
  geometry: NormGeometry,
  x: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  epsilon: number,
  out: ForwardArrays,
): {center: Float64Array; scale: Float64Array; shift: Float64Array} {
  const {batch, spatial, channels, groups, channelsPerGroup} = geometry;
  const pivot = channelPivots(geometry, x);
  const sum = new Float64Array(batch * channels);
  const sumSquares = new Float64Array(batch * channels);
  if (geometry.dataFormat === 'channelsLast') {
    // Two pixels per step: half the float64 loads and stores per element.
    const pairs = spatial >> 1;
    for (let n = 0; n < batch; n++) {
      const base = n * channels;
      for (let s = 0, i = base * spatial; s < pairs; s++, i += 2 * channels) {
        for (let c = 0; c < channels; c++) {
          const nc = base + c;
          const d0 = x[i + c] - pivot[nc];
          const d1 = x[i + channels + c] - pivot[nc];
          sum[nc] += d0 + d1;
          sumSquares[nc] += d0 * d0 + d1 * d1;
        }
      }
      if (spatial & 1) {
        for (let c = 0, i = (base + channels) * spatial - channels; c < channels; c++) {
          const d = x[i + c] - pivot[base + c];
          sum[base + c] += d;
          sumSquares[base + c] += d * d;
        }
      }
    }
  } else {
    for (let nc = 0, i = 0; nc < batch * channels; nc++) {
      const p = pivot[nc];
      let s = 0;
      let s2 = 0;
      for (const end = i + spatial; i < end; i++) {
        const d = x[i] - p;
        s += d;
        s2 += d * d;
      }
      sum[nc] = s;
      sumSquares[nc] = s2;
    }
  }

  const center = new Float64Array(batch * channels);
  const scale = new Float64Array(batch * channels);
  const shift = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) {
    for (let group = 0; group < groups; group++) {
      const c0 = group * channelsPerGroup;
      // Chan's formula over the channels of the group, one (S, mean, M2) each.
      let count = 0;
      let mean = 0;
      let m2 = 0;
      for (let c = c0; c < c0 + channelsPerGroup; c++) {
        const nc = n * channels + c;
        const channelMean = pivot[nc] + sum[nc] / spatial;
        const channelM2 = Math.max(0, sumSquares[nc] - (sum[nc] * sum[nc]) / spatial);
        const total = count + spatial;
        const delta = channelMean - mean;
        mean += (delta * spatial) / total;
        m2 += channelM2 + (delta * delta * count * spatial) / total;
        count = total;
      }
      const invStd = 1 / Math.sqrt(m2 / count + epsilon);
      out.mean[n * groups + group] = mean;
      out.invStd[n * groups + group] = invStd;
      for (let c = c0; c < c0 + channelsPerGroup; c++) {
        const nc = n * channels + c;
        center[nc] = mean;
        scale[nc] = invStd * channelValue(gamma, c, 1);
        shift[nc] = channelValue(beta, c, 0);
      }
    }
  }
  return {center, scale, shift};
}

/** x at the first pixel of every (instance, channel), indexed `n * C + c`. */
function channelPivots(geometry: NormGeometry, x: Float32Array): Float64Array {
  const {batch, spatial, channels} = geometry;
  const channelStride = geometry.dataFormat === 'channelsLast' ? 1 : spatial;
  const pivot = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      pivot[n * channels + c] = x[n * spatial * channels + c * channelStride];
    }
  }
  return pivot;
}
