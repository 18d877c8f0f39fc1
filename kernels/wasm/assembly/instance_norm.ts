// AssemblyScript: the InstanceNorm and InstanceNormGrad kernels of the wasm
// backend, compiled to a WebAssembly module with 128-bit SIMD
// (scripts/build_wasm.mjs). The module imports the backend's memory and owns
// none of it: no data segments, no static heap. Every pointer is a byte
// offset in that memory: tensors the backend allocated, and one scratch block
// the caller allocates with the backend's allocator (see scratchBytes; its
// end holds the activations' vector constants, written by every call).
//
// x is seen as [N, S, C] (channelsLast) or [N, C, S] (channelsFirst). Work is
// done per unit: an instance (channelsLast) or an (instance, group)
// (channelsFirst), so a unit's data is read again while it is still in cache.
//
// Numerics: per (instance, channel) sums of d = x - center are taken in
// f32x4 lanes over blocks of at most 8 terms per lane and merged in float64.
// The forward's center is the channel's first pixel (pivot shift); a channel
// whose pivot lies far from its mean is summed again around the mean, and a
// channel whose sums overflow float32 is summed again in float64, so the
// result keeps the accuracy of the float64 loops. Groups are merged with
// Chan's formula. The elementwise passes subtract the mean as a float32 pair
// (hi + lo) before scaling, so beta survives at any magnitude of x.
//
// Every activation runs in SIMD: the linear one as an affine map, the others
// (activations.ts, float32 to about an ulp) in passes compiled once per
// activation. The gradient sums of a channel that overflow float32 (or hold
// a NaN) are taken again in float64 scalar code.

import {
  activateVec,
  CONSTANT_BYTES,
  derivative,
  derivativeVec,
  ELU,
  GELU,
  GELU_NEW,
  LEAKY_RELU,
  LINEAR,
  MISH,
  RELU,
  RELU6,
  SELU,
  SIGMOID,
  storeConstants,
  SWISH,
  TANH,
} from './activations';

/** A pivot this many variances (squared) from the mean is summed again around the mean. */
const REDO_RATIO: f64 = 16;
/** Terms per f32x4 accumulator lane before the block is merged in float64. */
const BLOCK_VECTORS = 32;
/** Pixels per channelsLast block (terms per accumulator lane). */
const BLOCK_PIXELS = 8;
/** Pixels per channelsLast block of the elementwise pass. */
const AFFINE_PIXELS = 64;

// Scratch layout, per channel of the unit (C entries each): float64 arrays,
// then float32 arrays.
const F64_ARRAYS = 9;
const F32_ARRAYS = 7;

// float64 arrays
const CENTER = 0; // the forward's channel mean
const SUM_A = 1; // sum d (forward) / sum dz (gradient)
const SUM_B = 2; // sum d^2 (forward) / sum dz * d (gradient)
const SCALE = 3; // a: z = a * (x - m) + k; dx: factor of dz
const MEAN = 4; // m per channel
const SHIFT = 5; // k: beta (z) per channel
const PARAM_A = 6; // dgamma accumulator ([C] gamma)
const PARAM_B = 7; // dbeta accumulator ([C] beta)
const SUM_C = 8; // sum d, with sums of another tensor (gradient)
// float32 arrays
const CENTER32 = 0;
const SCALE32 = 1;
const MEAN_HI = 2;
const MEAN_LO = 3;
const SHIFT32 = 4;
const SLOPE32 = 5; // dx: factor of x - m
const OFFSET32 = 6; // dx: constant term

// Geometry and attributes of the current call.
let batch = 0;
let spatial = 0;
let channels = 0;
let groups = 0;
let channelsLast = false;
let scratch: usize = 0;

/** Bytes of scratch the kernels need for `channelCount` channels. */
export function scratchBytes(channelCount: i32): i32 {
  return channelCount * (F64_ARRAYS * 8 + F32_ARRAYS * 4) + CONSTANT_BYTES;
}

@inline
function f64Array(which: i32): usize {
  return scratch + <usize>(which * channels * 8);
}
@inline
function f32Array(which: i32): usize {
  return scratch + <usize>(F64_ARRAYS * channels * 8 + which * channels * 4);
}
@inline
function getF64(which: i32, c: i32): f64 {
  return load<f64>(f64Array(which) + ((<usize>c) << 3));
}
@inline
function setF64(which: i32, c: i32, value: f64): void {
  store<f64>(f64Array(which) + ((<usize>c) << 3), value);
}
@inline
function setF32(which: i32, c: i32, value: f32): void {
  store<f32>(f32Array(which) + ((<usize>c) << 2), value);
}
@inline
function getF32(which: i32, c: i32): f32 {
  return load<f32>(f32Array(which) + ((<usize>c) << 2));
}
@inline
function at(base: usize, i: i32): f32 {
  return load<f32>(base + ((<usize>i) << 2));
}
function laneSum(v: v128): f64 {
  const lo = f64x2.promote_low_f32x4(v);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
  const both = f64x2.add(lo, hi);
  return f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
}
/** Adds the lanes of v to the float64 array `which` at c..c + 3. */
@inline
function addLanes(which: i32, c: i32, v: v128): void {
  const p = f64Array(which) + ((<usize>c) << 3);
  const high = v128.shuffle<f32>(v, v, 2, 3, 2, 3);
  v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(high)), 16);
}

