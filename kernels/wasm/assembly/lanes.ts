// Element and lane helpers of the passes: float32 tensors in the backend's
// memory, f32x4 lanes summed in float64, partial vectors, and the
// pre-activation z of the elementwise passes.

import {Float32Row} from './rows';
import {Scratch} from './scratch';

/** Element i of the float32 tensor at `base`. */
@inline
export function at(base: usize, i: i32): f32 {
  return load<f32>(base + ((<usize>i) << 2));
}

/** The sum of the four lanes, in float64. */
export function laneSum(v: v128): f64 {
  const low = f64x2.promote_low_f32x4(v);
  const high = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
  const both = f64x2.add(low, high);
  return f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
}

/** The sum of the first `count` (1-4) lanes, in float64. */
@inline
export function firstLanesSum(v: v128, count: i32): f64 {
  return laneSum(v128.and(v, i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(count))));
}

/** d = (x - mean) - meanLow: x less the mean given as a float32 pair. */
@inline
export function deviation(x: v128, mean: v128, meanLow: v128): v128 {
  return f32x4.sub(f32x4.sub(x, mean), meanLow);
}

/** `count` (1-4) floats `stride` bytes apart from p in the first lanes, 0 in the others. */
export function gather(p: usize, stride: usize, count: i32): v128 {
  let v = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
  return v;
}

/** The first `count` (1-4) lanes of v to p, p + stride, ... */
export function scatter(p: usize, stride: usize, count: i32, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p + stride, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(p + 2 * stride, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(p + 3 * stride, f32x4.extract_lane(v, 3));
}

/** z = d * scale + shift. */
@inline
export function preActivation(d: v128, scale: v128, shift: v128): v128 {
  return f32x4.add(f32x4.mul(d, scale), shift);
}

/** z = d * scale + shift of channel c, in every lane. */
@inline
export function channelZ(scratch: Scratch, c: i32, d: v128): v128 {
  const scale = scratch.term(Float32Row.scale, c, false);
  return preActivation(d, scale, scratch.term(Float32Row.shift, c, false));
}

/** d = (x - mean) - meanLow of `count` (1-4) elements of channel c `stride` bytes apart from x. */
@inline
export function gatherDeviation(scratch: Scratch, c: i32, x: usize, stride: usize, count: i32): v128 {
  const mean = scratch.term(Float32Row.mean, c, false);
  return deviation(gather(x, stride, count), mean, scratch.term(Float32Row.meanLow, c, false));
}
