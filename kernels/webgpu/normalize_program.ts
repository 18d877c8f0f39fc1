import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import type {KernelAttributes} from '../common/attributes';
import type {ComputeProgram} from './dispatch';
import type {ElementwisePlan} from './plan';
import {ELEMENTWISE_UNIFORMS, elementwiseProgram} from './program_kinds';
import {NORMALIZE_ROWS} from './statistics_program';
import {fields} from './uniforms';

export const NORMALIZE_UNIFORMS = [...ELEMENTWISE_UNIFORMS, ...fields('f32', 'alpha')];

/** Forward pass 3: y = act((x - pivot) * scale + shift) with the (n, c)'s coefficients. */
export function normalizeProgram(
  geometry: NormGeometry,
  plan: ElementwisePlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const {scale, shift, pivot, count} = NORMALIZE_ROWS;
  const load = plan.vector === 4 ? 'vec4<f32>' : 'f32';
  return elementwiseProgram(geometry, plan, {
    name: 'InstanceNormNormalize',
    output: 'y',
    inputs: ['x'],
    rows: count,
    snippets: [activationSnippet(attributes.activation, load, false)],
    body: coefficient =>
      `y[i] = activate((x[i] - ${coefficient(pivot)}) * ${coefficient(scale)} + ${coefficient(shift)});`,
    uniforms: NORMALIZE_UNIFORMS,
  });
}
