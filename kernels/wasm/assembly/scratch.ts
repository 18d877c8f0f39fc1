// The scratch block of one call, which the caller allocates (scratchBytes)
// and describes (setup) before it calls forward or gradient: a header with
// the call's geometry, parameters and attributes, then the rows of rows.ts
// (C entries each; float64, then float32), then the vector constants of the
// activations (vector_math.ts). A `Scratch` is a view of that block; every
// function of the module gets it, and the module keeps no state of its own.

import {Float32Row, Float64Row} from './rows';
import {CONSTANT_BYTES, VectorMath} from './vector_math';

/** Bytes of the header, a multiple of 16. */
const HEADER_BYTES: usize = (offsetof<Scratch>() + 15) & ~15;

/** Bytes of scratch a call on `channelCount` channels needs. */
export function scratchBytes(channelCount: i32): i32 {
  const rowBytes = Float64Row.count * 8 + Float32Row.count * 4;
  return <i32>HEADER_BYTES + channelCount * rowBytes + CONSTANT_BYTES;
}

/**
 * Writes the call into the header of the scratch block at `scratch` and the
 * vector constants after its rows. x is seen as [N, S, C] (`channelsLast`)
 * or [N, C, S]; gamma and beta are pointers (0 when absent), `*PerInstance`
 * for `[N, C]` ones; `stddevMode` puts epsilon outside the square root;
 * `activation` is a code of activations.ts and `alpha` leaky relu's slope.
 */
export function setup(
  scratch: usize,
  batch: i32,
  spatial: i32,
  channels: i32,
  groups: i32,
  channelsLast: i32,
  gamma: usize,
  gammaPerInstance: i32,
  beta: usize,
  betaPerInstance: i32,
  epsilon: f64,
  stddevMode: i32,
  activation: i32,
  alpha: f64,
): void {
  const call = changetype<Scratch>(scratch);
  call.batch = batch;
  call.spatial = spatial;
  call.channels = channels;
  call.groups = groups;
  call.channelsLast = channelsLast != 0;
  call.gamma = gamma;
  call.gammaPerInstance = gammaPerInstance != 0;
  call.beta = beta;
  call.betaPerInstance = betaPerInstance != 0;
  call.epsilon = epsilon;
  call.stddevMode = stddevMode != 0;
  call.activation = activation;
  call.alpha = alpha;
  VectorMath.store(call.constants, <f32>alpha);
}

/** A view of the scratch block; the elementwise passes view it as their own subclasses. */
@unmanaged
export class Scratch {
  batch: i32;
  spatial: i32;
  channels: i32;
  groups: i32;
  gamma: usize;
  beta: usize;
  gammaPerInstance: bool;
  betaPerInstance: bool;
  channelsLast: bool;
  stddevMode: bool;
  activation: i32;
  epsilon: f64;
  alpha: f64;
  /**
   * The operands of the elementwise pass to run: its output, x, and dy
   * (the gradient's pass 1) or dz (its pass 2); 0 in the forward.
   */
  target: usize;
  x: usize;
  other: usize;

  @inline setOperands(target: usize, x: usize, other: usize): void {
    this.target = target;
    this.x = x;
    this.other = other;
  }

  /** Groups per unit of work: an instance (channelsLast) or an (instance, group). */
  @inline get unitGroups(): i32 {
    return this.channelsLast ? this.groups : 1;
  }

  /** Byte offset of element (n, s, c) of x. */
  @inline offset(n: i32, s: i32, c: i32): usize {
    const spatial = this.spatial;
    const channels = this.channels;
    const index = this.channelsLast ? (n * spatial + s) * channels + c : (n * channels + c) * spatial + s;
    return (<usize>index) << 2;
  }

  /** gamma at (n, c), 1 when absent. */
  @inline gammaAt(n: i32, c: i32): f64 {
    return this.parameterAt(this.gamma, this.gammaPerInstance, n, c, 1);
  }

