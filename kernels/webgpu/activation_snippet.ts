/**
 * WGSL of the activation applied to z = xhat * gamma + beta, and of its
 * derivative: `fn activate(z : T) -> T` and `fn activationSlope(z : T) -> T`
 * for T = f32 or vec4<f32> (componentwise). The activation is baked into the
 * text (and so into the pipeline key); leakyRelu's slope is the uniform
 * `alpha`. Every exp argument is bounded, so no large |z| turns Inf or NaN.
 */
import {Activation, SELU_ALPHA, SELU_SCALE} from '../../src/kernel_names';

/** The body of `activate`, then of `activationSlope`, as expressions of z. */
function formulas(activation: Activation, type: string): [string, string] {
  const zero = `${type}(0.0)`;
  const one = `${type}(1.0)`;
  const positive = `z > ${zero}`;
  switch (activation) {
    case 'linear':
      return ['return z;', `return ${one};`];
    case 'relu':
      return [`return max(z, ${zero});`, `return select(${zero}, ${one}, ${positive});`];
    case 'relu6':
      return [
        `return clamp(z, ${zero}, ${type}(6.0));`,
        `return select(${zero}, ${one}, (${positive}) & (z <= ${type}(6.0)));`,
      ];
    case 'leakyRelu':
      return [
        `return select(uniforms.alpha * z, z, ${positive});`,
        `return select(${type}(uniforms.alpha), ${one}, ${positive});`,
      ];
    case 'elu':
      return [
        `return select(exp(min(z, ${zero})) - ${one}, z, ${positive});`,
        `return select(exp(min(z, ${zero})), ${one}, ${positive});`,
      ];
    case 'selu':
      return [
        `return SELU_SCALE * select(SELU_ALPHA * (exp(min(z, ${zero})) - ${one}), z, ${positive});`,
        `return SELU_SCALE * select(SELU_ALPHA * exp(min(z, ${zero})), ${one}, ${positive});`,
      ];
    case 'sigmoid':
      return ['return sigmoid(z);', 'let s = sigmoid(z);\n      return s * (1.0 - s);'];
    case 'tanh':
      return ['return tanhBounded(z);', 'let t = tanhBounded(z);\n      return 1.0 - t * t;'];
    case 'swish':
      return ['return z * sigmoid(z);', 'let s = sigmoid(z);\n      return s + z * s * (1.0 - s);'];
    case 'mish':
      return [
        'return z * tanhBounded(softplus(z));',
        `let t = tanhBounded(softplus(z));
      return t + z * (1.0 - t * t) * sigmoid(z);`,
      ];
    case 'gelu':
      return [
        'return 0.5 * z * (1.0 + erf(z * FRAC_1_SQRT_2));',
        `return 0.5 * (1.0 + erf(z * FRAC_1_SQRT_2)) +
          z * exp(-0.5 * min(z * z, ${type}(160.0))) * FRAC_1_SQRT_2PI;`,
      ];
    case 'gelu_new':
      return [
        'return 0.5 * z * (1.0 + tanhBounded(geluInner(z)));',
        `let t = tanhBounded(geluInner(z));
      return 0.5 * (1.0 + t) +
          0.5 * z * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * z * z);`,
      ];
  }
}

/** Helpers the formulas call, each for `type`. */
function helpers(type: string): string {
  const zero = `${type}(0.0)`;
  return `
    const SELU_SCALE = ${SELU_SCALE};
    const SELU_ALPHA = ${SELU_ALPHA};
    const FRAC_1_SQRT_2 = 0.7071067811865476;
    const FRAC_1_SQRT_2PI = 0.3989422804014327;
    const SQRT_2_OVER_PI = 0.7978845608028654;
    const GELU_CUBIC = 0.044715;

    fn sigmoid(z : ${type}) -> ${type} {
      let e = exp(-abs(z));
      return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= ${zero});
    }

    fn tanhBounded(z : ${type}) -> ${type} {
      let e = exp(-2.0 * abs(z));
      return sign(z) * (1.0 - e) / (1.0 + e);
    }

    fn softplus(z : ${type}) -> ${type} {
      return max(z, ${zero}) + log(1.0 + exp(-abs(z)));
    }

    // Abramowitz-Stegun 7.1.26, |error| <= 1.5e-7.
    fn erf(v : ${type}) -> ${type} {
      let a = abs(v);
      let t = 1.0 / (1.0 + 0.3275911 * a);
      let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
          t * (-1.453152027 + t * 1.061405429))));
      return sign(v) * (1.0 - poly * exp(-min(a * a, ${type}(160.0))));
    }

    fn geluInner(z : ${type}) -> ${type} {
      return SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z);
    }
  `;
}

/**
 * `fn activate(z : type) -> type` and, with `slope`, `fn activationSlope`
 * (the derivative); both for a linear activation too, so programs call
 * them unconditionally.
 */
export function activationSnippet(activation: Activation, type: string, slope: boolean): string {
  const [value, derivative] = formulas(activation, type);
  const slopeFunction = slope
    ? `fn activationSlope(z : ${type}) -> ${type} {
      ${derivative}
    }`
    : '';
  return `
    ${activation === 'linear' ? '' : helpers(type)}
    fn activate(z : ${type}) -> ${type} {
      ${value}
    }
    ${slopeFunction}
  `;
}
