// The gradient's pass 1 for an activation other than the linear one: dz =
// dy * act'(z) stored in dx, and its sums sumDz and sumDzD, generic in the
// activation's class A (vector_activations.ts). The sums are taken in the
// blocks and float64 merges of channel_sums.ts.

import {BLOCK_PIXELS} from './channel_sums';
import {
  channelZ,
  deviation,
  firstLanesSum,
  gather,
  gatherDeviation,
  laneSum,
  preActivation,
  scatter,
} from './lanes';
import {Float32Row, Float64Row} from './rows';
import {Scratch} from './scratch';
import {walkUnit} from './walk';

/** Vectors per lane of a channelsFirst gradient sum before its float64 merge. */
const SUM_VECTORS = 8;

/**
 * dz into the target operand (dy the other) and the rows sumDz and sumDzD
 * over channels [c0, c1) of instance n.
 */
export function sumsPass<A>(scratch: Scratch, n: i32, c0: i32, c1: i32): void {
  if (scratch.channelsLast) {
    scratch.zeroRow(Float64Row.sumDz);
    scratch.zeroRow(Float64Row.sumDzD);
  }
  walkUnit(changetype<ActivatedSums<A>>(scratch), n, c0, c1, BLOCK_PIXELS);
}

@final @unmanaged
class ActivatedSums<A> extends Scratch {
  /**
   * The sums are added to the rows lane by lane (`quad`: a block of pixels),
   * or merged in float64 every SUM_VECTORS vectors and set (a channel's row).
   */
  @inline vectors(c: i32, quad: bool, offset: usize, step: usize, count: i32): void {
    const activation = changetype<A>(this.constants);
    const mean = this.term(Float32Row.mean, c, quad);
    const meanLow = this.term(Float32Row.meanLow, c, quad);
    const scale = this.term(Float32Row.scale, c, quad);
    const shift = this.term(Float32Row.shift, c, quad);
    const x = this.x;
    const dy = this.other;
    const dzOut = this.target;
    const block = quad ? count : SUM_VECTORS;
    let totalDz: f64 = 0;
    let totalDzD: f64 = 0;
    let q = offset;
    let i = 0;
    while (i < count) {
      const blockEnd = min(i + block, count);
      let sumDz = f32x4.splat(0);
      let sumDzD = f32x4.splat(0);
      for (; i < blockEnd; i++) {
        const d = deviation(v128.load(x + q), mean, meanLow);
        const z = preActivation(d, scale, shift);
        const dz = f32x4.mul(v128.load(dy + q), activation.derivative(z));
        v128.store(dzOut + q, dz);
        sumDz = f32x4.add(sumDz, dz);
        sumDzD = f32x4.add(sumDzD, f32x4.mul(dz, d));
        q += step;
      }
      if (quad) {
        this.addLanes(Float64Row.sumDz, c, sumDz);
        this.addLanes(Float64Row.sumDzD, c, sumDzD);
      } else {
        totalDz += laneSum(sumDz);
        totalDzD += laneSum(sumDzD);
      }
    }
    if (!quad) {
      this.setF64(Float64Row.sumDz, c, totalDz);
      this.setF64(Float64Row.sumDzD, c, totalDzD);
    }
  }

  @inline rest(c: i32, offset: usize, step: usize, count: i32): void {
    for (let p = 0; p < count; p += 4) {
      sumsTail<A>(this, c, offset + <usize>p * step, step, min(4, count - p));
    }
  }
}

/** As `vectors` for `count` (1-4) elements of channel c `stride` bytes apart from byte `offset`. */
function sumsTail<A>(scratch: Scratch, c: i32, offset: usize, stride: usize, count: i32): void {
  const activation = changetype<A>(scratch.constants);
  const d = gatherDeviation(scratch, c, scratch.x + offset, stride, count);
  const derivative = activation.derivative(channelZ(scratch, c, d));
  const dz = f32x4.mul(gather(scratch.other + offset, stride, count), derivative);
  scatter(scratch.target + offset, stride, count, dz);
  scratch.addF64(Float64Row.sumDz, c, firstLanesSum(dz, count));
  scratch.addF64(Float64Row.sumDzD, c, firstLanesSum(f32x4.mul(dz, d), count));
}
