import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';

export type Uniform = NonNullable<GPGPUProgram['customUniforms']>[number];

/**
 * The uniforms of the forward merges, declared once: a program sets
 * `customUniforms` to this list (tfjs generates the GLSL declarations from
 * it) and the kernel passes `uniformValues(list, attrs)`, in the same order.
 * Epsilon is a uniform, not a literal, so that each value does not compile a
 * program of its own.
 */
export const MERGE_UNIFORMS: Uniform[] = [{name: 'epsilon', type: 'float'}];

export function uniformValues(list: Uniform[], values: Record<string, number>): number[][] {
  return list.map(({name}) => [values[name]]);
}
