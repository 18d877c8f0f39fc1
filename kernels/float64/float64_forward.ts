/**
 * The forward pass of instance / group norm as plain loops with float64
 * accumulation, on typed arrays the caller owns (a backend's own arrays or
 * views of the wasm heap): no tensors, no allocation of outputs.
 *
 * Two passes over x. Pass 1 sums d = x - pivot and d² per (instance,
 * channel), the pivot being the channel's first pixel, so an offset of 1e4 or
 * a constant channel costs no precision; the (count, mean, M2) of the channels
 * of a group are then merged with Chan's formula. Pass 2 writes
 * y = act((x - mean) * scale + beta), mean, scale (invStd * gamma) and beta
 * per (instance, channel); x - mean is taken first so that beta survives at
 * any magnitude of x.
 */
import type {Activation, EpsilonMode} from '../../src/kernel_names';
import {activationFunction} from './activation';
import {centeredSums} from './centered_sums';
import {affinePass, groupToChannel, NormGeometry, scaledByGroup} from './geometry';

/** The forward's attributes besides the geometry. */
export interface ForwardSettings {
  epsilon: number;
  epsilonMode?: EpsilonMode;
  activation?: Activation;
  alpha?: number;
}

export interface ForwardArrays {
  /** Same layout as x. */
  y: Float32Array;
  /** `[N, groups]`. */
  mean: Float32Array;
  /** `[N, groups]`: the factor applied, 1 / sqrt(variance + epsilon) or 1 / (sigma + epsilon). */
  invStd: Float32Array;
}

/**
 * Writes y, mean and invStd of x into `out`. gamma and beta are per
 * (instance, channel), entry `n * C + c` (see parameterPerInstance).
 */
export function normForwardFloat64(
  geometry: NormGeometry,
  x: Float32Array,
  gamma: Float64Array,
  beta: Float64Array,
  settings: ForwardSettings,
  out: ForwardArrays,
): void {
  const {epsilon, epsilonMode} = settings;
  if (geometry.groupSize === 0) {
    // No elements: y is empty; the statistics of an empty group are those of zeros.
    out.mean.fill(0);
    out.invStd.fill(invStdOf(0, epsilon, epsilonMode));
    return;
  }
  const {mean, invStd} = groupMoments(geometry, x, epsilon, epsilonMode);
  out.mean.set(mean);
  out.invStd.set(invStd);
  const fn = activationFunction(settings.activation, settings.alpha);
  affinePass(
    geometry,
    out.y,
    x,
    null,
    // The pivot is the mean, so the shift is beta (../common/passes.ts).
    {
      pivot: groupToChannel(geometry, mean),
      scale: scaledByGroup(geometry, invStd, gamma),
      shift: beta,
    },
    fn && {fn},
  );
}

/** 1 / sqrt(variance + epsilon), or 1 / (sqrt(variance) + epsilon) for 'stddev'. */
function invStdOf(variance: number, epsilon: number, mode: EpsilonMode | undefined): number {
  return mode === 'stddev'
    ? 1 / (Math.sqrt(variance) + epsilon)
    : 1 / Math.sqrt(variance + epsilon);
}

/** Pass 1 and the merge: mean and invStd per (instance, group), `[N, groups]`. */
function groupMoments(
  geometry: NormGeometry,
  x: Float32Array,
  epsilon: number,
  epsilonMode: EpsilonMode | undefined,
): {mean: Float64Array; invStd: Float64Array} {
  const {batch, spatial, channels, groups, channelsPerGroup} = geometry;
  const pivot = channelPivots(geometry, x);
  const {d: sum, dd: sumSquares} = centeredSums(geometry, x, pivot, null);
  const groupMean = new Float64Array(batch * groups);
  const groupInvStd = new Float64Array(batch * groups);
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
      groupMean[n * groups + group] = mean;
      groupInvStd[n * groups + group] = invStdOf(m2 / count, epsilon, epsilonMode);
    }
  }
  return {mean: groupMean, invStd: groupInvStd};
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