  /** beta at (n, c), 0 when absent. */
  @inline betaAt(n: i32, c: i32): f64 {
    return this.parameterAt(this.beta, this.betaPerInstance, n, c, 0);
  }

  @inline private parameterAt(pointer: usize, perInstance: bool, n: i32, c: i32, fill: f64): f64 {
    if (pointer == 0) return fill;
    const i = perInstance ? n * this.channels + c : c;
    return <f64>load<f32>(pointer + ((<usize>i) << 2));
  }

  @inline float64Row(row: i32): usize {
    return changetype<usize>(this) + HEADER_BYTES + <usize>(row * this.channels * 8);
  }

  @inline float32Row(row: i32): usize {
    const before = Float64Row.count * 8 + row * 4;
    return changetype<usize>(this) + HEADER_BYTES + <usize>(before * this.channels);
  }

  /** The vector constants, after the rows. */
  @inline get constants(): usize {
    return this.float32Row(Float32Row.count);
  }

  @inline getF64(row: i32, c: i32): f64 {
    return load<f64>(this.float64Row(row) + ((<usize>c) << 3));
  }

  @inline setF64(row: i32, c: i32, value: f64): void {
    store<f64>(this.float64Row(row) + ((<usize>c) << 3), value);
  }

  @inline addF64(row: i32, c: i32, value: f64): void {
    this.setF64(row, c, this.getF64(row, c) + value);
  }

  /** Adds the lanes of v to the float64 row at c..c + 3. */
  @inline addLanes(row: i32, c: i32, v: v128): void {
    const p = this.float64Row(row) + ((<usize>c) << 3);
    const high = v128.shuffle<f32>(v, v, 2, 3, 2, 3);
    v128.store(p, f64x2.add(v128.load(p), f64x2.promote_low_f32x4(v)));
    v128.store(p, f64x2.add(v128.load(p, 16), f64x2.promote_low_f32x4(high)), 16);
  }

  /** Sets the float64 row to 0 for every channel. */
  zeroRow(row: i32): void {
    for (let c = 0; c < this.channels; c++) this.setF64(row, c, 0);
  }

  /** Writes the float64 row as float32 to `out`, one entry per channel. */
  storeRow(row: i32, out: usize): void {
    for (let c = 0; c < this.channels; c++) {
      store<f32>(out + ((<usize>c) << 2), <f32>this.getF64(row, c));
    }
  }

  @inline getF32(row: i32, c: i32): f32 {
    return load<f32>(this.float32Row(row) + ((<usize>c) << 2));
  }

  @inline setF32(row: i32, c: i32, value: f32): void {
    store<f32>(this.float32Row(row) + ((<usize>c) << 2), value);
  }

  /** The float32 term of channels c..c + 3 (`quad`), or of channel c in every lane. */
  @inline term(row: i32, c: i32, quad: bool): v128 {
    if (quad) return v128.load(this.float32Row(row) + ((<usize>c) << 2));
    return f32x4.splat(this.getF32(row, c));
  }

  /**
   * The terms of channel (n, c) that the elementwise passes take, for its
   * group's mean and invStd: z = (x - mean) * scale + shift, shift = beta.
   */
  @inline setTerms(n: i32, c: i32, mean: f64, invStd: f64): void {
    const scale = invStd * this.gammaAt(n, c);
    const shift = this.betaAt(n, c);
    this.setF64(Float64Row.scale, c, scale);
    this.setF64(Float64Row.mean, c, mean);
    this.setF64(Float64Row.shift, c, shift);
    this.setF32(Float32Row.scale, c, <f32>scale);
    this.setF32(Float32Row.shift, c, <f32>shift);
    // The mean as a float32 pair, mean + meanLow.
    const high = <f32>mean;
    this.setF32(Float32Row.mean, c, high);
    this.setF32(Float32Row.meanLow, c, <f32>(mean - <f64>high));
  }
}
