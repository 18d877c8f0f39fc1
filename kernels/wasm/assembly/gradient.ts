// The InstanceNormGrad kernel: dx, dgamma and dbeta from dy, x and the
// forward's mean and invStd, as dx = scale * dz + slope * (x - mean) +
// intercept (the terms of kernels/common/passes.ts).
//
// Pass 0 sums d = x - saved mean around the saved (float32) mean, which
// gives the exact mean. Pass 1 sums dz and dz * (x - mean): for the linear
// activation (dz = dy) in pass 0 itself, moved to the exact mean after it;
// for the others in a pass of their own (activated_passes.ts), since dz
// needs the exact mean. A channel whose float32 sums overflowed (or hold a
// NaN) is summed again in float64. Pass 2 is the affine pass.

import {activatedPass, SUMS_PASS} from './activated_passes';
import {derivative, LINEAR} from './activations';
import {affinePass} from './affine_pass';
import {channelSums} from './channel_sums';
import {at} from './lanes';
import {Float32Row, Float64Row} from './rows';
import {Scratch} from './scratch';

/**
 * The gradient of the call `setup` wrote into `scratch`: mean and invStd
 * `[N, groups]`; dgamma / dbeta `[N, C]` for a per-instance parameter, `[C]`
 * otherwise.
 */
export function gradient(
  scratch: usize,
  dy: usize,
  x: usize,
  meanIn: usize,
  invStdIn: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
): void {
  const call = changetype<Scratch>(scratch);
  const unitGroups = call.unitGroups;
  const instanceBytes = (<usize>call.channels) << 2;
  call.zeroRow(Float64Row.dgamma);
  call.zeroRow(Float64Row.dbeta);
  for (let n = 0; n < call.batch; n++) {
    for (let group = 0; group < call.groups; group += unitGroups) {
      gradientUnit(call, dy, x, meanIn, invStdIn, dx, n, group, group + unitGroups);
    }
    if (call.gammaPerInstance) {
      call.storeRow(Float64Row.dgamma, dgamma + <usize>n * instanceBytes);
      call.zeroRow(Float64Row.dgamma);
    }
    if (call.betaPerInstance) {
      call.storeRow(Float64Row.dbeta, dbeta + <usize>n * instanceBytes);
      call.zeroRow(Float64Row.dbeta);
    }
  }
  if (!call.gammaPerInstance) call.storeRow(Float64Row.dgamma, dgamma);
  if (!call.betaPerInstance) call.storeRow(Float64Row.dbeta, dbeta);
}

/** The gradient of groups [group0, group1) of instance n. */
function gradientUnit(
  scratch: Scratch,
  dy: usize,
  x: usize,
  meanIn: usize,
  invStdIn: usize,
  dx: usize,
  n: i32,
  group0: i32,
  group1: i32,
): void {
  const groups = scratch.groups;
  const perGroup = scratch.channels / groups;
  const c0 = group0 * perGroup;
  const c1 = group1 * perGroup;
  const groupSize = <f64>(scratch.spatial * perGroup);
  const linear = scratch.activation == LINEAR;
  for (let c = c0; c < c1; c++) {
    scratch.setF32(Float32Row.pivot, c, at(meanIn, n * groups + c / perGroup));
  }
  channelSums(scratch, x, linear ? dy : 0, n, c0, c1);
  for (let group = group0; group < group1; group++) {
    let sumD: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      sumD += scratch.getF64(Float64Row.sumD, c);
    }
    const saved = <f64>at(meanIn, n * groups + group);
    const mean = groupSize > 0 ? saved + sumD / groupSize : saved;
    const invStd = <f64>at(invStdIn, n * groups + group);
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      scratch.setTerms(n, c, mean, invStd);
      // sum dy * (x - mean) = sum dy * (x - saved) - (mean - saved) * sum dy.
      if (linear) {
        const sumDzD = scratch.getF64(Float64Row.sumDzD, c);
        const sumDz = scratch.getF64(Float64Row.sumDz, c);
        scratch.setF64(Float64Row.sumDzD, c, sumDzD - (mean - saved) * sumDz);
      }
    }
  }
  if (!linear) {
    scratch.setOperands(dx, x, dy);
    activatedPass(SUMS_PASS, scratch, n, c0, c1);
  }
  for (let c = c0; c < c1; c++) {
    const sums = scratch.getF64(Float64Row.sumDz, c) + scratch.getF64(Float64Row.sumDzD, c);
    if (!isFinite(sums)) gradientSumsFloat64(scratch, dy, x, n, c);
  }
  for (let group = group0; group < group1; group++) {
    const invStd = <f64>at(invStdIn, n * groups + group);
    let sumU: f64 = 0;
    let sumUXhat: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const gamma = scratch.gammaAt(n, c);
      const sumDz = scratch.getF64(Float64Row.sumDz, c);
      const sumDzXhat = scratch.getF64(Float64Row.sumDzD, c) * invStd;
      sumU += gamma * sumDz;
      sumUXhat += gamma * sumDzXhat;
      scratch.addF64(Float64Row.dgamma, c, sumDzXhat);
      scratch.addF64(Float64Row.dbeta, c, sumDz);
    }
    let varianceFactor = invStd;
    if (scratch.stddevMode) {
      const sigma = 1 / invStd - scratch.epsilon;
      varianceFactor = sigma > 0 ? 1 / sigma : 0;
    }
    const slope = groupSize > 0 ? (-varianceFactor * invStd * sumUXhat) / groupSize : 0;
    const intercept = groupSize > 0 ? (-invStd * sumU) / groupSize : 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      scratch.setF32(Float32Row.slope, c, <f32>slope);
      scratch.setF32(Float32Row.intercept, c, <f32>intercept);
    }
  }
  // Pass 2; dx is exactly 0 for one-element groups (the terms cancel,
  // float32 rounding would not).
  if (scratch.spatial * perGroup == 1) {
    for (let c = c0; c < c1; c++) store<f32>(dx + scratch.offset(n, 0, c), 0);
  } else {
    scratch.setOperands(dx, x, linear ? dy : dx);
    affinePass(scratch, n, c0, c1);
  }
}

/** sumDz and sumDzD of channel (n, c) in float64 scalar code. */
function gradientSumsFloat64(scratch: Scratch, dy: usize, x: usize, n: i32, c: i32): void {
  const activation = scratch.activation;
  const alpha = scratch.alpha;
  const scale = scratch.getF64(Float64Row.scale, c);
  const mean = scratch.getF64(Float64Row.mean, c);
  const shift = scratch.getF64(Float64Row.shift, c);
  const stride = scratch.channelsLast ? scratch.channels : 1;
  const offset = scratch.offset(n, 0, c);
  let sumDz: f64 = 0;
  let sumDzD: f64 = 0;
  for (let s = 0; s < scratch.spatial; s++) {
    const d = <f64>at(x + offset, s * stride) - mean;
    const dz = <f64>at(dy + offset, s * stride) * derivative(activation, scale * d + shift, alpha);
    sumDz += dz;
    sumDzD += dz * d;
  }
  scratch.setF64(Float64Row.sumDz, c, sumDz);
  scratch.setF64(Float64Row.sumDzD, c, sumDzD);
}
