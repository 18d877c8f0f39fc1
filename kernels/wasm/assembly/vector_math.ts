// The f32x4 functions the vector activations are made of: exp, sigmoid,
// tanh and the normal CDF, each mirroring its float64 form lane by lane,
// NaN included. The smooth ones go through one vector exp, of arguments that
// cannot overflow where the result is finite (e^-|z| for sigmoid, tanh and
// mish), so large |z| gives the limits exactly.
//
// Their constants are splats in memory, the table at the end of the scratch
// block (scratch.ts), written by every call: a load folds into the
// instruction that uses it, where an immediate v128 constant can be
// rematerialized at each use inside the loop (the smooth activations' rows of
// `npm run bench -- --backends=wasm` show it). A `VectorMath` is a view of
// that table.

import {
  ERF_A1,
  ERF_A2,
  ERF_A3,
  ERF_A4,
  ERF_A5,
  ERF_P,
  GELU_CUBIC,
  INV_SQRT_2PI,
  SELU_ALPHA,
  SELU_SCALE,
  SQRT_2_OVER_PI,
} from './activations';

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
const SIGN_BIT = 0x80000000;

/** The slots of the constant table, 16 bytes each. */
export const enum Slot {
  EXPONENT_BIAS,
  EXP_FLOOR,
  EXP_CEILING,
  LOG2E,
  ROUNDING,
  LN2_HI,
  LN2_LO,
  ONE,
  EXP_C2,
  EXP_C3,
  EXP_C4,
  EXP_C5,
  EXP_C6,
  SIGN,
  TWO,
  SQRT1_2,
  ERF_P,
  ERF_A5,
  ERF_A4,
  ERF_A3,
  ERF_A2,
  ERF_A1,
  HALF,
  MINUS_HALF,
  GELU_CUBIC,
  SQRT_2_OVER_PI,
  SIX,
  SELU_ALPHA,
  SELU_SCALE,
  SELU_SLOPE,
  INV_SQRT_2PI,
  GELU_NEW_FLOOR,
  GELU_NEW_LIMIT,
  GELU_CUBIC3,
  GELU_NEW_HALF,
  /** Leaky relu's slope: the call's alpha. */
  ALPHA,
  count,
}

/** Bytes of the constant table. */
export const CONSTANT_BYTES = Slot.count << 4;

@unmanaged
export class VectorMath {
  /** Writes the constant table at `table`, with leaky relu's slope `alpha`. */
  static store(table: usize, alpha: f32): void {
    const math = changetype<VectorMath>(table);
    math.set(Slot.EXPONENT_BIAS, i32x4.splat(127));
    math.splat(Slot.EXP_FLOOR, -104);
    math.splat(Slot.EXP_CEILING, 89);
    math.splat(Slot.LOG2E, LOG2E);
    math.splat(Slot.ROUNDING, ROUNDING);
    math.splat(Slot.LN2_HI, LN2_HI);
    math.splat(Slot.LN2_LO, LN2_LO);
    math.splat(Slot.ONE, 1);
    math.splat(Slot.EXP_C2, EXP_C2);
    math.splat(Slot.EXP_C3, EXP_C3);
    math.splat(Slot.EXP_C4, EXP_C4);
    math.splat(Slot.EXP_C5, EXP_C5);
    math.splat(Slot.EXP_C6, EXP_C6);
    math.set(Slot.SIGN, i32x4.splat(<i32>SIGN_BIT));
    math.splat(Slot.TWO, 2);
    math.splat(Slot.SQRT1_2, <f32>Math.SQRT1_2);
    math.splat(Slot.ERF_P, <f32>ERF_P);
    math.splat(Slot.ERF_A5, <f32>ERF_A5);
    math.splat(Slot.ERF_A4, <f32>ERF_A4);
    math.splat(Slot.ERF_A3, <f32>ERF_A3);
    math.splat(Slot.ERF_A2, <f32>ERF_A2);
    math.splat(Slot.ERF_A1, <f32>ERF_A1);
    math.splat(Slot.HALF, 0.5);
    math.splat(Slot.MINUS_HALF, -0.5);
    math.splat(Slot.GELU_CUBIC, <f32>GELU_CUBIC);
    math.splat(Slot.SQRT_2_OVER_PI, <f32>SQRT_2_OVER_PI);
    math.splat(Slot.SIX, 6);
    math.splat(Slot.SELU_ALPHA, <f32>SELU_ALPHA);
    math.splat(Slot.SELU_SCALE, <f32>SELU_SCALE);
    math.splat(Slot.SELU_SLOPE, <f32>(SELU_SCALE * SELU_ALPHA));
    math.splat(Slot.INV_SQRT_2PI, <f32>INV_SQRT_2PI);
    math.splat(Slot.GELU_NEW_FLOOR, -GELU_NEW_LIMIT);
    math.splat(Slot.GELU_NEW_LIMIT, GELU_NEW_LIMIT);
    math.splat(Slot.GELU_CUBIC3, <f32>(3 * GELU_CUBIC));
    math.splat(Slot.GELU_NEW_HALF, <f32>(0.5 * SQRT_2_OVER_PI));
    math.splat(Slot.ALPHA, alpha);
  }

