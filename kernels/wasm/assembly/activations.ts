// AssemblyScript: the fused activations of instance_norm.ts, in f32x4 lanes
// (the kernels' vector passes) and in float64 (the gradient sums of a channel
// that the vector pass cannot hold: see instance_norm.ts).
//
// Each f32x4 form mirrors its float64 form lane by lane, NaN included: relu
// maps NaN to 0 as `z > 0 ? z : 0` does, the others keep it. The smooth ones
// go through one vector exp, of arguments that cannot overflow where the
// result is finite (e^-|z| for sigmoid, tanh and mish), so large |z| gives
// the limits exactly.

// Activation codes: the order of ACTIVATIONS in src/kernel_names.ts.
export const LINEAR = 0;
export const RELU = 1;
export const RELU6 = 2;
export const LEAKY_RELU = 3;
export const ELU = 4;
export const SELU = 5;
export const SIGMOID = 6;
export const TANH = 7;
export const SWISH = 8;
export const MISH = 9;
export const GELU = 10;
export const GELU_NEW = 11;

const SELU_SCALE: f64 = 1.0507009873554805;
const SELU_ALPHA: f64 = 1.6732632423543772;
const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
const INV_SQRT_2PI: f64 = 0.3989422804014327;
const GELU_CUBIC: f64 = 0.044715;

// erf by Abramowitz-Stegun 7.1.26 (|error| <= 1.5e-7).
const ERF_P: f64 = 0.3275911;
const ERF_A1: f64 = 0.254829592;
const ERF_A2: f64 = -0.284496736;
const ERF_A3: f64 = 1.421413741;
const ERF_A4: f64 = -1.453152027;
const ERF_A5: f64 = 1.061405429;

// ---------------------------------------------------------------------------
// float64.

