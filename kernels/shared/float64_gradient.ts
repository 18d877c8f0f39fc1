/**
 * The gradient of instance / group norm as plain loops with float64
 * accumulation, on typed arrays the caller owns (see float64_forward.ts).
 *
 * With u = gamma[c] * dy, M elements per (instance, group) and
 * xhat = (x - mean) * invStd:
 *   dx = invStd / M * (M * u - sum_g(u) - xhat * sum_g(u * xhat))
 *   dgamma[c] = sum over instances and pixels of dy * xhat, dbeta[c] of dy.
 * Pass 1 sums dy, dy * (x - mean) and x - mean per (instance, channel); the
 * group sums follow from those (sum_g(u) = sum over the group's channels of
 * gamma[c] * sum(dy)). Pass 2 writes dx.
 *
 * The saved mean is float32: at an offset of 1e4 it is off by up to half an
 * ulp (~5e-4), which shifts every xhat of the group by the same amount. The
 * sum of xhat recovers that shift (the true xhat has mean zero over the
 * group), and it is removed, so dx and dgamma keep float32 accuracy.
 */
import {centeredSums} from './centered_sums';
import {affinePass, channelValue, groupToChannel, NormGeometry, scaledByChannel} from './geometry';

export interface GradientArrays {
  /** Same layout as x. */
  dx: Float32Array;
  /** `[C]`. */
  dgamma: Float32Array;
  /** `[C]`. */
  dbeta: Float32Array;
}

/**
 * Writes dx, dgamma and dbeta into `out`. mean and invStd are the forward's
 * `[N, groups]` outputs; gamma null means 1.
 */
export function normGradientFloat64(
  geometry: NormGeometry,
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array | null,
  mean: Float32Array,
  invStd: Float32Array,
  out: GradientArrays,
): void {
  if (geometry.groupSize === 0) {
    out.dgamma.fill(0);
    out.dbeta.fill(0);
    return;
  }
  const center = groupToChannel(geometry, mean);
  const {slope, intercept} = gradientTerms(geometry, dy, x, gamma, center, invStd, out);
  // dx = invStd * gamma * dy + slope * (x - mean) + intercept.
  affinePass(geometry, out.dx, x, dy, {
    a: scaledByChannel(geometry, invStd, gamma),
    b: slope,
    m: center,
    k: intercept,
  });
}

/**
 * Pass 1 and the group sums: writes dgamma and dbeta and returns the
 * per-(instance, channel) slope and intercept of dx in x - mean.
 */
function gradientTerms(
  geometry: NormGeometry,
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array | null,
  center: Float64Array,
  invStd: Float32Array,
  out: GradientArrays,
): {slope: Float64Array; intercept: Float64Array} {
  const {batch, channels, groups, channelsPerGroup, groupSize} = geometry;
  const {g: sumDy, gd: sumDyD, d: sumD} = centeredSums(geometry, x, center, dy);
  const slope = new Float64Array(batch * channels);
  const intercept = new Float64Array(batch * channels);
  const dgamma = new Float64Array(channels);
  const dbeta = new Float64Array(channels);
  for (let n = 0; n < batch; n++) {
    for (let group = 0; group < groups; group++) {
      const c0 = group * channelsPerGroup;
      const c1 = c0 + channelsPerGroup;
      const s = invStd[n * groups + group];
      let xhatShift = 0;
      for (let c = c0; c < c1; c++) xhatShift += sumD[n * channels + c] * s;
      xhatShift /= groupSize;
      // sum_g(u) and sum_g(u * xhat), xhat corrected by the shift.
      let sumU = 0;
      let sumUXhat = 0;
      for (let c = c0; c < c1; c++) {
        const nc = n * channels + c;
        const dyXhat = sumDyD[nc] * s - xhatShift * sumDy[nc];
        sumU += channelValue(gamma, c, 1) * sumDy[nc];
        sumUXhat += channelValue(gamma, c, 1) * dyXhat;
        dgamma[c] += dyXhat;
        dbeta[c] += sumDy[nc];
      }
      for (let c = c0; c < c1; c++) {
        const nc = n * channels + c;
        slope[nc] = (-s * s * sumUXhat) / groupSize;
        intercept[nc] = (s * (xhatShift * sumUXhat - sumU)) / groupSize;
      }
    }
  }
  out.dgamma.set(dgamma);
  out.dbeta.set(dbeta);
  return {slope, intercept};
}