/** gamma or beta at (n, c): pointer 0 is absent (fill), perInstance an `[N, C]` one. */
@inline
function param(ptr: usize, perInstance: bool, n: i32, c: i32, fill: f64): f64 {
  if (ptr == 0) return fill;
  return <f64>at(ptr, perInstance ? n * channels + c : c);
}
/** Element offset of (n, s, c). */
@inline
function index(n: i32, s: i32, c: i32): i32 {
  return channelsLast ? (n * spatial + s) * channels + c : (n * channels + c) * spatial + s;
}
/** The mean as a float32 pair, hi + lo. */
function setMeanPair(c: i32, m: f64): void {
  const hi = <f32>m;
  setF32(MEAN_HI, c, hi);
  setF32(MEAN_LO, c, <f32>(m - <f64>hi));
}

function setup(n: i32, s: i32, c: i32, g: i32, last: i32, scratchPtr: usize): void {
  batch = n;
  spatial = s;
  channels = c;
  groups = g;
  channelsLast = last != 0;
  scratch = scratchPtr;
  storeConstants(scratch + <usize>(channels * (F64_ARRAYS * 8 + F32_ARRAYS * 4)));
}

// ---------------------------------------------------------------------------
// Sums of one channel. Results in sumOut0 / sumOut1 (/ sumOut2).

let sumOut0: f64 = 0;
let sumOut1: f64 = 0;
let sumOut2: f64 = 0;

/**
 * Over a contiguous row, d = x - center: sum of g and of g * d, where g is d
 * itself (`other` 0) or `other[i]`; with `other`, also sum d (sumOut2).
 */
function rowSums(row: usize, other: usize, count: i32, center: f32): void {
  const c4 = f32x4.splat(center);
  let total0: f64 = 0;
  let total1: f64 = 0;
  let total2: f64 = 0;
  const vectors = count & ~15;
  let i = 0;
  while (i < vectors) {
    const blockEnd = min(i + BLOCK_VECTORS * 4, vectors);
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let s2 = f32x4.splat(0);
    let s3 = f32x4.splat(0);
    let q0 = f32x4.splat(0);
    let q1 = f32x4.splat(0);
    let q2 = f32x4.splat(0);
    let q3 = f32x4.splat(0);
    if (other == 0) {
      for (; i < blockEnd; i += 16) {
        const p = row + ((<usize>i) << 2);
        const d0 = f32x4.sub(v128.load(p), c4);
        const d1 = f32x4.sub(v128.load(p, 16), c4);
        const d2 = f32x4.sub(v128.load(p, 32), c4);
        const d3 = f32x4.sub(v128.load(p, 48), c4);
        s0 = f32x4.add(s0, d0);
        s1 = f32x4.add(s1, d1);
        s2 = f32x4.add(s2, d2);
        s3 = f32x4.add(s3, d3);
        q0 = f32x4.add(q0, f32x4.mul(d0, d0));
        q1 = f32x4.add(q1, f32x4.mul(d1, d1));
        q2 = f32x4.add(q2, f32x4.mul(d2, d2));
        q3 = f32x4.add(q3, f32x4.mul(d3, d3));
      }
    } else {
      // s: sum g; q: sum g * d; t: sum d.
      let t0 = f32x4.splat(0);
      let t1 = f32x4.splat(0);
      let t2 = f32x4.splat(0);
      let t3 = f32x4.splat(0);
      for (; i < blockEnd; i += 16) {
        const p = row + ((<usize>i) << 2);
        const g = other + ((<usize>i) << 2);
        const d0 = f32x4.sub(v128.load(p), c4);
        const d1 = f32x4.sub(v128.load(p, 16), c4);
        const d2 = f32x4.sub(v128.load(p, 32), c4);
        const d3 = f32x4.sub(v128.load(p, 48), c4);
        t0 = f32x4.add(t0, d0);
        t1 = f32x4.add(t1, d1);
        t2 = f32x4.add(t2, d2);
        t3 = f32x4.add(t3, d3);
        const g0 = v128.load(g);
        const g1 = v128.load(g, 16);
        const g2 = v128.load(g, 32);
        const g3 = v128.load(g, 48);
        s0 = f32x4.add(s0, g0);
        s1 = f32x4.add(s1, g1);
        s2 = f32x4.add(s2, g2);
        s3 = f32x4.add(s3, g3);
        q0 = f32x4.add(q0, f32x4.mul(g0, d0));
        q1 = f32x4.add(q1, f32x4.mul(g1, d1));
        q2 = f32x4.add(q2, f32x4.mul(g2, d2));
        q3 = f32x4.add(q3, f32x4.mul(g3, d3));
      }
      total2 += laneSum(t0) + laneSum(t1) + laneSum(t2) + laneSum(t3);
    }
    total0 += laneSum(s0) + laneSum(s1) + laneSum(s2) + laneSum(s3);
    total1 += laneSum(q0) + laneSum(q1) + laneSum(q2) + laneSum(q3);
  }
  for (; i < count; i++) {
    const d = <f64>at(row, i) - <f64>center;
    const g = other == 0 ? d : <f64>at(other, i);
    total0 += g;
    total1 += g * d;
    total2 += d;
  }
  sumOut0 = total0;
  sumOut1 = total1;
  sumOut2 = total2;
}

