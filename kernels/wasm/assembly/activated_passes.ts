// The elementwise passes of an activation other than the linear one, in
// f32x4, z = ((x - mean) - meanLow) * scale + shift: the forward's
// y = act(z), and the gradient's pass 1, which sums dz = dy * act'(z) and
// dz * d (d = (x - mean) - meanLow) in the blocks and float64 merges of
// channel_sums.ts and stores dz in dx, where pass 2 (affine_pass.ts, as for
// the linear activation) reads it back: act' is evaluated once per element.
// Each pass is generic in the activation's class (vector_activations.ts):
// its loops are compiled once per activation, small functions without a
// branch on it that the engine keeps in registers.

import {
  ELU,
  GELU,
  GELU_NEW,
  LEAKY_RELU,
  MISH,
  RELU,
  RELU6,
  SELU,
  SIGMOID,
  SWISH,
  TANH,
} from './activations';
import {forwardPass} from './activated_forward';
import {sumsPass} from './activated_sums';
import {Scratch} from './scratch';
import {
  Elu,
  Gelu,
  GeluNew,
  LeakyRelu,
  Mish,
  Relu,
  Relu6,
  Selu,
  Sigmoid,
  Swish,
  Tanh,
} from './vector_activations';

export const FORWARD_PASS = 0;
export const SUMS_PASS = 1;

/**
 * The forward's y = act(z) (FORWARD_PASS), or the gradient's pass 1 with dz
 * stored in the target operand (SUMS_PASS), over channels [c0, c1) of
 * instance n, on the scratch block's operands.
 */
export function activatedPass(pass: i32, scratch: Scratch, n: i32, c0: i32, c1: i32): void {
  switch (scratch.activation) {
    case RELU:
      return runPass<Relu>(pass, scratch, n, c0, c1);
    case RELU6:
      return runPass<Relu6>(pass, scratch, n, c0, c1);
    case LEAKY_RELU:
      return runPass<LeakyRelu>(pass, scratch, n, c0, c1);
    case ELU:
      return runPass<Elu>(pass, scratch, n, c0, c1);
    case SELU:
      return runPass<Selu>(pass, scratch, n, c0, c1);
    case SIGMOID:
      return runPass<Sigmoid>(pass, scratch, n, c0, c1);
    case TANH:
      return runPass<Tanh>(pass, scratch, n, c0, c1);
    case SWISH:
      return runPass<Swish>(pass, scratch, n, c0, c1);
    case MISH:
      return runPass<Mish>(pass, scratch, n, c0, c1);
    case GELU:
      return runPass<Gelu>(pass, scratch, n, c0, c1);
    case GELU_NEW:
      return runPass<GeluNew>(pass, scratch, n, c0, c1);
  }
}

@inline
function runPass<A>(pass: i32, scratch: Scratch, n: i32, c0: i32, c1: i32): void {
  if (pass == SUMS_PASS) sumsPass<A>(scratch, n, c0, c1);
  else forwardPass<A>(scratch, n, c0, c1);
}
