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
 * The forward's y = act(z) (FORWARD_PASS), or the gradient's pass 1 with
 * dz stored in `target` (SUMS_PASS), over channels [c0, c1) of instance n.
 */
export function activatedPass(
  pass: i32,
  scratch: Scratch,
  target: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
): void {
  const table = scratch.constants;
  const alpha = f32x4.splat(<f32>scratch.alpha);
  switch (scratch.activation) {
    case RELU:
      return runPass(changetype<Relu>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case RELU6:
      return runPass(changetype<Relu6>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case LEAKY_RELU:
      return runPass(changetype<LeakyRelu>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case ELU:
      return runPass(changetype<Elu>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case SELU:
      return runPass(changetype<Selu>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case SIGMOID:
      return runPass(changetype<Sigmoid>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case TANH:
      return runPass(changetype<Tanh>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case SWISH:
      return runPass(changetype<Swish>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case MISH:
      return runPass(changetype<Mish>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case GELU:
      return runPass(changetype<Gelu>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
    case GELU_NEW:
      return runPass(changetype<GeluNew>(table), pass, scratch, target, x, dy, n, c0, c1, alpha);
  }
}

@inline
function runPass<A>(
  activation: A,
  pass: i32,
  scratch: Scratch,
  target: usize,
  x: usize,
  dy: usize,
  n: i32,
  c0: i32,
  c1: i32,
  alpha: v128,
): void {
  if (pass == SUMS_PASS) sumsPass(activation, scratch, target, x, dy, n, c0, c1, alpha);
  else forwardPass(activation, scratch, target, x, n, c0, c1, alpha);
}
