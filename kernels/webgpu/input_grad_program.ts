import type {ComputeProgram} from './dispatch';
import {
  ELEMENTWISE_UNIFORMS,
  elementTypes,
  elementwiseKey,
  elementwiseMain,
} from './elementwise_snippet';
import {INPUT_GRAD_ROWS} from './param_grad_program';
import {ELEMENTWISE_WORKGROUP_SIZE, ElementwisePlan, Geometry} from './plan';

/** Gradient pass 3: dx = dyScale * dy - slope * (x - center) + offset per (n, c). */
export function inputGradProgram(geometry: Geometry, plan: ElementwisePlan): ComputeProgram {
  const types = elementTypes(geometry, plan);
  const {dyScale, slope, offset, center, count} = INPUT_GRAD_ROWS;
  return {
    name: 'InstanceNormInputGrad',
    key: elementwiseKey(geometry, plan),
    workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
    dispatch: plan.dispatch,
    outputs: [{name: 'dx', type: types.load}],
    inputs: [
      {name: 'dy', type: types.load},
      {name: 'x', type: types.load},
      {name: 'coefficients', type: types.coefficient},
    ],
    uniforms: ELEMENTWISE_UNIFORMS,
    code: elementwiseMain(
      geometry,
      plan,
      count,
      `dx[i] = coefficient(${dyScale}) * dy[i] - coefficient(${slope}) * (x[i] - coefficient(${center})) +
            coefficient(${offset});`,
    ),
  };
}
