// AssemblyScript: the InstanceNorm and InstanceNormGrad kernels of the wasm
// backend, compiled to a WebAssembly module with 128-bit SIMD
// (scripts/build_wasm.mjs). The module imports the backend's memory and owns
// none of it: no data segments, no static heap. Every pointer is a byte
// offset in that memory: tensors the backend allocated, and one scratch block
// the caller allocates with the backend's allocator (see scratchBytes).
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
// The linear activation runs in SIMD; the other activations in float64
// scalar code.

// Activation codes: the order of ACTIVATIONS in src/kernel_names.ts.
const LINEAR = 0;
const RELU = 1;
const RELU6 = 2;
const LEAKY_RELU = 3;
const ELU = 4;
const SELU = 5;
const SIGMOID = 6;
const TANH = 7;
const SWISH = 8;
const MISH = 9;
const GELU = 10;
const GELU_NEW = 11;

const SELU_SCALE: f64 = 1.0507009873554805;
const SELU_ALPHA: f64 = 1.6732632423543772;
const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const GELU_CUBIC: f64 = 0.044715;

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
const F64_ARRAYS = 10;
const F32_ARRAYS = 6;

// float64 arrays
const CENTER = 0; // pivot (forward) or saved mean (gradient pass 0)
const SUM_A = 1; // sum d (forward) / sum dz (gradient)
const SUM_B = 2; // sum d^2 (forward) / sum dz * d (gradient)
const SCALE = 3; // a: y = act(a * (x - m) + k); dx: factor of dz
const MEAN = 4; // m per channel
const SHIFT = 5; // k: beta (z) per channel
const SLOPE = 6; // dx: factor of x - m
const OFFSET = 7; // dx: constant term
const PARAM_A = 8; // dgamma accumulator ([C] gamma)
const PARAM_B = 9; // dbeta accumulator ([C] beta)
// float32 arrays
const CENTER32 = 0;
const SCALE32 = 1;
const MEAN_HI = 2;
const MEAN_LO = 3;
const SHIFT32 = 4;
const SLOPE32 = 5;

// Geometry and attributes of the current call.
let batch = 0;
let spatial = 0;
let channels = 0;
let groups = 0;
let channelsLast = false;
let scratch: usize = 0;

/** Bytes of scratch the kernels need for `channelCount` channels. */
export function scratchBytes(channelCount: i32): i32 {
  return channelCount * (F64_ARRAYS * 8 + F32_ARRAYS * 4);
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
}

// ---------------------------------------------------------------------------
// Sums of one channel. Results in sumOut0 / sumOut1.

let sumOut0: f64 = 0;
let sumOut1: f64 = 0;

/**
 * Over a contiguous row: sum of d = x - center and of d * g, where g is d
 * itself (`other` 0) or `other[i]`; with `centerLo`, d = (x - center) - lo.
 */
function rowSums(row: usize, other: usize, count: i32, center: f32, centerLo: f32): void {
  const c4 = f32x4.splat(center);
  const lo4 = f32x4.splat(centerLo);
  let total0: f64 = 0;
  let total1: f64 = 0;
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
      // Moments around a float32 center: every caller passes lo = 0 here.
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
      // s: sum g; q: sum g * d.
      for (; i < blockEnd; i += 16) {
        const p = row + ((<usize>i) << 2);
        const g = other + ((<usize>i) << 2);
        const d0 = f32x4.sub(f32x4.sub(v128.load(p), c4), lo4);
        const d1 = f32x4.sub(f32x4.sub(v128.load(p, 16), c4), lo4);
        const d2 = f32x4.sub(f32x4.sub(v128.load(p, 32), c4), lo4);
        const d3 = f32x4.sub(f32x4.sub(v128.load(p, 48), c4), lo4);
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
    }
    total0 += laneSum(s0) + laneSum(s1) + laneSum(s2) + laneSum(s3);
    total1 += laneSum(q0) + laneSum(q1) + laneSum(q2) + laneSum(q3);
  }
  const center64 = <f64>center + <f64>centerLo;
  for (; i < count; i++) {
    const d = <f64>at(row, i) - center64;
    const g = other == 0 ? d : <f64>at(other, i);
    total0 += g;
    total1 += g * d;
  }
  sumOut0 = total0;
  sumOut1 = total1;
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
 * Per channel c in [c0, c1) of instance n: SUM_A = sum d, SUM_B = sum d * g
 * (g = d when `other` is 0), d = x - (center hi + lo) from the float32
 * arrays CENTER32 / MEAN_LO... Channels first: one row each. Channels last:
 * blocks of pixels, four channels per vector.
 */
