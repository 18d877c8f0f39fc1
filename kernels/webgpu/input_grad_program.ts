import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import {KernelAttributes, needsPreActivation} from '../common/attributes';
import type {ComputeProgram} from './dispatch';
import {INPUT_GRAD_ROWS} from './param_grad_program';
import type {ElementwisePlan} from './plan';
import {ELEMENTWISE_UNIFORMS, elementwiseProgram} from './program_kinds';
import {fields} from './uniforms';

export const INPUT_GRAD_UNIFORMS = [
  ...ELEMENTWISE_UNIFORMS,
  ...fields('i32', 'groupSize'),
  ...fields('f32', 'alpha'),
];

/**
 * Gradient pass 3: dx from dy, x and the (n, c)'s coefficients
 * (INPUT_GRAD_ROWS), with dz = dy * act'(xhat * gamma + beta).
 */
export function inputGradProgram(
  geometry: NormGeometry,
  plan: ElementwisePlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const rows = INPUT_GRAD_ROWS;
  const load = plan.vector === 4 ? 'vec4<f32>' : 'f32';
  const activated = needsPreActivation(attributes);
  return elementwiseProgram(geometry, plan, {
    name: 'InstanceNormInputGrad',
    output: 'dx',
    inputs: ['dy', 'x'],
    rows: rows.count,
    snippets: activated ? [activationSnippet(attributes.activation, load, true)] : [],
    body: coefficient => {
      const dz = activated
        ? `dy[i] * activationSlope(xhat * ${coefficient(rows.gamma)} + ${coefficient(rows.beta)})`
        : 'dy[i]';
      return `let groupInvStd = ${coefficient(rows.invStd)};
        let xhat = (x[i] - ${coefficient(rows.mean)}) * groupInvStd;
        let dxValue = groupInvStd * (${coefficient(rows.gamma)} * ${dz} - ${coefficient(rows.meanU)}) -
            ${coefficient(rows.xhatFactor)} * (xhat - ${coefficient(rows.xhatShift)});
        // A one-element group: exactly 0 (fused multiply-adds leave a rounding).
        dx[i] = select(dxValue, ${load}(0.0), uniforms.groupSize == 1);`;
    },
    uniforms: INPUT_GRAD_UNIFORMS,
  });
}
