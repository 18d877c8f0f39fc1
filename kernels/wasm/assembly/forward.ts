// The InstanceNorm kernel: y = act((x - mean) * scale + shift), with the
// mean and invStd of each (instance, group) as outputs.
//
// Pass 1 sums each channel around its first element (the pivot); a channel
// whose pivot lies far from its mean is summed again around the mean, and
// one whose sums overflow float32 is summed again in float64, so the
// statistics keep the accuracy of the float64 loops. The channels of a
// group are merged with Chan's formula. Pass 2 is the elementwise pass.

import {activatedPass, FORWARD_PASS} from './activated_passes';
import {LINEAR} from './activations';
import {affinePass} from './affine_pass';
import {channelSums, channelSumsFloat64} from './channel_sums';
import {Float32Row, Float64Row} from './rows';
import {Scratch} from './scratch';

/** A pivot this many variances (squared) from the mean is summed again around the mean. */
const REDO_RATIO: f64 = 16;

/** The forward of the call `setup` wrote into `scratch`; mean and invStd are `[N, groups]`. */
export function forward(scratch: usize, x: usize, y: usize, meanOut: usize, invStdOut: usize): void {
  const call = changetype<Scratch>(scratch);
  call.setOperands(y, x, 0);
  const unitGroups = call.unitGroups;
  for (let n = 0; n < call.batch; n++) {
    for (let group = 0; group < call.groups; group += unitGroups) {
      forwardUnit(call, x, meanOut, invStdOut, n, group, group + unitGroups);
    }
  }
}

/** The forward of groups [group0, group1) of instance n; y is the scratch block's target operand. */
function forwardUnit(
  scratch: Scratch,
  x: usize,
  meanOut: usize,
  invStdOut: usize,
  n: i32,
  group0: i32,
  group1: i32,
): void {
  const perGroup = scratch.channels / scratch.groups;
  const c0 = group0 * perGroup;
  const c1 = group1 * perGroup;
  for (let c = c0; c < c1; c++) {
    scratch.setF32(Float32Row.pivot, c, load<f32>(x + scratch.offset(n, 0, c)));
  }
  channelSums(scratch, x, 0, n, c0, c1);
  for (let c = c0; c < c1; c++) channelMoments(scratch, x, n, c);
  for (let group = group0; group < group1; group++) {
    // Chan's merge of the channels' means and M2.
    const count = <f64>scratch.spatial;
    let total: f64 = 0;
    let mean: f64 = 0;
    let m2: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const next = total + count;
      const delta = scratch.getF64(Float64Row.mean, c) - mean;
      mean += next > 0 ? (delta * count) / next : 0;
      const across = next > 0 ? (delta * delta * total * count) / next : 0;
      m2 += scratch.getF64(Float64Row.sumSquares, c) + across;
      total = next;
    }
    const variance = total > 0 ? m2 / total : 0;
    const invStd = scratch.stddevMode
      ? 1 / (Math.sqrt(variance) + scratch.epsilon)
      : 1 / Math.sqrt(variance + scratch.epsilon);
    const statistic = (<usize>(n * scratch.groups + group)) << 2;
    store<f32>(meanOut + statistic, <f32>mean);
    store<f32>(invStdOut + statistic, <f32>invStd);
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      scratch.setTerms(n, c, mean, invStd);
    }
  }
  if (scratch.activation == LINEAR) {
    affinePass(scratch, n, c0, c1);
  } else {
    activatedPass(FORWARD_PASS, scratch, n, c0, c1);
  }
}

/**
 * The mean (row `mean`) and the sum of squares around it (row `sumSquares`)
 * of channel (n, c) from its sums around the pivot, summed again where they
 * cannot be trusted.
 */
@inline
function channelMoments(scratch: Scratch, x: usize, n: i32, c: i32): void {
  const count = <f64>scratch.spatial;
  let sum = scratch.getF64(Float64Row.sumD, c);
  let squares = scratch.getF64(Float64Row.sumSquares, c);
  let center = <f64>scratch.getF32(Float32Row.pivot, c);
  let meanFromCenter = sum / count;
  let m2 = squares - sum * meanFromCenter;
  const far = meanFromCenter * meanFromCenter * count > REDO_RATIO * Math.max(m2, 0);
  if (!isFinite(squares) || far) {
    // Overflowed float32, or a pivot far from the mean: again in float64
    // around the mean (NaN and Inf inputs give the same NaN / Inf again).
    const mean = isFinite(meanFromCenter) ? center + meanFromCenter : center;
    channelSumsFloat64(scratch, x, n, c, mean);
    center = mean;
    sum = scratch.getF64(Float64Row.sumD, c);
    squares = scratch.getF64(Float64Row.sumSquares, c);
    meanFromCenter = sum / count;
    m2 = squares - sum * meanFromCenter;
  }
  scratch.setF64(Float64Row.mean, c, center + meanFromCenter);
  scratch.setF64(Float64Row.sumSquares, c, Math.max(m2, 0));
}
