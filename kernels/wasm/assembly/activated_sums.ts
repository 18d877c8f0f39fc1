// The gradient's pass 1 for an activation other than the linear one: dz =
// dy * act'(z) stored in dx, its sums sumDz and sumDzD, generic in the
// activation's class (vector_activations.ts). The sums are taken in the
// blocks and float64 merges of channel_sums.ts.

import {BLOCK_PIXELS} from './channel_sums';
import {
  channelZ,
  deviation,
  firstLanesSum,
  gather,
  gatherDeviation,
  laneSum,
  preActivation,
  scatter,
} from './lanes';
import {Float32Row, Float64Row} from './rows';
import {Scratch} from './scratch';

/** Vectors per lane of a channelsFirst gradient sum before its float64 merge. */
const SUM_VECTORS = 8;

/** dz to `dzOut` and the rows sumDz and sumDzD over channels [c0, c1) of instance n. */
export function sumsPass<A>(
  activation: A,
  scratch: Scratch,
  dzOut: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: v128,
): void {
  const spatial = scratch.spatial;
  if (!scratch.channelsLast) {
    const vectors = spatial & ~3;
    for (let c = c0; c < c1; c++) {
      const offset = scratch.offset(n, 0, c);
      const count = vectors >> 2;
      sumsVectors(activation, scratch, c, false, dzOut, x, dy, offset, 16, count, SUM_VECTORS, alpha);
      if (vectors < spatial) {
        const tail = offset + ((<usize>vectors) << 2);
        sumsTail(activation, scratch, c, dzOut, x, dy, tail, 4, spatial - vectors, alpha);
      }
    }
    return;
  }
  scratch.zeroRow(Float64Row.sumDz);
  scratch.zeroRow(Float64Row.sumDzD);
  const channels = scratch.channels;
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += BLOCK_PIXELS) {
    const pixels = min(BLOCK_PIXELS, spatial - s0);
    const offset = scratch.offset(n, s0, 0);
    for (let c = 0; c < quads; c += 4) {
      const q = offset + ((<usize>c) << 2);
      sumsVectors(activation, scratch, c, true, dzOut, x, dy, q, stride, pixels, pixels, alpha);
    }
    for (let c = quads; c < channels; c++) {
      for (let p = 0; p < pixels; p += 4) {
        const q = offset + <usize>(p * channels + c) * 4;
        sumsTail(activation, scratch, c, dzOut, x, dy, q, stride, min(4, pixels - p), alpha);
      }
    }
  }
}

/**
 * As forwardVectors, pass 1: dz to `dzOut`, and its sums added to the rows
 * sumDz and sumDzD, lane by lane (`quad`) or merged in float64 every
 * `block` vectors (then the rows are set).
 */
@inline
function sumsVectors<A>(
  activation: A,
  scratch: Scratch,
  c: i32,
  quad: bool,
  dzOut: usize,
  x: usize,
  dy: usize,
  offset: usize,
  step: usize,
  count: i32,
  block: i32,
  alpha: v128,
): void {
  const mean = scratch.term(Float32Row.mean, c, quad);
  const meanLow = scratch.term(Float32Row.meanLow, c, quad);
  const scale = scratch.term(Float32Row.scale, c, quad);
  const shift = scratch.term(Float32Row.shift, c, quad);
  let totalDz: f64 = 0;
  let totalDzD: f64 = 0;
  let q = offset;
  let i = 0;
  while (i < count) {
    const blockEnd = min(i + block, count);
    let sumDz = f32x4.splat(0);
    let sumDzD = f32x4.splat(0);
    for (; i < blockEnd; i++) {
      const d = deviation(v128.load(x + q), mean, meanLow);
      const z = preActivation(d, scale, shift);
      const dz = f32x4.mul(v128.load(dy + q), activation.derivative(z, alpha));
      v128.store(dzOut + q, dz);
      sumDz = f32x4.add(sumDz, dz);
      sumDzD = f32x4.add(sumDzD, f32x4.mul(dz, d));
      q += step;
    }
    if (quad) {
      scratch.addLanes(Float64Row.sumDz, c, sumDz);
      scratch.addLanes(Float64Row.sumDzD, c, sumDzD);
    } else {
      totalDz += laneSum(sumDz);
      totalDzD += laneSum(sumDzD);
    }
  }
  if (!quad) {
    scratch.setF64(Float64Row.sumDz, c, totalDz);
    scratch.setF64(Float64Row.sumDzD, c, totalDzD);
  }
}

/** As forwardTail, pass 1: dz to `dzOut`, its sums added to the rows sumDz and sumDzD. */
function sumsTail<A>(
  activation: A,
  scratch: Scratch,
  c: i32,
  dzOut: usize,
  x: usize,
  dy: usize,
  offset: usize,
  stride: usize,
  count: i32,
  alpha: v128,
): void {
  const d = gatherDeviation(scratch, c, x + offset, stride, count);
  const derivative = activation.derivative(channelZ(scratch, c, d), alpha);
  const dz = f32x4.mul(gather(dy + offset, stride, count), derivative);
  scatter(dzOut + offset, stride, count, dz);
  scratch.addF64(Float64Row.sumDz, c, firstLanesSum(dz, count));
  scratch.addF64(Float64Row.sumDzD, c, firstLanesSum(f32x4.mul(dz, d), count));
}
