/**
 * The fused activations of the float64 loops, as functions of z (see
 * `Activation` in src/kernel_names.ts for the formulas): act for the forward,
 * act' for the gradient. Every exp takes a non-positive argument, so nothing
 * overflows at large |z|.
 */
import {Activation, LEAKY_RELU_ALPHA, SELU_ALPHA, SELU_SCALE} from '../../src/kernel_names';

export type ScalarFunction = (z: number) => number;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_CUBIC = 0.044715;

/** 1 / (1 + exp(-z)) through exp(-|z|). */
function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** log(1 + exp(z)) as max(z, 0) + log1p(exp(-|z|)). */
function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function geluNewTanh(z: number): number {
  return Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z));
}

/**
 * erf in float64, to about 1e-14: the Maclaurin series below |x| = 2.5,
 * beyond it 1 - erfc(x) with erfc from its continued fraction
 * (Abramowitz-Stegun 7.1.14) evaluated bottom-up.
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (!(a < 2.5)) {
    if (Number.isNaN(a)) return NaN;
    if (a > 6) return Math.sign(x);
    let fraction = a;
    for (let k = 80; k >= 1; k--) fraction = a + k / 2 / fraction;
    const erfc = Math.exp(-a * a) / (Math.sqrt(Math.PI) * fraction);
    return Math.sign(x) * (1 - erfc);
  }
  // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n + 1)).
  const square = x * x;
  let power = x;
  let sum = x;
  for (let n = 1; n < 60; n++) {
    power *= -square / n;
    const term = power / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** act(z); null for 'linear' (the loops then skip it). */
export function activationFunction(
  activation: Activation | undefined,
  alpha = LEAKY_RELU_ALPHA,
): ScalarFunction | null {
  switch (activation ?? 'linear') {
    case 'linear':
      return null;
    case 'relu':
      return z => (z > 0 ? z : 0);
    case 'relu6':
      // Math.min/max keep NaN, as tf.relu6 and the GPU kernels do.
      return z => Math.min(Math.max(z, 0), 6);
    case 'leakyRelu':
      return z => (z > 0 ? z : alpha * z);
    case 'elu':
      return z => (z > 0 ? z : Math.expm1(z));
    case 'selu':
      return z => SELU_SCALE * (z > 0 ? z : SELU_ALPHA * Math.expm1(z));
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return Math.tanh;
    case 'swish':
      return z => z * sigmoid(z);
    case 'mish':
      return z => z * Math.tanh(softplus(z));
    case 'gelu':
      return z => 0.5 * z * (1 + erf(z * Math.SQRT1_2));
    case 'gelu_new':
      return z => 0.5 * z * (1 + geluNewTanh(z));
  }
}

/** act'(z); null for 'linear'. */
export function activationDerivative(
  activation: Activation | undefined,
  alpha = LEAKY_RELU_ALPHA,
): ScalarFunction | null {
  switch (activation ?? 'linear') {
    case 'linear':
      return null;
    case 'relu':
      return z => (z > 0 ? 1 : 0);
    case 'relu6':
      return z => (z > 0 && z <= 6 ? 1 : 0);
    case 'leakyRelu':
      return z => (z > 0 ? 1 : alpha);
    case 'elu':
      return z => (z > 0 ? 1 : Math.exp(z));
    case 'selu':
      return z => SELU_SCALE * (z > 0 ? 1 : SELU_ALPHA * Math.exp(z));
    case 'sigmoid':
      return z => {
        const s = sigmoid(z);
        return s * (1 - s);
      };
    case 'tanh':
      return z => {
        const t = Math.tanh(z);
        return 1 - t * t;
      };
    case 'swish':
      return z => {
        const s = sigmoid(z);
        return s * (1 + z * (1 - s));
      };
    case 'mish':
      return z => {
        const t = Math.tanh(softplus(z));
        return t + z * (1 - t * t) * sigmoid(z);
      };
    case 'gelu':
      return z => 0.5 * (1 + erf(z * Math.SQRT1_2)) + z * Math.exp(-0.5 * z * z) * INV_SQRT_2PI;
    case 'gelu_new':
      return z => {
        const t = geluNewTanh(z);
        const inner = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * z * z);
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * inner;
      };
  }
}
