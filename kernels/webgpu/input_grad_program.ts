import type {ComputeProgram} from './dispatch';
import {INPUT_GRAD_ROWS} from './param_grad_program';
import type {ElementwisePlan, Geometry} from './plan';
import {elementwiseProgram} from './program_kinds';

/** Gradient pass 3: dx from dy, x and the (n, c)'s coefficients (INPUT_GRAD_ROWS). */
export function inputGradProgram(geometry: Geometry, plan: ElementwisePlan): ComputeProgram {
  const {dyScale, perXhat, invStd, center, offset, count} = INPUT_GRAD_ROWS;
  return elementwiseProgram(geometry, plan, {
    name: 'InstanceNormInputGrad',
    output: 'dx',
    inputs: ['dy', 'x'],
    rows: count,
    body: `dx[i] = coefficient(${dyScale}) * dy[i] -
        coefficient(${perXhat}) * ((x[i] - coefficient(${center})) * coefficient(${invStd})) +
        coefficient(${offset});`,
  });
}
