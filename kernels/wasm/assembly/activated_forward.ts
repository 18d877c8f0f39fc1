// The forward's elementwise pass for an activation other than the linear
// one: y = act(z), z = ((x - mean) - meanLow) * scale + shift, generic in
// the activation's class (vector_activations.ts). The elements past the last
// whole vector (a row's end, channels past the last quad) take a gathered
// vector.

import {AFFINE_PIXELS} from './affine_pass';
import {channelZ, deviation, gatherDeviation, preActivation, scatter} from './lanes';
import {Float32Row} from './rows';
import {Scratch} from './scratch';

/** y = act(z) over channels [c0, c1) of instance n. */
export function forwardPass<A>(
  activation: A,
  scratch: Scratch,
  y: usize,
  x: usize,
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
      forwardVectors(activation, scratch, c, false, y, x, offset, 16, vectors >> 2, alpha);
      if (vectors < spatial) {
        const tail = offset + ((<usize>vectors) << 2);
        forwardTail(activation, scratch, c, y, x, tail, 4, spatial - vectors, alpha);
      }
    }
    return;
  }
  const channels = scratch.channels;
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += AFFINE_PIXELS) {
    const pixels = min(AFFINE_PIXELS, spatial - s0);
    const offset = scratch.offset(n, s0, 0);
    for (let c = 0; c < quads; c += 4) {
      const q = offset + ((<usize>c) << 2);
      forwardVectors(activation, scratch, c, true, y, x, q, stride, pixels, alpha);
    }
    for (let c = quads; c < channels; c++) {
      for (let p = 0; p < pixels; p += 4) {
        const q = offset + <usize>(p * channels + c) * 4;
        forwardTail(activation, scratch, c, y, x, q, stride, min(4, pixels - p), alpha);
      }
    }
  }
}

/**
 * y = act(z) of `count` vectors `step` bytes apart from byte `offset`: of
 * channel c in every lane, or of channels c..c + 3 (`quad`).
 */
@inline
function forwardVectors<A>(
  activation: A,
  scratch: Scratch,
  c: i32,
  quad: bool,
  y: usize,
  x: usize,
  offset: usize,
  step: usize,
  count: i32,
  alpha: v128,
): void {
  const mean = scratch.term(Float32Row.mean, c, quad);
  const meanLow = scratch.term(Float32Row.meanLow, c, quad);
  const scale = scratch.term(Float32Row.scale, c, quad);
  const shift = scratch.term(Float32Row.shift, c, quad);
  let q = offset;
  for (let i = 0; i < count; i++) {
    const d = deviation(v128.load(x + q), mean, meanLow);
    v128.store(y + q, activation.activate(preActivation(d, scale, shift), alpha));
    q += step;
  }
}

/** y = act(z) of `count` (1-4) elements of channel c `stride` bytes apart from byte `offset`. */
function forwardTail<A>(
  activation: A,
  scratch: Scratch,
  c: i32,
  y: usize,
  x: usize,
  offset: usize,
  stride: usize,
  count: i32,
  alpha: v128,
): void {
  const z = channelZ(scratch, c, gatherDeviation(scratch, c, x + offset, stride, count));
  scatter(y + offset, stride, count, activation.activate(z, alpha));
}