/** rowSums in float64 scalar code, with a stride (any layout, any magnitude). */
function stridedSums(base: usize, other: usize, count: i32, stride: i32, center: f64): void {
  let total0: f64 = 0;
  let total1: f64 = 0;
  for (let s = 0; s < count; s++) {
    const d = <f64>at(base, s * stride) - center;
    const g = other == 0 ? d : <f64>at(other, s * stride);
    total0 += g;
    total1 += g * d;
  }
  sumOut0 = total0;
  sumOut1 = total1;
}

/**
 * Per channel c in [c0, c1) of instance n, d = x - center (CENTER32):
 * SUM_A = sum g, SUM_B = sum g * d with g = d when `other` is 0, g = other
 * otherwise, and then SUM_C = sum d. Channels first: one row each. Channels
 * last: blocks of pixels, four channels per vector.
 */
function channelSums(x: usize, other: usize, n: i32, c0: i32, c1: i32): void {
  if (!channelsLast) {
    for (let c = c0; c < c1; c++) {
      const offset = (<usize>index(n, 0, c)) << 2;
      rowSums(x + offset, other == 0 ? 0 : other + offset, spatial, getF32(CENTER32, c));
      setF64(SUM_A, c, sumOut0);
      setF64(SUM_B, c, sumOut1);
      setF64(SUM_C, c, sumOut2);
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    setF64(SUM_A, c, 0);
    setF64(SUM_B, c, 0);
    setF64(SUM_C, c, 0);
  }
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += BLOCK_PIXELS) {
    const pixels = min(BLOCK_PIXELS, spatial - s0);
    const rowOffset = (<usize>index(n, s0, 0)) << 2;
    for (let c = 0; c < quads; c += 4) {
      const center = v128.load(f32Array(CENTER32) + ((<usize>c) << 2));
      let p = x + rowOffset + ((<usize>c) << 2);
      let g = other + rowOffset + ((<usize>c) << 2);
      let sum0 = f32x4.splat(0);
      let sum1 = f32x4.splat(0);
      let sum2 = f32x4.splat(0);
      for (let k = 0; k < pixels; k++) {
        const d = f32x4.sub(v128.load(p), center);
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
      addLanes(SUM_A, c, sum0);
      addLanes(SUM_B, c, sum1);
      if (other != 0) addLanes(SUM_C, c, sum2);
    }
    for (let c = quads; c < channels; c++) {
      const center = <f64>getF32(CENTER32, c);
      let total0: f64 = 0;
      let total1: f64 = 0;
      let total2: f64 = 0;
      for (let k = 0; k < pixels; k++) {
        const i = index(n, s0 + k, c);
        const d = <f64>at(x, i) - center;
        const gk = other == 0 ? d : <f64>at(other, i);
        total0 += gk;
        total1 += gk * d;
        total2 += d;
      }
      setF64(SUM_A, c, getF64(SUM_A, c) + total0);
      setF64(SUM_B, c, getF64(SUM_B, c) + total1);
      setF64(SUM_C, c, getF64(SUM_C, c) + total2);
    }
  }
}

/** Sums of channel (n, c) again in float64 scalar code around `center`. */
function channelSumsFloat64(x: usize, other: usize, n: i32, c: i32, center: f64): void {
  const offset = (<usize>index(n, 0, c)) << 2;
  const stride = channelsLast ? channels : 1;
  stridedSums(x + offset, other == 0 ? 0 : other + offset, spatial, stride, center);
  setF64(SUM_A, c, sumOut0);
  setF64(SUM_B, c, sumOut1);
}

// ---------------------------------------------------------------------------
// Forward.

/**
 * y = act((x - mean) * invStd * gamma + beta), mean and invStd `[N, groups]`.
 * gamma and beta: pointer 0 when absent; `*PerInstance` for `[N, C]`.
 */
export function forward(
  x: usize,
  gamma: usize,
  gammaPerInstance: i32,
  beta: usize,
  betaPerInstance: i32,
  y: usize,
  meanOut: usize,
  invStdOut: usize,
  scratchPtr: usize,
  n: i32,
  s: i32,
  c: i32,
  g: i32,
  last: i32,
  epsilon: f64,
  stddevMode: i32,
  activation: i32,
  alpha: f64,
): void {
  setup(n, s, c, g, last, scratchPtr);
  for (let b = 0; b < batch; b++) {
    if (channelsLast) {
      forwardUnit(
        x,
        gamma,
        gammaPerInstance != 0,
        beta,
        betaPerInstance != 0,
        y,
        meanOut,
        invStdOut,
        b,
        0,
        groups,
        epsilon,
        stddevMode != 0,
        activation,
        alpha,
      );
    } else {
      for (let group = 0; group < groups; group++) {
        forwardUnit(
          x,
          gamma,
          gammaPerInstance != 0,
          beta,
          betaPerInstance != 0,
          y,
          meanOut,
          invStdOut,
          b,
          group,
          group + 1,
          epsilon,
          stddevMode != 0,
          activation,
          alpha,
        );
      }
    }
  }
}

function forwardUnit(
  x: usize,
  gamma: usize,
  gammaPerInstance: bool,
  beta: usize,
  betaPerInstance: bool,
  y: usize,
  meanOut: usize,
  invStdOut: usize,
  n: i32,
  group0: i32,
  group1: i32,
  epsilon: f64,
  stddevMode: bool,
  activation: i32,
  alpha: f64,
): void {
  const perGroup = channels / groups;
  const c0 = group0 * perGroup;
  const c1 = group1 * perGroup;
  const count = <f64>spatial;
  // Pass 1: centered sums around each channel's first pixel.
  for (let c = c0; c < c1; c++) {
    const pivot = at(x, index(n, 0, c));
    setF32(CENTER32, c, pivot);
  }
  channelSums(x, 0, n, c0, c1);
  for (let c = c0; c < c1; c++) {
    let sum = getF64(SUM_A, c);
    let squares = getF64(SUM_B, c);
    let center = <f64>getF32(CENTER32, c);
    let shift = sum / count;
    let m2 = squares - sum * shift;
    if (!isFinite(squares) || shift * shift * count > REDO_RATIO * Math.max(m2, 0)) {
      // Overflowed float32, or a pivot far from the mean: again in float64
      // around the mean (NaN and Inf inputs give the same NaN / Inf again).
      const mean = isFinite(shift) ? center + shift : center;
      channelSumsFloat64(x, 0, n, c, mean);
      center = mean;
      sum = getF64(SUM_A, c);
      squares = getF64(SUM_B, c);
      shift = sum / count;
      m2 = squares - sum * shift;
    }
    setF64(CENTER, c, center + shift); // channel mean
    setF64(SUM_B, c, Math.max(m2, 0)); // channel M2
  }
  // Chan's merge per group; the per-channel terms of pass 2.
  for (let group = group0; group < group1; group++) {
    let total: f64 = 0;
    let mean: f64 = 0;
    let m2: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const next = total + count;
      const delta = getF64(CENTER, c) - mean;
      mean += next > 0 ? (delta * count) / next : 0;
      m2 += getF64(SUM_B, c) + (next > 0 ? (delta * delta * total * count) / next : 0);
      total = next;
    }
    const variance = total > 0 ? m2 / total : 0;
    const invStd = stddevMode
      ? 1 / (Math.sqrt(variance) + epsilon)
      : 1 / Math.sqrt(variance + epsilon);
    store<f32>(meanOut + ((<usize>(n * groups + group)) << 2), <f32>mean);
    store<f32>(invStdOut + ((<usize>(n * groups + group)) << 2), <f32>invStd);
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const a = invStd * param(gamma, gammaPerInstance, n, c, 1);
      const k = param(beta, betaPerInstance, n, c, 0);
      setF64(SCALE, c, a);
      setF64(MEAN, c, mean);
      setF64(SHIFT, c, k);
      setF32(SCALE32, c, <f32>a);
      setMeanPair(c, mean);
      setF32(SHIFT32, c, <f32>k);
    }
  }
  // Pass 2.
  if (activation == LINEAR) affineSimd(y, x, 0, n, c0, c1, SCALE32, SHIFT32, -1);
  else activatedPass(FORWARD_PASS, activation, y, x, 0, n, c0, c1, alpha);
}

