import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

import {LEAKY_RELU_ALPHA, NormAttrs} from '../../src/kernel_names';

export type Uniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/**
 * The uniforms of every program that reads epsilon or leakyRelu's alpha,
 * declared once: a program sets `customUniforms` to this list (tfjs
 * generates the GLSL declarations from it) and the kernel passes
 * `uniformValues(attrs)`, in the same order. Uniforms, not literals, so that
 * each value does not compile a program of its own.
 */
export const NORM_UNIFORMS: Uniform[] = [
  {name: 'epsilon', type: 'float'},
  {name: 'alpha', type: 'float'},
];

export function uniformValues(attrs: NormAttrs): number[][] {
  return [[attrs.epsilon], [attrs.alpha ?? LEAKY_RELU_ALPHA]];
}
