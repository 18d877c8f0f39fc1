// The affine elementwise pass in f32x4, per channel: the forward's pass 2
// for the linear activation, and the gradient's pass 2,
//
//   y  = (x - mean) * scale + shift
//   dx = (x - mean) * slope + intercept + dz * scale
//
// with the mean as a float32 pair (rows mean + meanLow), so that beta
// survives at any magnitude of x.

import {deviation} from './lanes';
import {Float32Row} from './rows';
import {Scratch} from './scratch';

/** Pixels per channelsLast block of the elementwise passes. */
export const AFFINE_PIXELS = 64;

/** y (`dz` 0) or dx into `target` over channels [c0, c1) of instance n. */
export function affinePass(
  scratch: Scratch,
  target: usize,
  x: usize,
  dz: usize,
  n: i32,
  c0: i32,
  c1: i32,
): void {
  const spatial = scratch.spatial;
  if (!scratch.channelsLast) {
    const vectors = spatial & ~3;
    for (let c = c0; c < c1; c++) {
      const offset = scratch.offset(n, 0, c);
      const tail = offset + ((<usize>vectors) << 2);
      affineVectors(scratch, c, false, target, x, dz, offset, 16, vectors >> 2);
      affineScalars(scratch, c, target, x, dz, tail, 4, spatial - vectors);
    }
    return;
  }
  // Channels last: blocks of pixels (in cache across the channel loop), the
  // terms of four channels loaded once per block.
  const channels = scratch.channels;
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += AFFINE_PIXELS) {
    const pixels = min(AFFINE_PIXELS, spatial - s0);
    const offset = scratch.offset(n, s0, 0);
    for (let c = 0; c < quads; c += 4) {
      const q = offset + ((<usize>c) << 2);
      affineVectors(scratch, c, true, target, x, dz, q, stride, pixels);
    }
    for (let c = quads; c < channels; c++) {
      const q = offset + ((<usize>c) << 2);
      affineScalars(scratch, c, target, x, dz, q, stride, pixels);
    }
  }
}

/** The factor of x - mean: scale in the forward (no dz), slope in the gradient. */
@inline
function xFactorRow(dz: usize): i32 {
  return dz == 0 ? Float32Row.scale : Float32Row.slope;
}

/** The constant term: shift in the forward, intercept in the gradient. */
@inline
function constantRow(dz: usize): i32 {
  return dz == 0 ? Float32Row.shift : Float32Row.intercept;
}

/**
 * `count` vectors `step` bytes apart from byte `offset`: of channel c in
 * every lane, or of channels c..c + 3 (`quad`).
 */
@inline
function affineVectors(
  scratch: Scratch,
  c: i32,
  quad: bool,
  target: usize,
  x: usize,
  dz: usize,
  offset: usize,
  step: usize,
  count: i32,
): void {
  const mean = scratch.term(Float32Row.mean, c, quad);
  const meanLow = scratch.term(Float32Row.meanLow, c, quad);
  const xFactor = scratch.term(xFactorRow(dz), c, quad);
  const constant = scratch.term(constantRow(dz), c, quad);
  let q = offset;
  if (dz == 0) {
    for (let i = 0; i < count; i++) {
      const d = deviation(v128.load(x + q), mean, meanLow);
      v128.store(target + q, f32x4.add(f32x4.mul(d, xFactor), constant));
      q += step;
    }
    return;
  }
  const dzFactor = scratch.term(Float32Row.scale, c, quad);
  for (let i = 0; i < count; i++) {
    const d = deviation(v128.load(x + q), mean, meanLow);
    const u = f32x4.mul(v128.load(dz + q), dzFactor);
    v128.store(target + q, f32x4.add(f32x4.add(f32x4.mul(d, xFactor), constant), u));
    q += step;
  }
}

/** `count` elements of channel c `step` bytes apart from byte `offset`, in float32 scalars. */
@inline
function affineScalars(
  scratch: Scratch,
  c: i32,
  target: usize,
  x: usize,
  dz: usize,
  offset: usize,
  step: usize,
  count: i32,
): void {
  const mean = scratch.getF32(Float32Row.mean, c);
  const meanLow = scratch.getF32(Float32Row.meanLow, c);
  const xFactor = scratch.getF32(xFactorRow(dz), c);
  const constant = scratch.getF32(constantRow(dz), c);
  const dzFactor = dz != 0 ? scratch.getF32(Float32Row.scale, c) : 0;
  let q = offset;
  for (let i = 0; i < count; i++) {
    let value = (load<f32>(x + q) - mean - meanLow) * xFactor + constant;
    if (dz != 0) value += load<f32>(dz + q) * dzFactor;
    store<f32>(target + q, value);
    q += step;
  }
}