/**
 * target = f * g + e * ((x - hi) - lo) + k per channel, in f32x4 (g = 0 when
 * `other` is 0: the forward, with e = SCALE32, k = SHIFT32; the gradient:
 * f = SCALE32, e = SLOPE32, k = OFFSET32).
 */
function affineSimd(
  target: usize,
  x: usize,
  other: usize,
  n: i32,
  c0: i32,
  c1: i32,
  slopeArray: i32,
  constArray: i32,
  factorArray: i32,
): void {
  if (!channelsLast) {
    for (let c = c0; c < c1; c++) {
      const offset = (<usize>index(n, 0, c)) << 2;
      const e = f32x4.splat(getF32(slopeArray, c));
      const hi = f32x4.splat(getF32(MEAN_HI, c));
      const lo = f32x4.splat(getF32(MEAN_LO, c));
      const k = f32x4.splat(getF32(constArray, c));
      const f = f32x4.splat(factorArray < 0 ? 0 : getF32(factorArray, c));
      const px = x + offset;
      const pt = target + offset;
      const pg = other + offset;
      const vectors = spatial & ~3;
      let i = 0;
      if (other == 0) {
        for (; i < vectors; i += 4) {
          const q = (<usize>i) << 2;
          const d = f32x4.sub(f32x4.sub(v128.load(px + q), hi), lo);
          v128.store(pt + q, f32x4.add(f32x4.mul(d, e), k));
        }
      } else {
        for (; i < vectors; i += 4) {
          const q = (<usize>i) << 2;
          const d = f32x4.sub(f32x4.sub(v128.load(px + q), hi), lo);
          const u = f32x4.mul(v128.load(pg + q), f);
          v128.store(pt + q, f32x4.add(f32x4.add(f32x4.mul(d, e), k), u));
        }
      }
      for (; i < spatial; i++) {
        const q = (<usize>i) << 2;
        const d = load<f32>(px + q) - getF32(MEAN_HI, c) - getF32(MEAN_LO, c);
        let v = d * getF32(slopeArray, c) + getF32(constArray, c);
        if (other != 0) v += load<f32>(pg + q) * getF32(factorArray, c);
        store<f32>(pt + q, v);
      }
    }
    return;
  }
  // Channels last: blocks of pixels (in cache across the channel loop), the
  // terms of four channels loaded once per block.
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += AFFINE_PIXELS) {
    const pixels = min(AFFINE_PIXELS, spatial - s0);
    const offset = (<usize>index(n, s0, 0)) << 2;
    for (let c = 0; c < quads; c += 4) {
      const q = (<usize>c) << 2;
      const hi = v128.load(f32Array(MEAN_HI) + q);
      const lo = v128.load(f32Array(MEAN_LO) + q);
      const e = v128.load(f32Array(slopeArray) + q);
      const k = v128.load(f32Array(constArray) + q);
      let px = x + offset + q;
      let pt = target + offset + q;
      if (other == 0) {
        for (let p = 0; p < pixels; p++) {
          const d = f32x4.sub(f32x4.sub(v128.load(px), hi), lo);
          v128.store(pt, f32x4.add(f32x4.mul(d, e), k));
          px += stride;
          pt += stride;
        }
      } else {
        const f = v128.load(f32Array(factorArray) + q);
        let pg = other + offset + q;
        for (let p = 0; p < pixels; p++) {
          const d = f32x4.sub(f32x4.sub(v128.load(px), hi), lo);
          const u = f32x4.mul(v128.load(pg), f);
          v128.store(pt, f32x4.add(f32x4.add(f32x4.mul(d, e), k), u));
          px += stride;
          pt += stride;
          pg += stride;
        }
      }
    }
    for (let c = quads; c < channels; c++) {
      const hi = getF32(MEAN_HI, c);
      const lo = getF32(MEAN_LO, c);
      const e = getF32(slopeArray, c);
      const k = getF32(constArray, c);
      const f = other != 0 ? getF32(factorArray, c) : 0;
      for (let p = 0; p < pixels; p++) {
        const q = (<usize>index(n, s0 + p, c)) << 2;
        let v = (load<f32>(x + q) - hi - lo) * e + k;
        if (other != 0) v += load<f32>(other + q) * f;
        store<f32>(target + q, v);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The activated passes in f32x4, z = ((x - hi) - lo) * a + k: the forward's
// y = act(z); the gradient's pass 1, which sums dz = dy * act'(z) and dz * d
// (d = (x - hi) - lo) in the blocks and float64 merges of channelSums and
// stores dz in dx, where pass 2 (affineSimd, as for the linear activation)
// reads it back: act' is evaluated once per element. The vector loops are
// compiled once per activation (a function per activation inlines them with
// a constant code), so they hold no branch on it; the few elements past the
// last whole vector (a row's end, channels past the last quad) share one
// generic copy.

const FORWARD_PASS = 0;
const SUMS_PASS = 1;
/** Vectors per lane of a channelsFirst gradient sum before its float64 merge. */
const SUM_VECTORS = 8;

/** The forward's y = act(z), or (SUMS_PASS) pass 1 of the gradient with dz stored in target. */
function activatedPass(
  pass: i32,
  activation: i32,
  target: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: f64,
): void {
  const alpha4 = f32x4.splat(<f32>alpha);
  switch (activation) {
    case RELU:
      reluPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case RELU6:
      relu6Pass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case LEAKY_RELU:
      leakyReluPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case ELU:
      eluPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case SELU:
      seluPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case SIGMOID:
      sigmoidPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case TANH:
      tanhPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case SWISH:
      swishPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case MISH:
      mishPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case GELU:
      geluPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
    case GELU_NEW:
      geluNewPass(pass, target, x, dy, n, c0, c1, alpha4);
      break;
  }
}

// One function per activation: small functions, whose loops the engine's
// optimizing compiler keeps in registers (in one function of all eleven,
// relu's forward ran at half the speed of the linear one).

function reluPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(RELU, pass, target, x, dy, n, c0, c1, alpha);
}

function relu6Pass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(RELU6, pass, target, x, dy, n, c0, c1, alpha);
}

function leakyReluPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(LEAKY_RELU, pass, target, x, dy, n, c0, c1, alpha);
}

function eluPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(ELU, pass, target, x, dy, n, c0, c1, alpha);
}

function seluPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(SELU, pass, target, x, dy, n, c0, c1, alpha);
}

function sigmoidPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(SIGMOID, pass, target, x, dy, n, c0, c1, alpha);
}

function tanhPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(TANH, pass, target, x, dy, n, c0, c1, alpha);
}

function swishPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(SWISH, pass, target, x, dy, n, c0, c1, alpha);
}

function mishPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(MISH, pass, target, x, dy, n, c0, c1, alpha);
}

function geluPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(GELU, pass, target, x, dy, n, c0, c1, alpha);
}

function geluNewPass(pass: i32, target: usize, x: usize, dy: usize, n: i32, c0: i32, c1: i32,
  alpha: v128): void {
  passFor(GELU_NEW, pass, target, x, dy, n, c0, c1, alpha);
}

@inline
function passFor(
  kind: i32,
  pass: i32,
  target: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: v128,
): void {
  if (pass == SUMS_PASS) activatedSums(kind, target, x, dy, n, c0, c1, alpha);
  else activatedForward(kind, target, x, n, c0, c1, alpha);
}

/** The term `which` of channel c in every lane. */
@inline
function splatTerm(which: i32, c: i32): v128 {
  return f32x4.splat(getF32(which, c));
}