/** erf by A&S 7.1.26. */
function erf(v: f64): f64 {
  const sign: f64 = v < 0 ? -1 : 1;
  const a = Math.abs(v);
  const t = 1 / (1 + ERF_P * a);
  const poly = t * (ERF_A1 + t * (ERF_A2 + t * (ERF_A3 + t * (ERF_A4 + t * ERF_A5))));
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

/** act'(z) in float64. */
export function derivative(kind: i32, z: f64, alpha: f64): f64 {
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
// f32x4.

const LOG2E: f32 = 1.4426950408889634;
/** 1.5 * 2^23: y + ROUNDING - ROUNDING is y rounded to an integer for |y| < 2^22. */
const ROUNDING: f32 = 12582912;
/** ln 2 in two parts: n * LN2_HI is exact for |n| < 512 (LN2_HI has 15 bits). */
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.4286068203094173e-6;
// e^r on |r| <= ln 2 / 2: degree 6, fitted for relative error (1.9e-9; under
// one ulp in float32 Horner), the first two coefficients 1.
const EXP_C2: f32 = 0.49999991059303284;
const EXP_C3: f32 = 0.16666419804096222;
const EXP_C4: f32 = 0.041668228805065155;
const EXP_C5: f32 = 0.008374798111617565;
const EXP_C6: f32 = 0.0013836612924933434;
/** Past this |z| gelu_new's tanh is +-1 in float32; the derivative's cubic is taken no further. */
const GELU_NEW_LIMIT: f32 = 1e4;

// Vector constants: splats in memory (the end of the caller's scratch
// block), loaded where used; the names below are their byte offsets. Chrome
// 150's V8 materializes a v128 constant inside the loop at each use: as
// immediates, swish's forward ran 1.45x and gelu's 1.55x slower than with
// this table (a load folds into the instruction that uses it). Node 20's V8,
// which hoists constants, loses about 20% to the table.
let constantTable: usize = 0;

/** The splat at byte `offset` of the table. */
@inline
function vec(offset: i32): v128 {
  return v128.load(constantTable + <usize>offset);
}
const EXPONENT_BIAS_V = 0;
const EXP_FLOOR_V = 16;
const EXP_CEILING_V = 32;
const LOG2E_V = 48;
const ROUNDING_V = 64;
const LN2_HI_V = 80;
const LN2_LO_V = 96;
const ONE_V = 112;
const EXP_C2_V = 128;
const EXP_C3_V = 144;
const EXP_C4_V = 160;
const EXP_C5_V = 176;
const EXP_C6_V = 192;
const SIGN_V = 208;
const TWO_V = 224;
const SQRT1_2_V = 240;
const ERF_P_V = 256;
const ERF_A5_V = 272;
const ERF_A4_V = 288;
const ERF_A3_V = 304;
const ERF_A2_V = 320;
const ERF_A1_V = 336;
const HALF_V = 352;
const MINUS_HALF_V = 368;
const GELU_CUBIC_V = 384;
const SQRT_2_OVER_PI_V = 400;
const SIX_V = 416;
const SELU_ALPHA_V = 432;
const SELU_SCALE_V = 448;
const SELU_SLOPE_V = 464;
const INV_SQRT_2PI_V = 480;
const GELU_NEW_FLOOR_V = 496;
const GELU_NEW_LIMIT_V = 512;
const GELU_CUBIC3_V = 528;
const GELU_NEW_HALF_V = 544;
/** Bytes of the constant table. */
export const CONSTANT_BYTES = 560;

/** Writes the constant table at `table` (16-byte slots) and uses it. */
export function storeConstants(table: usize): void {
  constantTable = table;
  v128.store(table, i32x4.splat(127), EXPONENT_BIAS_V);
  v128.store(table, f32x4.splat(<f32>-104), EXP_FLOOR_V);
  v128.store(table, f32x4.splat(<f32>89), EXP_CEILING_V);
  v128.store(table, f32x4.splat(<f32>LOG2E), LOG2E_V);
  v128.store(table, f32x4.splat(<f32>ROUNDING), ROUNDING_V);
  v128.store(table, f32x4.splat(<f32>LN2_HI), LN2_HI_V);
  v128.store(table, f32x4.splat(<f32>LN2_LO), LN2_LO_V);
  v128.store(table, f32x4.splat(<f32>1), ONE_V);
  v128.store(table, f32x4.splat(<f32>EXP_C2), EXP_C2_V);
  v128.store(table, f32x4.splat(<f32>EXP_C3), EXP_C3_V);
  v128.store(table, f32x4.splat(<f32>EXP_C4), EXP_C4_V);
  v128.store(table, f32x4.splat(<f32>EXP_C5), EXP_C5_V);
  v128.store(table, f32x4.splat(<f32>EXP_C6), EXP_C6_V);
  v128.store(table, i32x4.splat(<i32>SIGN_BIT), SIGN_V);
  v128.store(table, f32x4.splat(<f32>2), TWO_V);
  v128.store(table, f32x4.splat(<f32>Math.SQRT1_2), SQRT1_2_V);
  v128.store(table, f32x4.splat(<f32>ERF_P), ERF_P_V);
  v128.store(table, f32x4.splat(<f32>ERF_A5), ERF_A5_V);
  v128.store(table, f32x4.splat(<f32>ERF_A4), ERF_A4_V);
  v128.store(table, f32x4.splat(<f32>ERF_A3), ERF_A3_V);
  v128.store(table, f32x4.splat(<f32>ERF_A2), ERF_A2_V);
  v128.store(table, f32x4.splat(<f32>ERF_A1), ERF_A1_V);
  v128.store(table, f32x4.splat(<f32>0.5), HALF_V);
  v128.store(table, f32x4.splat(<f32>-0.5), MINUS_HALF_V);
  v128.store(table, f32x4.splat(<f32>GELU_CUBIC), GELU_CUBIC_V);
  v128.store(table, f32x4.splat(<f32>SQRT_2_OVER_PI), SQRT_2_OVER_PI_V);
  v128.store(table, f32x4.splat(<f32>6), SIX_V);
  v128.store(table, f32x4.splat(<f32>SELU_ALPHA), SELU_ALPHA_V);
  v128.store(table, f32x4.splat(<f32>SELU_SCALE), SELU_SCALE_V);
  v128.store(table, f32x4.splat(<f32>(SELU_SCALE * SELU_ALPHA)), SELU_SLOPE_V);
  v128.store(table, f32x4.splat(<f32>INV_SQRT_2PI), INV_SQRT_2PI_V);
  v128.store(table, f32x4.splat(<f32>-GELU_NEW_LIMIT), GELU_NEW_FLOOR_V);
  v128.store(table, f32x4.splat(<f32>GELU_NEW_LIMIT), GELU_NEW_LIMIT_V);
  v128.store(table, f32x4.splat(<f32>(3 * GELU_CUBIC)), GELU_CUBIC3_V);
  v128.store(table, f32x4.splat(<f32>(0.5 * SQRT_2_OVER_PI)), GELU_NEW_HALF_V);
}

/** 2^n per lane for n in [-126, 127] (i32 lanes). */
@inline
function powerOfTwo(n: v128): v128 {
  return i32x4.shl(i32x4.add(n, vec(EXPONENT_BIAS_V)), 23);
}

/**
 * e^x per lane: x = n ln 2 + r, e^r by the polynomial, times 2^n applied as
 * two powers of two (each a normal float32), so that results come out right
 * down through the denormals and up to Inf. x is first clamped to [-104, 89],
 * beyond which e^x is 0 or Inf in float32; NaN passes the clamp (pmin / pmax
 * return their first operand when a comparison is false) and stays NaN. n is
 * rounded by adding ROUNDING, whose low bits then hold it as an integer.
 */
@inline
export function expVec(x: v128): v128 {
  const clamped = f32x4.pmin(f32x4.pmax(x, vec(EXP_FLOOR_V)), vec(EXP_CEILING_V));
  const shifted = f32x4.add(f32x4.mul(clamped, vec(LOG2E_V)), vec(ROUNDING_V));
  const n = f32x4.sub(shifted, vec(ROUNDING_V));
  const r = f32x4.sub(
    f32x4.sub(clamped, f32x4.mul(n, vec(LN2_HI_V))),
    f32x4.mul(n, vec(LN2_LO_V)),
  );
  // Estrin's scheme: (1 + r) + r^2 (c2 + c3 r) + r^4 ((c4 + c5 r) + c6 r^2),
  // a shorter dependency chain than Horner's (the loops are latency-bound).
  const r2 = f32x4.mul(r, r);
  const low = f32x4.add(vec(ONE_V), r);
  const middle = f32x4.add(vec(EXP_C2_V), f32x4.mul(vec(EXP_C3_V), r));
  const high = f32x4.add(
    f32x4.add(vec(EXP_C4_V), f32x4.mul(vec(EXP_C5_V), r)),
    f32x4.mul(vec(EXP_C6_V), r2),
  );
  const p = f32x4.add(
    f32x4.add(low, f32x4.mul(r2, middle)),
    f32x4.mul(f32x4.mul(r2, r2), high),
  );
  const whole = i32x4.sub(shifted, vec(ROUNDING_V));
  const half = i32x4.shr_s(whole, 1);
  return f32x4.mul(f32x4.mul(p, powerOfTwo(half)), powerOfTwo(i32x4.sub(whole, half)));
}

const SIGN_BIT = 0x80000000;

/** e^-|z|. */
@inline
function expNegAbs(z: v128): v128 {
  return expVec(v128.or(z, vec(SIGN_V)));
}

/** The sign of z on t >= 0. */
@inline
function withSignOf(t: v128, z: v128): v128 {
  return v128.or(t, v128.and(z, vec(SIGN_V)));
}

/** Sigmoid 1 / (1 + e^-z): e^-z overflows to Inf (sigmoid 0) for z below -88.7. */
@inline
function sigmoidDirect(z: v128): v128 {
  return f32x4.div(vec(ONE_V), f32x4.add(vec(ONE_V), expVec(f32x4.neg(z))));
}

/** Sigmoid from e = e^-|z|: 1 / (1 + e) for z >= 0, e / (1 + e) otherwise. */
@inline
function sigmoidVec(z: v128, e: v128): v128 {
  const r = f32x4.div(vec(ONE_V), f32x4.add(vec(ONE_V), e));
  return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(z, f32x4.splat(0)));
}

/** tanh(z) = sign(z) (1 - e) / (1 + e), e = e^-2|z|. */
@inline
function tanhVec(z: v128): v128 {
  const e = expVec(f32x4.mul(v128.or(z, vec(SIGN_V)), vec(TWO_V)));
  return withSignOf(f32x4.div(f32x4.sub(vec(ONE_V), e), f32x4.add(vec(ONE_V), e)), z);
}

/**
 * tanh(softplus(z)) = (u^2 + 2u) / (u^2 + 2u + 2), u = e^z, in e = e^-|z|:
 * (1 + 2e) / (1 + 2e + 2e^2) for z > 0, e (e + 2) / (e (e + 2) + 2) otherwise.
 */
@inline
function tanhSoftplus(z: v128, e: v128): v128 {
  const positive = f32x4.gt(z, f32x4.splat(0));
  const twoE = f32x4.add(e, e);
  const top = v128.bitselect(
    f32x4.add(vec(ONE_V), twoE),
    f32x4.mul(e, f32x4.add(e, vec(TWO_V))),
    positive,
  );
  const rest = v128.bitselect(f32x4.mul(twoE, e), vec(TWO_V), positive);
  return f32x4.div(top, f32x4.add(top, rest));
}

/**
 * The normal CDF 0.5 (1 + erf(z / sqrt 2)) by A&S 7.1.26, given
 * e = e^(-z^2 / 2): q = 0.5 poly(t) e is the tail, 1 - q for z >= 0 and q
 * otherwise (no cancellation on the negative side).
 */
@inline
function normalCdf(z: v128, e: v128): v128 {
  const a = f32x4.mul(v128.andnot(z, vec(SIGN_V)), vec(SQRT1_2_V));
  const t = f32x4.div(vec(ONE_V), f32x4.add(vec(ONE_V), f32x4.mul(vec(ERF_P_V), a)));
  let poly = f32x4.add(f32x4.mul(vec(ERF_A5_V), t), vec(ERF_A4_V));
  poly = f32x4.add(f32x4.mul(poly, t), vec(ERF_A3_V));
  poly = f32x4.add(f32x4.mul(poly, t), vec(ERF_A2_V));
  poly = f32x4.add(f32x4.mul(poly, t), vec(ERF_A1_V));
  const q = f32x4.mul(f32x4.mul(poly, t), f32x4.mul(e, vec(HALF_V)));
  return v128.bitselect(f32x4.sub(vec(ONE_V), q), q, f32x4.ge(z, f32x4.splat(0)));
}

/** e^(-z^2 / 2) (0 where z^2 overflows). */
@inline
function gaussian(z: v128): v128 {
  return expVec(f32x4.mul(f32x4.mul(z, z), vec(MINUS_HALF_V)));
}

/** tanh(sqrt(2 / pi) (z + 0.044715 z^3)). */
@inline
function geluNewTanh(z: v128): v128 {
  const inner = f32x4.add(vec(ONE_V), f32x4.mul(vec(GELU_CUBIC_V), f32x4.mul(z, z)));
  return tanhVec(f32x4.mul(vec(SQRT_2_OVER_PI_V), f32x4.mul(z, inner)));
}

/** act(z) per lane; `kind` a constant where the caller inlines it per activation. */
@inline
export function activateVec(kind: i32, z: v128, alpha: v128): v128 {
  const zero = f32x4.splat(0);
  switch (kind) {
    case RELU:
      return v128.and(z, f32x4.gt(z, zero));
    case RELU6:
      return f32x4.pmin(f32x4.pmax(z, zero), vec(SIX_V));
    case LEAKY_RELU:
      return v128.bitselect(z, f32x4.mul(alpha, z), f32x4.gt(z, zero));
    case ELU:
      return v128.bitselect(z, f32x4.sub(expVec(z), vec(ONE_V)), f32x4.gt(z, zero));
    case SELU: {
      const negative = f32x4.mul(vec(SELU_ALPHA_V), f32x4.sub(expVec(z), vec(ONE_V)));
      return f32x4.mul(vec(SELU_SCALE_V), v128.bitselect(z, negative, f32x4.gt(z, zero)));
    }
    case SIGMOID:
      return sigmoidDirect(z);
    case TANH:
      return tanhVec(z);
    case SWISH:
      return f32x4.mul(z, sigmoidDirect(z));
    case MISH:
      return f32x4.mul(z, tanhSoftplus(z, expNegAbs(z)));
    case GELU:
      return f32x4.mul(z, normalCdf(z, gaussian(z)));
    case GELU_NEW:
      return f32x4.mul(f32x4.mul(vec(HALF_V), z), f32x4.add(vec(ONE_V), geluNewTanh(z)));
    default:
      return z;
  }
}

/** act'(z) per lane, as derivative() above. */
@inline
export function derivativeVec(kind: i32, z: v128, alpha: v128): v128 {
  const zero = f32x4.splat(0);
  const one = vec(ONE_V);
  switch (kind) {
    case RELU:
      return v128.and(one, f32x4.gt(z, zero));
    case RELU6:
      return v128.and(one, v128.and(f32x4.gt(z, zero), f32x4.le(z, vec(SIX_V))));
    case LEAKY_RELU:
      return v128.bitselect(one, alpha, f32x4.gt(z, zero));
    case ELU:
      return v128.bitselect(one, expVec(z), f32x4.gt(z, zero));
    case SELU: {
      const negative = f32x4.mul(vec(SELU_SLOPE_V), expVec(z));
      return v128.bitselect(vec(SELU_SCALE_V), negative, f32x4.gt(z, zero));
    }
    case SIGMOID: {
      const s = sigmoidDirect(z);
      return f32x4.mul(s, f32x4.sub(one, s));
    }
    case TANH: {
      const t = tanhVec(z);
      return f32x4.sub(one, f32x4.mul(t, t));
    }
    case SWISH: {
      const s = sigmoidDirect(z);
      return f32x4.add(s, f32x4.mul(f32x4.mul(z, s), f32x4.sub(one, s)));
    }
    case MISH: {
      const e = expNegAbs(z);
      const t = tanhSoftplus(z, e);
      const slope = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), sigmoidVec(z, e));
      return f32x4.add(t, f32x4.mul(z, slope));
    }
    case GELU: {
      const e = gaussian(z);
      return f32x4.add(normalCdf(z, e), f32x4.mul(z, f32x4.mul(e, vec(INV_SQRT_2PI_V))));
    }
    case GELU_NEW: {
      // Past the limit (1 - t^2) is 0: clamping keeps z^2 from overflowing into 0 * Inf.
      const zc = f32x4.pmin(f32x4.pmax(z, vec(GELU_NEW_FLOOR_V)), vec(GELU_NEW_LIMIT_V));
      const t = geluNewTanh(zc);
      const inner = f32x4.add(one, f32x4.mul(vec(GELU_CUBIC3_V), f32x4.mul(zc, zc)));
      const slope = f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), inner);
      return f32x4.add(
        f32x4.mul(vec(HALF_V), f32x4.add(one, t)),
        f32x4.mul(f32x4.mul(zc, vec(GELU_NEW_HALF_V)), slope),
      );
    }
    default:
      return one;
  }
}
