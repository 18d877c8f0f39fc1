import type {ComputeProgram} from './dispatch';
import {
  ELEMENTWISE_UNIFORMS,
  elementTypes,
  elementwiseKey,
  elementwiseMain,
} from './elementwise_snippet';
import {ELEMENTWISE_WORKGROUP_SIZE, ElementwisePlan, Geometry} from './plan';
import {NORMALIZE_ROWS} from './statistics_program';

/** Forward pass 3: y = (x - pivot) * scale + shift with the (n, c)'s coefficients. */
export function normalizeProgram(geometry: Geometry, plan: ElementwisePlan): ComputeProgram {
  const types = elementTypes(geometry, plan);
  const {scale, shift, pivot, count} = NORMALIZE_ROWS;
  return {
    name: 'InstanceNormNormalize',
    key: elementwiseKey(geometry, plan),
    workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
    dispatch: plan.dispatch,
    outputs: [{name: 'y', type: types.load}],
    inputs: [
      {name: 'x', type: types.load},
      {name: 'coefficients', type: types.coefficient},
    ],
    uniforms: ELEMENTWISE_UNIFORMS,
    code: elementwiseMain(
      geometry,
      plan,
      count,
      `y[i] = (x[i] - coefficient(${pivot})) * coefficient(${scale}) + coefficient(${shift});`,
    ),
  };
}