/** The terms `which` of channels c..c + 3. */
@inline
function quadTerm(which: i32, c: i32): v128 {
  return v128.load(f32Array(which) + ((<usize>c) << 2));
}

/** `count` (1-4) floats `stride` bytes apart from p in the first lanes, 0 in the others. */
function gather(p: usize, stride: usize, count: i32): v128 {
  let v = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
  return v;
}

/** The first `count` (1-4) lanes of v to p, p + stride, ... */
function scatter(p: usize, stride: usize, count: i32, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p + stride, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(p + 2 * stride, f32x4.extract_lane(v, 2));
  if (count > 3) store<f32>(p + 3 * stride, f32x4.extract_lane(v, 3));
}

/** d = (x - hi) - lo of channel c, for `count` elements `stride` bytes apart. */
@inline
function gatherDeviation(x: usize, stride: usize, count: i32, c: i32): v128 {
  const xv = gather(x, stride, count);
  return f32x4.sub(f32x4.sub(xv, splatTerm(MEAN_HI, c)), splatTerm(MEAN_LO, c));
}

/** y = act(z) of `count` elements of channel c `stride` bytes apart from byte `offset`. */
function forwardTail(
  kind: i32,
  y: usize,
  x: usize,
  offset: usize,
  stride: usize,
  count: i32,
  c: i32,
  alpha: v128,
): void {
  const d = gatherDeviation(x + offset, stride, count, c);
  const z = f32x4.add(f32x4.mul(d, splatTerm(SCALE32, c)), splatTerm(SHIFT32, c));
  scatter(y + offset, stride, count, activateVec(kind, z, alpha));
}

/** As forwardTail, pass 1: dz to `dzOut`, sumOut0 = sum dz, sumOut1 = sum dz * d. */
function sumsTail(
  kind: i32,
  dzOut: usize,
  x: usize,
  dy: usize,
  offset: usize,
  stride: usize,
  count: i32,
  c: i32,
  alpha: v128,
): void {
  const d = gatherDeviation(x + offset, stride, count, c);
  const z = f32x4.add(f32x4.mul(d, splatTerm(SCALE32, c)), splatTerm(SHIFT32, c));
  const dz = f32x4.mul(gather(dy + offset, stride, count), derivativeVec(kind, z, alpha));
  scatter(dzOut + offset, stride, count, dz);
  const mask = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(count));
  sumOut0 = laneSum(v128.and(dz, mask));
  sumOut1 = laneSum(v128.and(f32x4.mul(dz, d), mask));
}

@inline
function activatedForward(
  kind: i32,
  y: usize,
  x: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: v128,
): void {
  if (!channelsLast) {
    const vectors = spatial & ~3;
    for (let c = c0; c < c1; c++) {
      const hi = splatTerm(MEAN_HI, c);
      const lo = splatTerm(MEAN_LO, c);
      const a = splatTerm(SCALE32, c);
      const k = splatTerm(SHIFT32, c);
      const offset = (<usize>index(n, 0, c)) << 2;
      for (let i = 0; i < vectors; i += 4) {
        const q = offset + ((<usize>i) << 2);
        const d = f32x4.sub(f32x4.sub(v128.load(x + q), hi), lo);
        v128.store(y + q, activateVec(kind, f32x4.add(f32x4.mul(d, a), k), alpha));
      }
      if (vectors < spatial) {
        const q = offset + ((<usize>vectors) << 2);
        forwardTail(kind, y, x, q, 4, spatial - vectors, c, alpha);
      }
    }
    return;
  }
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += AFFINE_PIXELS) {
    const pixels = min(AFFINE_PIXELS, spatial - s0);
    const offset = (<usize>index(n, s0, 0)) << 2;
    for (let c = 0; c < quads; c += 4) {
      const hi = quadTerm(MEAN_HI, c);
      const lo = quadTerm(MEAN_LO, c);
      const a = quadTerm(SCALE32, c);
      const k = quadTerm(SHIFT32, c);
      let q = offset + ((<usize>c) << 2);
      for (let p = 0; p < pixels; p++) {
        const d = f32x4.sub(f32x4.sub(v128.load(x + q), hi), lo);
        v128.store(y + q, activateVec(kind, f32x4.add(f32x4.mul(d, a), k), alpha));
        q += stride;
      }
    }
    for (let c = quads; c < channels; c++) {
      for (let p = 0; p < pixels; p += 4) {
        const q = offset + <usize>(p * channels + c) * 4;
        forwardTail(kind, y, x, q, stride, min(4, pixels - p), c, alpha);
      }
    }
  }
}

