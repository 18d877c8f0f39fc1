/**
 * WGSL of the elementwise passes: a grid-stride loop over the loads of x
 * and, for each, where its (n, c)'s coefficients `[N, rows, C]` are.
 */
import type {NormGeometry} from '../../src/geometry';
import {ELEMENTWISE_WORKGROUP_SIZE, ElementwisePlan} from './plan';

/** The WGSL of coefficient row `row` for the current load's (n, c). */
export type CoefficientOf = (row: number) => string;

/**
 * `compute` running `body(coefficient)` for every load `i` of x, where
 * `coefficient(row)` reads row `row` of that load's (n, c).
 */
export function elementwiseMain(
  geometry: NormGeometry,
  plan: ElementwisePlan,
  rows: number,
  body: (coefficient: CoefficientOf) => string,
): string {
  const placement =
    geometry.dataFormat === 'channelsLast'
      ? `let lineLoads = uniforms.channels / VECTOR;
        let n = i / (uniforms.spatial * lineLoads);
        let base = n * ROWS * lineLoads + i % lineLoads;
        let rowStride = lineLoads;`
      : `let row = i / (uniforms.spatial / VECTOR);
        let base = (row / uniforms.channels) * ROWS * uniforms.channels + row % uniforms.channels;
        let rowStride = uniforms.channels;`;
  const perLoad = body(row => `coefficients[base + ${row} * rowStride]`);
  return `
    const VECTOR = ${plan.vector};
    const ROWS = ${rows};
    const WORKGROUP_SIZE = ${ELEMENTWISE_WORKGROUP_SIZE};

    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      for (var i = workgroup * WORKGROUP_SIZE + lane; i < uniforms.units;
           i += workgroups * WORKGROUP_SIZE) {
        ${placement}
        ${perLoad}
      }
    }
  `;
}
