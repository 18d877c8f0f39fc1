// The fused activations: their codes, their constants and the float64
// derivative, which the gradient takes for a channel whose float32 sums
// overflowed (gradient.ts). Their f32x4 forms are vector_activations.ts.

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

export const SELU_SCALE: f64 = 1.0507009873554805;
export const SELU_ALPHA: f64 = 1.6732632423543772;
export const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
export const INV_SQRT_2PI: f64 = 0.3989422804014327;
export const GELU_CUBIC: f64 = 0.044715;

// erf by Abramowitz-Stegun 7.1.26 (|error| <= 1.5e-7).
export const ERF_P: f64 = 0.3275911;
export const ERF_A1: f64 = 0.254829592;
export const ERF_A2: f64 = -0.284496736;
export const ERF_A3: f64 = 1.421413741;
export const ERF_A4: f64 = -1.453152027;
export const ERF_A5: f64 = 1.061405429;

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