@inline
function activatedSums(
  kind: i32,
  dzOut: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: v128,
): void {
  if (!channelsLast) {
    const vectors = spatial & ~3;
    for (let c = c0; c < c1; c++) {
      const hi = splatTerm(MEAN_HI, c);
      const lo = splatTerm(MEAN_LO, c);
      const a = splatTerm(SCALE32, c);
      const k = splatTerm(SHIFT32, c);
      const offset = (<usize>index(n, 0, c)) << 2;
      let total0: f64 = 0;
      let total1: f64 = 0;
      let i = 0;
      while (i < vectors) {
        const blockEnd = min(i + SUM_VECTORS * 4, vectors);
        let sum0 = f32x4.splat(0);
        let sum1 = f32x4.splat(0);
        for (; i < blockEnd; i += 4) {
          const q = offset + ((<usize>i) << 2);
          const d = f32x4.sub(f32x4.sub(v128.load(x + q), hi), lo);
          const z = f32x4.add(f32x4.mul(d, a), k);
          const dz = f32x4.mul(v128.load(dy + q), derivativeVec(kind, z, alpha));
          v128.store(dzOut + q, dz);
          sum0 = f32x4.add(sum0, dz);
          sum1 = f32x4.add(sum1, f32x4.mul(dz, d));
        }
        total0 += laneSum(sum0);
        total1 += laneSum(sum1);
      }
      if (vectors < spatial) {
        const q = offset + ((<usize>vectors) << 2);
        sumsTail(kind, dzOut, x, dy, q, 4, spatial - vectors, c, alpha);
        total0 += sumOut0;
        total1 += sumOut1;
      }
      setF64(SUM_A, c, total0);
      setF64(SUM_B, c, total1);
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    setF64(SUM_A, c, 0);
    setF64(SUM_B, c, 0);
  }
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  for (let s0 = 0; s0 < spatial; s0 += BLOCK_PIXELS) {
    const pixels = min(BLOCK_PIXELS, spatial - s0);
    const offset = (<usize>index(n, s0, 0)) << 2;
    for (let c = 0; c < quads; c += 4) {
      const hi = quadTerm(MEAN_HI, c);
      const lo = quadTerm(MEAN_LO, c);
      const a = quadTerm(SCALE32, c);
      const k = quadTerm(SHIFT32, c);
      let q = offset + ((<usize>c) << 2);
      let sum0 = f32x4.splat(0);
      let sum1 = f32x4.splat(0);
      for (let p = 0; p < pixels; p++) {
        const d = f32x4.sub(f32x4.sub(v128.load(x + q), hi), lo);
        const z = f32x4.add(f32x4.mul(d, a), k);
        const dz = f32x4.mul(v128.load(dy + q), derivativeVec(kind, z, alpha));
        v128.store(dzOut + q, dz);
        sum0 = f32x4.add(sum0, dz);
        sum1 = f32x4.add(sum1, f32x4.mul(dz, d));
        q += stride;
      }
      addLanes(SUM_A, c, sum0);
      addLanes(SUM_B, c, sum1);
    }
    for (let c = quads; c < channels; c++) {
      for (let p = 0; p < pixels; p += 4) {
        const q = offset + <usize>(p * channels + c) * 4;
        sumsTail(kind, dzOut, x, dy, q, stride, min(4, pixels - p), c, alpha);
        setF64(SUM_A, c, getF64(SUM_A, c) + sumOut0);
        setF64(SUM_B, c, getF64(SUM_B, c) + sumOut1);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Gradient.

/**
 * dx, dgamma, dbeta from dy, x, gamma, beta and the forward's mean and invStd.
 * dgamma / dbeta are `[N, C]` when `*PerInstance`, `[C]` otherwise.
 */
export function gradient(
  dy: usize,
  x: usize,
  gamma: usize,
  gammaPerInstance: i32,
  beta: usize,
  betaPerInstance: i32,
  meanIn: usize,
  invStdIn: usize,
  dx: usize,
  dgamma: usize,
  dbeta: usize,
  scratchPtr: usize,
  n: i32,
  s: i32,
  c: i32,
  g: i32,
  last: i32,
  epsilon: f64,
  stddevMode: i32,
  activation: i32,
  alpha: f64,
): void {
  setup(n, s, c, g, last, scratchPtr);
  for (let ch = 0; ch < channels; ch++) {
    setF64(PARAM_A, ch, 0);
    setF64(PARAM_B, ch, 0);
  }
  const gammaN = gammaPerInstance != 0;
  const betaN = betaPerInstance != 0;
  for (let b = 0; b < batch; b++) {
    if (channelsLast) {
      gradientUnit(
        dy,
        x,
        gamma,
        gammaN,
        beta,
        betaN,
        meanIn,
        invStdIn,
        dx,
        b,
        0,
        groups,
        epsilon,
        stddevMode != 0,
        activation,
        alpha,
      );
    } else {
      for (let group = 0; group < groups; group++) {
        gradientUnit(
          dy,
          x,
          gamma,
          gammaN,
          beta,
          betaN,
          meanIn,
          invStdIn,
          dx,
          b,
          group,
          group + 1,
          epsilon,
          stddevMode != 0,
          activation,
          alpha,
        );
      }
    }
    if (gammaN || betaN) {
      for (let ch = 0; ch < channels; ch++) {
        if (gammaN)
          store<f32>(dgamma + ((<usize>(b * channels + ch)) << 2), <f32>getF64(PARAM_A, ch));
        if (betaN)
          store<f32>(dbeta + ((<usize>(b * channels + ch)) << 2), <f32>getF64(PARAM_B, ch));
        if (gammaN) setF64(PARAM_A, ch, 0);
        if (betaN) setF64(PARAM_B, ch, 0);
      }
    }
  }
  for (let ch = 0; ch < channels; ch++) {
    if (!gammaN) store<f32>(dgamma + ((<usize>ch) << 2), <f32>getF64(PARAM_A, ch));
    if (!betaN) store<f32>(dbeta + ((<usize>ch) << 2), <f32>getF64(PARAM_B, ch));
  }
}

function gradientUnit(
  dy: usize,
  x: usize,
  gamma: usize,
  gammaPerInstance: bool,
  beta: usize,
  betaPerInstance: bool,
  meanIn: usize,
  invStdIn: usize,
  dx: usize,
  n: i32,
  group0: i32,
  group1: i32,
  epsilon: f64,
  stddevMode: bool,
  activation: i32,
  alpha: f64,
): void {
  const perGroup = channels / groups;
  const c0 = group0 * perGroup;
  const c1 = group1 * perGroup;
  const groupSize = <f64>(spatial * perGroup);
  // The saved mean is float32: sums of d = x - saved recover the exact one.
  // The linear activation takes them in pass 1 (SUM_A = sum dy, SUM_B =
  // sum dy * d, SUM_C = sum d; SUM_B is moved to the exact mean below), the
  // others in a pass 0 of their own, since their dz needs the exact mean.
  const linear = activation == LINEAR;
  for (let c = c0; c < c1; c++) setF32(CENTER32, c, at(meanIn, n * groups + c / perGroup));
  channelSums(x, linear ? dy : 0, n, c0, c1);
  for (let group = group0; group < group1; group++) {
    let offset: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      offset += getF64(linear ? SUM_C : SUM_A, c);
    }
    const saved = <f64>at(meanIn, n * groups + group);
    const mean = groupSize > 0 ? saved + offset / groupSize : saved;
    const invStd = <f64>at(invStdIn, n * groups + group);
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const a = invStd * param(gamma, gammaPerInstance, n, c, 1);
      setF64(MEAN, c, mean);
      setF64(SCALE, c, a);
      setF64(SHIFT, c, param(beta, betaPerInstance, n, c, 0));
      setF32(SCALE32, c, <f32>a);
      setF32(SHIFT32, c, <f32>getF64(SHIFT, c));
      setMeanPair(c, mean);
      // sum dy * (x - mean) = sum dy * (x - saved) - (mean - saved) * sum dy.
      if (linear) setF64(SUM_B, c, getF64(SUM_B, c) - (mean - saved) * getF64(SUM_A, c));
    }
  }
  // Pass 1 of an activation: SUM_A = sum dz, SUM_B = sum dz * (x - mean),
  // dz stored in dx for pass 2. A channel whose float32 sums overflowed (or
  // hold a NaN) is summed again in float64.
  if (!linear) activatedPass(SUMS_PASS, activation, dx, x, dy, n, c0, c1, alpha);
  for (let c = c0; c < c1; c++) {
    if (!isFinite(getF64(SUM_A, c) + getF64(SUM_B, c))) {
      gradientSumsFloat64(dy, x, n, c, activation, alpha);
    }
  }
  for (let group = group0; group < group1; group++) {
    const invStd = <f64>at(invStdIn, n * groups + group);
    let sumU: f64 = 0;
    let sumUXhat: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const gammaC = param(gamma, gammaPerInstance, n, c, 1);
      const dzXhat = getF64(SUM_B, c) * invStd;
      sumU += gammaC * getF64(SUM_A, c);
      sumUXhat += gammaC * dzXhat;
      setF64(PARAM_A, c, getF64(PARAM_A, c) + dzXhat);
      setF64(PARAM_B, c, getF64(PARAM_B, c) + getF64(SUM_A, c));
    }
    let k = invStd;
    if (stddevMode) {
      const sigma = 1 / invStd - epsilon;
      k = sigma > 0 ? 1 / sigma : 0;
    }
    const slope = groupSize > 0 ? (-k * invStd * sumUXhat) / groupSize : 0;
    const constant = groupSize > 0 ? (-invStd * sumU) / groupSize : 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      setF32(SLOPE32, c, <f32>slope);
      setF32(OFFSET32, c, <f32>constant);
    }
  }
  // Pass 2: dx = a * dz + slope * (x - mean) + constant; exactly 0 for
  // one-element groups (the terms cancel, float32 rounding would not).
  if (spatial * perGroup == 1) {
    for (let c = c0; c < c1; c++) store<f32>(dx + ((<usize>index(n, 0, c)) << 2), 0);
  } else {
    affineSimd(dx, x, linear ? dy : dx, n, c0, c1, SLOPE32, OFFSET32, SCALE32);
  }
}

/**
 * SUM_A = sum dz and SUM_B = sum dz * (x - m) of channel (n, c) in float64
 * scalar code: for a channel whose float32 sums overflowed or hold a NaN.
 */
function gradientSumsFloat64(
  dy: usize,
  x: usize,
  n: i32,
  c: i32,
  activation: i32,
  alpha: f64,
): void {
  const a = getF64(SCALE, c);
  const m = getF64(MEAN, c);
  const k = getF64(SHIFT, c);
  let sumDz: f64 = 0;
  let sumDzD: f64 = 0;
  for (let s = 0; s < spatial; s++) {
    const i = index(n, s, c);
    const d = <f64>at(x, i) - m;
    const dz = <f64>at(dy, i) * derivative(activation, a * d + k, alpha);
    sumDz += dz;
    sumDzD += dz * d;
  }
  setF64(SUM_A, c, sumDz);
  setF64(SUM_B, c, sumDzD);
}
