// Pass 1 of both kernels: per channel, sums of d = x - pivot (the float32
// row `pivot`). Alone they are sumD and sumSquares (the forward's
// statistics; the gradient's correction of its saved mean); with another
// tensor g (the gradient's dy, which is dz for the linear activation) they
// are sumDz = sum g, sumDzD = sum g * d and sumD. Sums are taken in f32x4
// lanes over blocks of at most 8 terms per lane and merged in float64.

import {at, laneSum} from './lanes';
import {Float32Row, Float64Row} from './rows';
import {Scratch} from './scratch';

/** Terms per f32x4 accumulator lane before the block is merged in float64. */
const BLOCK_VECTORS = 32;
/** Pixels per channelsLast block (terms per accumulator lane). */
export const BLOCK_PIXELS = 8;

/** The row of sum g: sumD when g is d itself (no other tensor), else sumDz. */
@inline
function sumRow(other: usize): i32 {
  return other == 0 ? Float64Row.sumD : Float64Row.sumDz;
}

/** The row of sum g * d: sumSquares or sumDzD. */
@inline
function productRow(other: usize): i32 {
  return other == 0 ? Float64Row.sumSquares : Float64Row.sumDzD;
}

/**
 * The sums of channel c of the unit over its row of `count` contiguous
 * elements, g = d (`withOther` false) or `other[i]`.
 */
@inline
function rowSumsOf(
  scratch: Scratch,
  c: i32,
  row: usize,
  other: usize,
  count: i32,
  pivot: f32,
  withOther: bool,
): void {
  const pivot4 = f32x4.splat(pivot);
  let total0: f64 = 0;
  let total1: f64 = 0;
  let total2: f64 = 0;
  const vectors = count & ~15;
  let i = 0;
  while (i < vectors) {
    const blockEnd = min(i + BLOCK_VECTORS * 4, vectors);
    // s: sum g; q: sum g * d; t: sum d.
    const zero = f32x4.splat(0);
    let s0 = zero, s1 = zero, s2 = zero, s3 = zero;
    let q0 = zero, q1 = zero, q2 = zero, q3 = zero;
    let t0 = zero, t1 = zero, t2 = zero, t3 = zero;
    for (; i < blockEnd; i += 16) {
      const p = row + ((<usize>i) << 2);
      const g = other + ((<usize>i) << 2);
      const d0 = f32x4.sub(v128.load(p), pivot4);
      const d1 = f32x4.sub(v128.load(p, 16), pivot4);
      const d2 = f32x4.sub(v128.load(p, 32), pivot4);
      const d3 = f32x4.sub(v128.load(p, 48), pivot4);
      const g0 = withOther ? v128.load(g) : d0;
      const g1 = withOther ? v128.load(g, 16) : d1;
      const g2 = withOther ? v128.load(g, 32) : d2;
      const g3 = withOther ? v128.load(g, 48) : d3;
      s0 = f32x4.add(s0, g0);
      s1 = f32x4.add(s1, g1);
      s2 = f32x4.add(s2, g2);
      s3 = f32x4.add(s3, g3);
      q0 = f32x4.add(q0, f32x4.mul(g0, d0));
      q1 = f32x4.add(q1, f32x4.mul(g1, d1));
      q2 = f32x4.add(q2, f32x4.mul(g2, d2));
      q3 = f32x4.add(q3, f32x4.mul(g3, d3));
      if (withOther) {
        t0 = f32x4.add(t0, d0);
        t1 = f32x4.add(t1, d1);
        t2 = f32x4.add(t2, d2);
        t3 = f32x4.add(t3, d3);
      }
    }
    total0 += laneSum(s0) + laneSum(s1) + laneSum(s2) + laneSum(s3);
    total1 += laneSum(q0) + laneSum(q1) + laneSum(q2) + laneSum(q3);
    if (withOther) total2 += laneSum(t0) + laneSum(t1) + laneSum(t2) + laneSum(t3);
  }
  for (; i < count; i++) {
    const d = <f64>at(row, i) - <f64>pivot;
    const g = withOther ? <f64>at(other, i) : d;
    total0 += g;
    total1 += g * d;
    total2 += d;
  }
  scratch.setF64(sumRow(other), c, total0);
  scratch.setF64(productRow(other), c, total1);
  if (withOther) scratch.setF64(Float64Row.sumD, c, total2);
}

