import type {ComputeProgram} from './dispatch';
import type {ElementwisePlan, Geometry} from './plan';
import {elementwiseProgram} from './program_kinds';
import {NORMALIZE_ROWS} from './statistics_program';

/** Forward pass 3: y = (x - pivot) * scale + shift with the (n, c)'s coefficients. */
export function normalizeProgram(geometry: Geometry, plan: ElementwisePlan): ComputeProgram {
  const {scale, shift, pivot, count} = NORMALIZE_ROWS;
  return elementwiseProgram(geometry, plan, {
    name: 'InstanceNormNormalize',
    output: 'y',
    inputs: ['x'],
    rows: count,
    body: `y[i] = (x[i] - coefficient(${pivot})) * coefficient(${scale}) + coefficient(${shift});`,
  });
}
