// The affine elementwise pass in f32x4, per channel: the forward's pass 2
// for the linear activation (operand `other` 0), and the gradient's pass 2,
//
//   y  = (x - mean) * scale + shift
//   dx = (x - mean) * slope + intercept + dz * scale
//
// with the mean as a float32 pair (rows mean + meanLow), so that beta
// survives at any magnitude of x.

import {deviation} from './lanes';
import {Float32Row} from './rows';
import {Scratch} from './scratch';
import {walkUnit} from './walk';

/** Pixels per channelsLast block of the elementwise passes. */
export const AFFINE_PIXELS = 64;

/** The pass over channels [c0, c1) of instance n, on the scratch block's operands. */
export function affinePass(scratch: Scratch, n: i32, c0: i32, c1: i32): void {
  walkUnit(changetype<AffinePass>(scratch), n, c0, c1, AFFINE_PIXELS);
}

@final @unmanaged
class AffinePass extends Scratch {
  /** The factor of x - mean: scale in the forward (no dz), slope in the gradient. */
  @inline get xFactorRow(): i32 {
    return this.other == 0 ? Float32Row.scale : Float32Row.slope;
  }

  /** The constant term: shift in the forward, intercept in the gradient. */
  @inline get constantRow(): i32 {
    return this.other == 0 ? Float32Row.shift : Float32Row.intercept;
  }

  @inline vectors(c: i32, quad: bool, offset: usize, step: usize, count: i32): void {
    const mean = this.term(Float32Row.mean, c, quad);
    const meanLow = this.term(Float32Row.meanLow, c, quad);
    const xFactor = this.term(this.xFactorRow, c, quad);
    const constant = this.term(this.constantRow, c, quad);
    let px = this.x + offset;
    let pt = this.target + offset;
    const dz = this.other;
    if (dz == 0) {
      for (let i = 0; i < count; i++) {
        const d = deviation(v128.load(px), mean, meanLow);
        v128.store(pt, f32x4.add(f32x4.mul(d, xFactor), constant));
        px += step;
        pt += step;
      }
      return;
    }
    const dzFactor = this.term(Float32Row.scale, c, quad);
    let pd = dz + offset;
    for (let i = 0; i < count; i++) {
      const d = deviation(v128.load(px), mean, meanLow);
      const u = f32x4.mul(v128.load(pd), dzFactor);
      v128.store(pt, f32x4.add(f32x4.add(f32x4.mul(d, xFactor), constant), u));
      px += step;
      pt += step;
      pd += step;
    }
  }

  /** In float32 scalars. */
  @inline rest(c: i32, offset: usize, step: usize, count: i32): void {
    const mean = this.getF32(Float32Row.mean, c);
    const meanLow = this.getF32(Float32Row.meanLow, c);
    const xFactor = this.getF32(this.xFactorRow, c);
    const constant = this.getF32(this.constantRow, c);
    const x = this.x;
    const target = this.target;
    const dz = this.other;
    const dzFactor = dz != 0 ? this.getF32(Float32Row.scale, c) : 0;
    let q = offset;
    for (let i = 0; i < count; i++) {
      let value = (load<f32>(x + q) - mean - meanLow) * xFactor + constant;
      if (dz != 0) value += load<f32>(dz + q) * dzFactor;
      store<f32>(target + q, value);
      q += step;
    }
  }
}