/** rowSumsOf with the loops of each case compiled apart. */
function rowSums(scratch: Scratch, c: i32, row: usize, other: usize, count: i32, pivot: f32): void {
  if (other == 0) rowSumsOf(scratch, c, row, 0, count, pivot, false);
  else rowSumsOf(scratch, c, row, other, count, pivot, true);
}

/**
 * The sums of channels [c0, c1) of instance n, g = d when `other` is 0.
 * Channels first: one row each. Channels last: blocks of pixels, four
 * channels per vector.
 */
export function channelSums(scratch: Scratch, x: usize, other: usize, n: i32, c0: i32, c1: i32): void {
  const spatial = scratch.spatial;
  if (!scratch.channelsLast) {
    for (let c = c0; c < c1; c++) {
      const offset = scratch.offset(n, 0, c);
      const pivot = scratch.getF32(Float32Row.pivot, c);
      rowSums(scratch, c, x + offset, other == 0 ? 0 : other + offset, spatial, pivot);
    }
    return;
  }
  const channels = scratch.channels;
  const gRow = sumRow(other);
  const gdRow = productRow(other);
  scratch.zeroRow(gRow);
  scratch.zeroRow(gdRow);
  if (other != 0) scratch.zeroRow(Float64Row.sumD);
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  const pivots = scratch.float32Row(Float32Row.pivot);
  for (let s0 = 0; s0 < spatial; s0 += BLOCK_PIXELS) {
    const pixels = min(BLOCK_PIXELS, spatial - s0);
    const rowOffset = scratch.offset(n, s0, 0);
    for (let c = 0; c < quads; c += 4) {
      const pivot = v128.load(pivots + ((<usize>c) << 2));
      let p = x + rowOffset + ((<usize>c) << 2);
      let g = other + rowOffset + ((<usize>c) << 2);
      let sum0 = f32x4.splat(0);
      let sum1 = f32x4.splat(0);
      let sum2 = f32x4.splat(0);
      for (let k = 0; k < pixels; k++) {
        const d = f32x4.sub(v128.load(p), pivot);
        if (other == 0) {
          sum0 = f32x4.add(sum0, d);
          sum1 = f32x4.add(sum1, f32x4.mul(d, d));
        } else {
          const gv = v128.load(g);
          sum0 = f32x4.add(sum0, gv);
          sum1 = f32x4.add(sum1, f32x4.mul(gv, d));
          sum2 = f32x4.add(sum2, d);
        }
        p += stride;
        g += stride;
      }
      scratch.addLanes(gRow, c, sum0);
      scratch.addLanes(gdRow, c, sum1);
      if (other != 0) scratch.addLanes(Float64Row.sumD, c, sum2);
    }
    for (let c = quads; c < channels; c++) {
      const pivot = <f64>scratch.getF32(Float32Row.pivot, c);
      let total0: f64 = 0;
      let total1: f64 = 0;
      let total2: f64 = 0;
      for (let k = 0; k < pixels; k++) {
        const i = scratch.offset(n, s0 + k, c);
        const d = <f64>load<f32>(x + i) - pivot;
        const gk = other == 0 ? d : <f64>load<f32>(other + i);
        total0 += gk;
        total1 += gk * d;
        total2 += d;
      }
      scratch.addF64(gRow, c, total0);
      scratch.addF64(gdRow, c, total1);
      if (other != 0) scratch.addF64(Float64Row.sumD, c, total2);
    }
  }
}

/**
 * sumD and sumSquares of channel (n, c) again in float64 scalar code around
 * `center`: for a channel whose float32 sums overflowed or whose pivot lies
 * far from its mean.
 */
export function channelSumsFloat64(scratch: Scratch, x: usize, n: i32, c: i32, center: f64): void {
  const base = x + scratch.offset(n, 0, c);
  const stride = scratch.channelsLast ? scratch.channels : 1;
  let sum: f64 = 0;
  let squares: f64 = 0;
  for (let s = 0; s < scratch.spatial; s++) {
    const d = <f64>at(base, s * stride) - center;
    sum += d;
    squares += d * d;
  }
  scratch.setF64(Float64Row.sumD, c, sum);
  scratch.setF64(Float64Row.sumSquares, c, squares);
}
