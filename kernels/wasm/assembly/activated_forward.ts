// The forward's elementwise pass for an activation other than the linear
// one: y = act(z), z = ((x - mean) - meanLow) * scale + shift, generic in
// the activation's class A (vector_activations.ts). The elements past the
// last whole vector (a row's end, channels past the last quad) take gathered
// vectors.

import {AFFINE_PIXELS} from './affine_pass';
import {channelZ, deviation, gatherDeviation, preActivation, scatter} from './lanes';
import {Float32Row} from './rows';
import {Scratch} from './scratch';
import {walkUnit} from './walk';

/** y = act(z) over channels [c0, c1) of instance n, on the scratch block's operands. */
export function forwardPass<A>(scratch: Scratch, n: i32, c0: i32, c1: i32): void {
  walkUnit(changetype<ActivatedForward<A>>(scratch), n, c0, c1, AFFINE_PIXELS);
}

@final @unmanaged
class ActivatedForward<A> extends Scratch {
  @inline vectors(c: i32, quad: bool, offset: usize, step: usize, count: i32): void {
    const activation = changetype<A>(this.constants);
    const mean = this.term(Float32Row.mean, c, quad);
    const meanLow = this.term(Float32Row.meanLow, c, quad);
    const scale = this.term(Float32Row.scale, c, quad);
    const shift = this.term(Float32Row.shift, c, quad);
    const x = this.x;
    const y = this.target;
    let q = offset;
    for (let i = 0; i < count; i++) {
      const d = deviation(v128.load(x + q), mean, meanLow);
      v128.store(y + q, activation.activate(preActivation(d, scale, shift)));
      q += step;
    }
  }

  @inline rest(c: i32, offset: usize, step: usize, count: i32): void {
    for (let p = 0; p < count; p += 4) {
      forwardTail<A>(this, c, offset + <usize>p * step, step, min(4, count - p));
    }
  }
}

/** y = act(z) of `count` (1-4) elements of channel c `stride` bytes apart from byte `offset`. */
function forwardTail<A>(scratch: Scratch, c: i32, offset: usize, stride: usize, count: i32): void {
  const activation = changetype<A>(scratch.constants);
  const z = channelZ(scratch, c, gatherDeviation(scratch, c, scratch.x + offset, stride, count));
  scatter(scratch.target + offset, stride, count, activation.activate(z));
}