function channelSums(x: usize, other: usize, n: i32, c0: i32, c1: i32, centerLo: bool): void {
  if (!channelsLast) {
    for (let c = c0; c < c1; c++) {
      const offset = (<usize>index(n, 0, c)) << 2;
      rowSums(
        x + offset,
        other == 0 ? 0 : other + offset,
        spatial,
        getF32(CENTER32, c),
        centerLo ? getF32(MEAN_LO, c) : 0,
      );
      setF64(SUM_A, c, sumOut0);
      setF64(SUM_B, c, sumOut1);
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    setF64(SUM_A, c, 0);
    setF64(SUM_B, c, 0);
  }
  const quads = channels & ~3;
  const stride = (<usize>channels) << 2;
  const loArray = f32Array(MEAN_LO);
  for (let s0 = 0; s0 < spatial; s0 += BLOCK_PIXELS) {
    const pixels = min(BLOCK_PIXELS, spatial - s0);
    const rowOffset = (<usize>index(n, s0, 0)) << 2;
    for (let c = 0; c < quads; c += 4) {
      const center = v128.load(f32Array(CENTER32) + ((<usize>c) << 2));
      const lo = centerLo ? v128.load(loArray + ((<usize>c) << 2)) : f32x4.splat(0);
      let p = x + rowOffset + ((<usize>c) << 2);
      let g = other + rowOffset + ((<usize>c) << 2);
      let sum0 = f32x4.splat(0);
      let sum1 = f32x4.splat(0);
      for (let k = 0; k < pixels; k++) {
        const d = f32x4.sub(f32x4.sub(v128.load(p), center), lo);
        if (other == 0) {
          sum0 = f32x4.add(sum0, d);
          sum1 = f32x4.add(sum1, f32x4.mul(d, d));
        } else {
          const gv = v128.load(g);
          sum0 = f32x4.add(sum0, gv);
          sum1 = f32x4.add(sum1, f32x4.mul(gv, d));
        }
        p += stride;
        g += stride;
      }
      const a = f64Array(SUM_A) + ((<usize>c) << 3);
      const b = f64Array(SUM_B) + ((<usize>c) << 3);
      v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(sum0)));
      v128.store(
        a,
        f64x2.add(
          v128.load(a, 16),
          f64x2.promote_low_f32x4(v128.shuffle<f32>(sum0, sum0, 2, 3, 2, 3)),
        ),
        16,
      );
      v128.store(b, f64x2.add(v128.load(b), f64x2.promote_low_f32x4(sum1)));
      v128.store(
        b,
        f64x2.add(
          v128.load(b, 16),
          f64x2.promote_low_f32x4(v128.shuffle<f32>(sum1, sum1, 2, 3, 2, 3)),
        ),
        16,
      );
    }
    for (let c = quads; c < channels; c++) {
      const center = <f64>getF32(CENTER32, c) + (centerLo ? <f64>getF32(MEAN_LO, c) : 0);
      let total0: f64 = 0;
      let total1: f64 = 0;
      for (let k = 0; k < pixels; k++) {
        const i = index(n, s0 + k, c);
        const d = <f64>at(x, i) - center;
        const gk = other == 0 ? d : <f64>at(other, i);
        total0 += gk;
        total1 += gk * d;
      }
      setF64(SUM_A, c, getF64(SUM_A, c) + total0);
      setF64(SUM_B, c, getF64(SUM_B, c) + total1);
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
// Activations (float64).

/** erf by Abramowitz-Stegun 7.1.26 (|error| <= 1.5e-7). */
function erf(v: f64): f64 {
  const sign: f64 = v < 0 ? -1 : 1;
  const a = Math.abs(v);
  const t = 1 / (1 + 0.3275911 * a);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-a * a));
}