  @inline private set(slot: i32, v: v128): void {
    v128.store(changetype<usize>(this) + ((<usize>slot) << 4), v);
  }

  @inline private splat(slot: i32, value: f32): void {
    this.set(slot, f32x4.splat(value));
  }

  /** The constant in `slot`. */
  @inline vec(slot: i32): v128 {
    return v128.load(changetype<usize>(this) + ((<usize>slot) << 4));
  }

  /** 2^n per lane for n in [-126, 127] (i32 lanes). */
  @inline powerOfTwo(n: v128): v128 {
    return i32x4.shl(i32x4.add(n, this.vec(Slot.EXPONENT_BIAS)), 23);
  }

  /**
   * e^x per lane: x = n ln 2 + r, e^r by the polynomial, times 2^n applied as
   * two powers of two (each a normal float32), so that results come out right
   * down through the denormals and up to Inf. x is first clamped to [-104, 89],
   * beyond which e^x is 0 or Inf in float32; NaN passes the clamp (pmin / pmax
   * return their first operand when a comparison is false) and stays NaN. n is
   * rounded by adding ROUNDING, whose low bits then hold it as an integer.
   */
  @inline exp(x: v128): v128 {
    const clamped = f32x4.pmin(f32x4.pmax(x, this.vec(Slot.EXP_FLOOR)), this.vec(Slot.EXP_CEILING));
    const shifted = f32x4.add(f32x4.mul(clamped, this.vec(Slot.LOG2E)), this.vec(Slot.ROUNDING));
    const n = f32x4.sub(shifted, this.vec(Slot.ROUNDING));
    const r = f32x4.sub(
      f32x4.sub(clamped, f32x4.mul(n, this.vec(Slot.LN2_HI))),
      f32x4.mul(n, this.vec(Slot.LN2_LO)),
    );
    // Estrin's scheme: (1 + r) + r^2 (c2 + c3 r) + r^4 ((c4 + c5 r) + c6 r^2),
    // a shorter dependency chain than Horner's (the loops are latency-bound).
    const r2 = f32x4.mul(r, r);
    const low = f32x4.add(this.vec(Slot.ONE), r);
    const middle = f32x4.add(this.vec(Slot.EXP_C2), f32x4.mul(this.vec(Slot.EXP_C3), r));
    const high = f32x4.add(
      f32x4.add(this.vec(Slot.EXP_C4), f32x4.mul(this.vec(Slot.EXP_C5), r)),
      f32x4.mul(this.vec(Slot.EXP_C6), r2),
    );
    const p = f32x4.add(
      f32x4.add(low, f32x4.mul(r2, middle)),
      f32x4.mul(f32x4.mul(r2, r2), high),
    );
    const whole = i32x4.sub(shifted, this.vec(Slot.ROUNDING));
    const half = i32x4.shr_s(whole, 1);
    return f32x4.mul(
      f32x4.mul(p, this.powerOfTwo(half)),
      this.powerOfTwo(i32x4.sub(whole, half)),
    );
  }

  /** e^-|z|. */
  @inline expNegAbs(z: v128): v128 {
    return this.exp(v128.or(z, this.vec(Slot.SIGN)));
  }

  /** The sign of z on t >= 0. */
  @inline withSignOf(t: v128, z: v128): v128 {
    return v128.or(t, v128.and(z, this.vec(Slot.SIGN)));
  }

