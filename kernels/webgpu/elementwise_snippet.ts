/**
 * WGSL of the elementwise passes: a grid-stride loop over the loads of x
 * and, for each, where its (n, c)'s coefficients `[N, rows, C]` are.
 */
import {ELEMENTWISE_WORKGROUP_SIZE, ElementwisePlan, Geometry} from './plan';

/**
 * `compute` running `body` for every load `i` of x, with `coefficient(row)`
 * giving the coefficient of row `row` for that load's (n, c).
 */
export function elementwiseMain(
  geometry: Geometry,
  plan: ElementwisePlan,
  rows: number,
  body: string,
): string {
  const placement =
    geometry.format === 'channelsLast'
      ? `let lineLoads = uniforms.channels / VECTOR;
        let n = i / (uniforms.spatial * lineLoads);
        let base = n * ROWS * lineLoads + i % lineLoads;
        let rowStride = lineLoads;`
      : `let row = i / (uniforms.spatial / VECTOR);
        let base = (row / uniforms.channels) * ROWS * uniforms.channels + row % uniforms.channels;
        let rowStride = uniforms.channels;`;
  return `
    const VECTOR = ${plan.vector};
    const ROWS = ${rows};
    const WORKGROUP_SIZE = ${ELEMENTWISE_WORKGROUP_SIZE};

    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      for (var i = workgroup * WORKGROUP_SIZE + lane; i < uniforms.units;
           i += workgroups * WORKGROUP_SIZE) {
        ${placement}
        ${body.replace(/coefficient\((\d+)\)/g, 'coefficients[base + $1 * rowStride]')}
      }
    }
  `;
}