/** Logistic sigmoid with a bounded exp argument. */
@inline
function sigmoid(z: f64): f64 {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

function softplus(z: f64): f64 {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

@inline
function activate(kind: i32, z: f64, alpha: f64): f64 {
  switch (kind) {
    case RELU:
      return z > 0 ? z : 0;
    case RELU6:
      return Math.min(Math.max(z, 0), 6);
    case LEAKY_RELU:
      return z > 0 ? z : alpha * z;
    case ELU:
      return z > 0 ? z : Math.expm1(z);
    case SELU:
      return SELU_SCALE * (z > 0 ? z : SELU_ALPHA * Math.expm1(z));
    case SIGMOID:
      return sigmoid(z);
    case TANH:
      return Math.tanh(z);
    case SWISH:
      return z * sigmoid(z);
    case MISH:
      return z * Math.tanh(softplus(z));
    case GELU:
      return 0.5 * z * (1 + erf(z * Math.SQRT1_2));
    case GELU_NEW:
      return 0.5 * z * (1 + Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z)));
    default:
      return z;
  }
}

@inline
function derivative(kind: i32, z: f64, alpha: f64): f64 {
  switch (kind) {
    case RELU:
      return z > 0 ? 1 : 0;
    case RELU6:
      return z > 0 && z <= 6 ? 1 : 0;
    case LEAKY_RELU:
      return z > 0 ? 1 : alpha;
    case ELU:
      return z > 0 ? 1 : Math.exp(z);
    case SELU:
      return SELU_SCALE * (z > 0 ? 1 : SELU_ALPHA * Math.exp(z));
    case SIGMOID: {
      const s = sigmoid(z);
      return s * (1 - s);
    }
    case TANH: {
      const t = Math.tanh(z);
      return 1 - t * t;
    }
    case SWISH: {
      const s = sigmoid(z);
      return s + z * s * (1 - s);
    }
    case MISH: {
      const t = Math.tanh(softplus(z));
      return t + z * (1 - t * t) * sigmoid(z);
    }
    case GELU:
      return 0.5 * (1 + erf(z * Math.SQRT1_2)) + z * Math.exp(-0.5 * z * z) * INV_SQRT_2PI;
    case GELU_NEW: {
      const t = Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z));
      return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * z * z);
    }
    default:
      return 1;
  }
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
    setF32(MEAN_LO, c, 0);
  }
  channelSums(x, 0, n, c0, c1, false);
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
  else forwardScalar(y, x, n, c0, c1, activation, alpha);
}

