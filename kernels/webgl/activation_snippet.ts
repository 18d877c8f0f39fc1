/**
 * GLSL of the fused activations: `float activate(float z)` and
 * `float activateGrad(float z)` (the derivative), with vec4 versions
 * `activate4` and `activateGrad4` for packed programs; leakyRelu's slope is
 * the uniform `alpha`. Every exp argument is bounded (at most 0), so large
 * |z| gives no Inf or NaN; erf is Abramowitz-Stegun 7.1.26 (|error| <=
 * 1.5e-7), as GLSL has none.
 */
import {Activation, SELU_ALPHA, SELU_SCALE} from '../../src/kernel_names';

const SQRT_HALF = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
const SQRT_2_OVER_PI = 0.7978845608028654;

/** Helpers shared by the activations (a shader compiles only what it calls). */
const HELPERS = `
  float sigmoidOf(float z) {
    float e = exp(-abs(z));
    return z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  }
  float tanhOf(float z) {
    float e = exp(-2.0 * abs(z));
    return sign(z) * (1.0 - e) / (1.0 + e);
  }
  float softplusOf(float z) { return max(z, 0.0) + log(1.0 + exp(-abs(z))); }
  float erfOf(float v) {
    float t = 1.0 / (1.0 + 0.3275911 * abs(v));
    float poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 +
                 t * (-1.453152027 + t * 1.061405429))));
    return sign(v) * (1.0 - poly * exp(-v * v));
  }
  float geluNewTanh(float z) {
    return tanhOf(${SQRT_2_OVER_PI} * (z + 0.044715 * z * z * z));
  }`;

/** (activation, derivative) bodies over `z`, per activation. */
const BODIES: Record<Activation, [string, string]> = {
  linear: ['return z;', 'return 1.0;'],
  relu: ['return max(z, 0.0);', 'return z > 0.0 ? 1.0 : 0.0;'],
  relu6: ['return clamp(z, 0.0, 6.0);', 'return z > 0.0 && z <= 6.0 ? 1.0 : 0.0;'],
  leakyRelu: ['return z > 0.0 ? z : alpha * z;', 'return z > 0.0 ? 1.0 : alpha;'],
  elu: ['return z > 0.0 ? z : exp(min(z, 0.0)) - 1.0;', 'return z > 0.0 ? 1.0 : exp(min(z, 0.0));'],
  selu: [
    `return ${SELU_SCALE} * (z > 0.0 ? z : ${SELU_ALPHA} * (exp(min(z, 0.0)) - 1.0));`,
    `return ${SELU_SCALE} * (z > 0.0 ? 1.0 : ${SELU_ALPHA} * exp(min(z, 0.0)));`,
  ],
  sigmoid: ['return sigmoidOf(z);', 'float s = sigmoidOf(z); return s * (1.0 - s);'],
  tanh: ['return tanhOf(z);', 'float t = tanhOf(z); return 1.0 - t * t;'],
  swish: ['return z * sigmoidOf(z);', 'float s = sigmoidOf(z); return s + z * s * (1.0 - s);'],
  mish: [
    'return z * tanhOf(softplusOf(z));',
    'float t = tanhOf(softplusOf(z)); return t + z * (1.0 - t * t) * sigmoidOf(z);',
  ],
  gelu: [
    `return 0.5 * z * (1.0 + erfOf(z * ${SQRT_HALF}));`,
    `return 0.5 * (1.0 + erfOf(z * ${SQRT_HALF})) + z * exp(-0.5 * z * z) * ${INV_SQRT_2PI};`,
  ],
  gelu_new: [
    'return 0.5 * z * (1.0 + geluNewTanh(z));',
    `float t = geluNewTanh(z);
     return 0.5 * (1.0 + t) +
            0.5 * z * (1.0 - t * t) * ${SQRT_2_OVER_PI} * (1.0 + 3.0 * 0.044715 * z * z);`,
  ],
};

/** The GLSL functions of `activation`; linear's are the identity and 1. */
export function activationSnippet(activation: Activation): string {
  const [value, derivative] = BODIES[activation];
  return `
    ${activation === 'linear' ? '' : HELPERS}
    float activate(float z) { ${value} }
    float activateGrad(float z) { ${derivative} }
    vec4 activate4(vec4 z) {
      return vec4(activate(z.x), activate(z.y), activate(z.z), activate(z.w));
    }
    vec4 activateGrad4(vec4 z) {
      return vec4(activateGrad(z.x), activateGrad(z.y), activateGrad(z.z), activateGrad(z.w));
    }`;
}
