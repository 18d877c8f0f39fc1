/**
 * The gradient of instance / group norm as plain loops with float64
 * accumulation, on typed arrays the caller owns (see float64_forward.ts).
 *
 * With dz = dy * act'(z) (z = xhat * gamma + beta recomputed from x and the
 * saved statistics), u = gamma * dz, M elements per (instance, group) and
 * xhat = (x - mean) * invStd:
 *   dx = invStd * u - invStd / M * sum_g(u) - k / M * xhat * sum_g(u * xhat)
 *   dgamma = sum of dz * xhat, dbeta = sum of dz, over pixels (and instances
 *   for a `[C]` parameter),
 * with k = invStd ('variance') or 1 / sigma, sigma = 1 / invStd - epsilon,
 * k = 0 where sigma <= 0 ('stddev'). Pass 1 sums dz, dz * (x - mean) and
 * x - mean per (instance, channel); the group sums follow from those
 * (sum_g(u) = sum over the group's channels of gamma * sum(dz)). Pass 2
 * recomputes dz and writes dx.
 *
 * The saved mean is float32: at an offset of 1e4 it is off by up to half an
 * ulp (~5e-4), which moves every xhat of the group by the same amount. The
 * mean of xhat recovers that amount, xhatShift (the true xhat has mean zero
 * over the group), and it is removed, so dx and dgamma keep float32 accuracy.
 */
import {activationDerivative} from './activation';
import {centeredSums} from './centered_sums';
import {ActivationTerms, affinePass, groupToChannel, NormGeometry, scaledByGroup} from './geometry';
import type {ForwardSettings} from './float64_forward';

export interface GradientArrays {
  /** Same layout as x. */
  dx: Float32Array;
  /** `[C]`, or `[N, C]` for a per-instance gamma. */
  dgamma: Float32Array;
  /** `[C]`, or `[N, C]` for a per-instance beta. */
  dbeta: Float32Array;
}

/**
 * Writes dx, dgamma and dbeta into `out`. mean and invStd are the forward's
 * `[N, groups]` outputs; gamma and beta are per (instance, channel), entry
 * `n * C + c` (see parameterPerInstance). dgamma and dbeta are summed over
 * the instances unless their output holds N * C values.
 */
export function normGradientFloat64(
  geometry: NormGeometry,
  dy: Float32Array,
  x: Float32Array,
  gamma: Float64Array,
  beta: Float64Array,
  mean: Float32Array,
  invStd: Float32Array,
  settings: ForwardSettings,
  out: GradientArrays,
): void {
  if (geometry.groupSize === 0) {
    out.dgamma.fill(0);
    out.dbeta.fill(0);
    return;
  }
  const center = groupToChannel(geometry, mean);
  const scale = scaledByGroup(geometry, invStd, gamma);
  const fn = activationDerivative(settings.activation, settings.alpha);
  // z = invStd * gamma * (x - mean) + beta.
  const activation: ActivationTerms | null = fn && {fn, scale, beta};
  const {slope, intercept} = gradientTerms(
    geometry,
    {dy, x, gamma, center, invStd, scale, activation},
    settings,
    out,
  );
  // dx = scale * dz + slope * (x - mean) + intercept (../common/passes.ts).
  affinePass(geometry, out.dx, x, dy, {scale, slope, mean: center, intercept}, activation);
}

interface GradientInputs {
  dy: Float32Array;
  x: Float32Array;
  gamma: Float64Array;
  center: Float64Array;
  invStd: Float32Array;
  /** invStd * gamma per (instance, channel). */
  scale: Float64Array;
  activation: ActivationTerms | null;
}

/** k of dx: invStd, or 1 / sigma with sigma = 1 / invStd - epsilon (0 where sigma <= 0). */
function varianceFactor(invStd: number, settings: ForwardSettings): number {
  if (settings.epsilonMode !== 'stddev') return invStd;
  const sigma = 1 / invStd - settings.epsilon;
  return sigma > 0 ? 1 / sigma : 0;
}

/**
 * Pass 1 and the group sums: writes dgamma and dbeta and returns the
 * per-(instance, channel) slope and intercept of dx in x - mean.
 */
function gradientTerms(
  geometry: NormGeometry,
  inputs: GradientInputs,
  settings: ForwardSettings,
  out: GradientArrays,
): {slope: Float64Array; intercept: Float64Array} {
  const {batch, channels, groups, channelsPerGroup, groupSize} = geometry;
  const {dy, x, gamma, center, invStd, scale, activation} = inputs;
  const {g: sumDz, gd: sumDzD, d: sumD} = centeredSums(geometry, x, center, dy, activation);
  const size = batch * channels;
  const slope = new Float64Array(size);
  const intercept = new Float64Array(size);
  const dgamma = new Float64Array(size);
  const dbeta = new Float64Array(size);
  for (let n = 0; n < batch; n++) {
    for (let group = 0; group < groups; group++) {
      const c0 = group * channelsPerGroup;
      const c1 = c0 + channelsPerGroup;
      const s = invStd[n * groups + group];
      const k = varianceFactor(s, settings);
      let xhatShift = 0;
      for (let c = c0; c < c1; c++) xhatShift += sumD[n * channels + c] * s;
      xhatShift /= groupSize;
      // invStd * sum_g(u) (as sum of invStd * gamma * sum(dz): for one element
      // it cancels invStd * gamma * dz exactly) and sum_g(u * xhat), xhat
      // corrected by xhatShift.
      let sumScaledU = 0;
      let sumUXhat = 0;
      for (let c = c0; c < c1; c++) {
        const nc = n * channels + c;
        const dzXhat = sumDzD[nc] * s - xhatShift * sumDz[nc];
        sumScaledU += scale[nc] * sumDz[nc];
        sumUXhat += gamma[nc] * dzXhat;
        dgamma[nc] = dzXhat;
        dbeta[nc] = sumDz[nc];
      }
      for (let c = c0; c < c1; c++) {
        const nc = n * channels + c;
        slope[nc] = (-s * k * sumUXhat) / groupSize;
        intercept[nc] = (k * xhatShift * sumUXhat - sumScaledU) / groupSize;
      }
    }
  }
  writeParameterGradient(out.dgamma, dgamma, channels);
  writeParameterGradient(out.dbeta, dbeta, channels);
  return {slope, intercept};
}

/** A per-(instance, channel) gradient into `target`: as is (`[N, C]`), or summed over instances (`[C]`). */
function writeParameterGradient(target: Float32Array, perInstance: Float64Array, channels: number) {
  if (target.length === perInstance.length) {
    target.set(perInstance);
    return;
  }
  const sums = new Float64Array(channels);
  for (let nc = 0; nc < perInstance.length; nc++) sums[nc % channels] += perInstance[nc];
  target.set(sums);
}