/**
 * target = f * g + e * ((x - hi) - lo) + k per channel, in f32x4 (g = 0 when
 * `other` is 0: the forward, with e = SCALE32, k = SHIFT32; the gradient:
 * f = SCALE32, e = SLOPE32, k = SHIFT32 holding the offset).
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

/** y = act(a * (x - m) + k) in float64, memory order. */
function forwardScalar(
  y: usize,
  x: usize,
  n: i32,
  c0: i32,
  c1: i32,
  activation: i32,
  alpha: f64,
): void {
  if (channelsLast) {
    for (let s = 0; s < spatial; s++) {
      for (let c = 0; c < channels; c++) {
        const i = index(n, s, c);
        const z = getF64(SCALE, c) * (<f64>at(x, i) - getF64(MEAN, c)) + getF64(SHIFT, c);
        store<f32>(y + ((<usize>i) << 2), <f32>activate(activation, z, alpha));
      }
    }
  } else {
    for (let c = c0; c < c1; c++) {
      const a = getF64(SCALE, c);
      const m = getF64(MEAN, c);
      const k = getF64(SHIFT, c);
      const base = index(n, 0, c);
      for (let s = 0; s < spatial; s++) {
        const z = a * (<f64>at(x, base + s) - m) + k;
        store<f32>(y + ((<usize>(base + s)) << 2), <f32>activate(activation, z, alpha));
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
  // Pass 0: the saved mean is float32; sum x - mean to recover the exact one.
  for (let c = c0; c < c1; c++) {
    setF32(CENTER32, c, at(meanIn, n * groups + c / perGroup));
    setF32(MEAN_LO, c, 0);
  }
  channelSums(x, 0, n, c0, c1, false);
  for (let group = group0; group < group1; group++) {
    let offset: f64 = 0;
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) offset += getF64(SUM_A, c);
    const saved = <f64>at(meanIn, n * groups + group);
    const mean = groupSize > 0 ? saved + offset / groupSize : saved;
    const invStd = <f64>at(invStdIn, n * groups + group);
    for (let c = group * perGroup; c < (group + 1) * perGroup; c++) {
      const a = invStd * param(gamma, gammaPerInstance, n, c, 1);
      setF64(MEAN, c, mean);
      setF64(SCALE, c, a);
      setF64(SHIFT, c, param(beta, betaPerInstance, n, c, 0));
      setMeanPair(c, mean);
      setF32(CENTER32, c, getF32(MEAN_HI, c));
    }
  }
  // Pass 1: SUM_A = sum dz, SUM_B = sum dz * (x - mean).
  if (activation == LINEAR) {
    channelSums(x, dy, n, c0, c1, true);
  } else {
    gradientSumsScalar(dy, x, n, c0, c1, activation, alpha);
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
      setF64(SLOPE, c, slope);
      setF64(OFFSET, c, constant);
      setF32(SLOPE32, c, <f32>slope);
      setF32(SHIFT32, c, <f32>constant);
      setF32(SCALE32, c, <f32>getF64(SCALE, c));
    }
  }
  // Pass 2: dx = a * dz + slope * (x - mean) + constant; exactly 0 for
  // one-element groups (the terms cancel, float32 rounding would not).
  if (spatial * perGroup == 1) {
    for (let c = c0; c < c1; c++) store<f32>(dx + ((<usize>index(n, 0, c)) << 2), 0);
  } else if (activation == LINEAR) affineSimd(dx, x, dy, n, c0, c1, SLOPE32, SHIFT32, SCALE32);
  else gradientScalar(dx, dy, x, n, c0, c1, activation, alpha);
}

/** dz = dy * act'(z) for the element at i of channel c. */
@inline
function dzAt(dy: usize, x: usize, i: i32, c: i32, activation: i32, alpha: f64): f64 {
  const d = <f64>at(x, i) - getF64(MEAN, c);
  const z = getF64(SCALE, c) * d + getF64(SHIFT, c);
  return <f64>at(dy, i) * derivative(activation, z, alpha);
}

function gradientSumsScalar(
  dy: usize,
  x: usize,
  n: i32,
  c0: i32,
  c1: i32,
  activation: i32,
  alpha: f64,
): void {
  for (let c = c0; c < c1; c++) {
    let sumDz: f64 = 0;
    let sumDzD: f64 = 0;
    for (let s = 0; s < spatial; s++) {
      const i = index(n, s, c);
      const dz = dzAt(dy, x, i, c, activation, alpha);
      sumDz += dz;
      sumDzD += dz * (<f64>at(x, i) - getF64(MEAN, c));
    }
    setF64(SUM_A, c, sumDz);
    setF64(SUM_B, c, sumDzD);
  }
}

function gradientScalar(
  dx: usize,
  dy: usize,
  x: usize,
  n: i32,
  c0: i32,
  c1: i32,
  activation: i32,
  alpha: f64,
): void {
  for (let c = c0; c < c1; c++) {
    const a = getF64(SCALE, c);
    const m = getF64(MEAN, c);
    const slope = getF64(SLOPE, c);
    const constant = getF64(OFFSET, c);
    for (let s = 0; s < spatial; s++) {
      const i = index(n, s, c);
      const dz = dzAt(dy, x, i, c, activation, alpha);
      const value = a * dz + slope * (<f64>at(x, i) - m) + constant;
      store<f32>(dx + ((<usize>i) << 2), <f32>value);
    }
  }
}