  /** Sigmoid 1 / (1 + e^-z): e^-z overflows to Inf (sigmoid 0) for z below -88.7. */
  @inline sigmoidDirect(z: v128): v128 {
    return f32x4.div(this.vec(Slot.ONE), f32x4.add(this.vec(Slot.ONE), this.exp(f32x4.neg(z))));
  }

  /** Sigmoid from e = e^-|z|: 1 / (1 + e) for z >= 0, e / (1 + e) otherwise. */
  @inline sigmoid(z: v128, e: v128): v128 {
    const r = f32x4.div(this.vec(Slot.ONE), f32x4.add(this.vec(Slot.ONE), e));
    return v128.bitselect(r, f32x4.mul(e, r), f32x4.ge(z, f32x4.splat(0)));
  }

  /** tanh(z) = sign(z) (1 - e) / (1 + e), e = e^-2|z|. */
  @inline tanh(z: v128): v128 {
    const e = this.exp(f32x4.mul(v128.or(z, this.vec(Slot.SIGN)), this.vec(Slot.TWO)));
    const ratio = f32x4.div(f32x4.sub(this.vec(Slot.ONE), e), f32x4.add(this.vec(Slot.ONE), e));
    return this.withSignOf(ratio, z);
  }

  /**
   * tanh(softplus(z)) = (u^2 + 2u) / (u^2 + 2u + 2), u = e^z, in e = e^-|z|:
   * (1 + 2e) / (1 + 2e + 2e^2) for z > 0, e (e + 2) / (e (e + 2) + 2) otherwise.
   */
  @inline tanhSoftplus(z: v128, e: v128): v128 {
    const positive = f32x4.gt(z, f32x4.splat(0));
    const twoE = f32x4.add(e, e);
    const top = v128.bitselect(
      f32x4.add(this.vec(Slot.ONE), twoE),
      f32x4.mul(e, f32x4.add(e, this.vec(Slot.TWO))),
      positive,
    );
    const rest = v128.bitselect(f32x4.mul(twoE, e), this.vec(Slot.TWO), positive);
    return f32x4.div(top, f32x4.add(top, rest));
  }

  /**
   * The normal CDF 0.5 (1 + erf(z / sqrt 2)) by A&S 7.1.26, given
   * e = e^(-z^2 / 2): q = 0.5 poly(t) e is the tail, 1 - q for z >= 0 and q
   * otherwise (no cancellation on the negative side).
   */
  @inline normalCdf(z: v128, e: v128): v128 {
    const a = f32x4.mul(v128.andnot(z, this.vec(Slot.SIGN)), this.vec(Slot.SQRT1_2));
    const t = f32x4.div(
      this.vec(Slot.ONE),
      f32x4.add(this.vec(Slot.ONE), f32x4.mul(this.vec(Slot.ERF_P), a)),
    );
    let poly = f32x4.add(f32x4.mul(this.vec(Slot.ERF_A5), t), this.vec(Slot.ERF_A4));
    poly = f32x4.add(f32x4.mul(poly, t), this.vec(Slot.ERF_A3));
    poly = f32x4.add(f32x4.mul(poly, t), this.vec(Slot.ERF_A2));
    poly = f32x4.add(f32x4.mul(poly, t), this.vec(Slot.ERF_A1));
    const q = f32x4.mul(f32x4.mul(poly, t), f32x4.mul(e, this.vec(Slot.HALF)));
    return v128.bitselect(f32x4.sub(this.vec(Slot.ONE), q), q, f32x4.ge(z, f32x4.splat(0)));
  }

  /** e^(-z^2 / 2) (0 where z^2 overflows). */
  @inline gaussian(z: v128): v128 {
    return this.exp(f32x4.mul(f32x4.mul(z, z), this.vec(Slot.MINUS_HALF)));
  }

  /** tanh(sqrt(2 / pi) (z + 0.044715 z^3)). */
  @inline geluNewTanh(z: v128): v128 {
    const cubic = f32x4.mul(this.vec(Slot.GELU_CUBIC), f32x4.mul(z, z));
    const inner = f32x4.add(this.vec(Slot.ONE), cubic);
    return this.tanh(f32x4.mul(this.vec(Slot.SQRT_2_OVER_PI), f32x4.mul(z, inner)));
  }
}
