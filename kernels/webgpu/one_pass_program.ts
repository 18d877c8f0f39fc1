import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import type {KernelAttributes} from '../common/attributes';
import {affineInputs, invStdExpression, paramElement} from './attributes';
import type {ComputeProgram} from './dispatch';
import {runMomentsSnippet, momentsSnippet} from './moments_snippet';
import type {OnePassPlan} from './plan';
import {treeReduceSnippet} from './reduce_snippet';
import {fields, GEOMETRY_UNIFORMS} from './uniforms';

export const ONE_PASS_UNIFORMS = [...GEOMETRY_UNIFORMS, ...fields('f32', 'epsilon', 'alpha')];

/**
 * The whole forward in one dispatch when an (n, group)'s extent is small (see
 * planOnePass): a workgroup per (n, group) takes the moments of its x - pivot
 * (runs merged with Chan's formula, then a tree), writes mean and invStd,
 * and normalizes the extent it has just read (from cache).
 */
export function onePassProgram(
  geometry: NormGeometry,
  plan: OnePassPlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const channelsLast = geometry.dataFormat === 'channelsLast';
  const lanes = plan.lanes;
  const offsetOf = channelsLast
    ? `(n * uniforms.spatial + index / uniforms.channelsPerGroup) * uniforms.channels +
        group * uniforms.channelsPerGroup + index % uniforms.channelsPerGroup`
    : '(n * uniforms.channels + group * uniforms.channelsPerGroup) * uniforms.spatial + index';
  const channelOf = channelsLast ? 'index % uniforms.channelsPerGroup' : 'index / uniforms.spatial';
  const invStdValue = invStdExpression(attributes.epsilonMode, 'total.variance');
  const gamma = paramElement('gamma', attributes.gamma, 'n', 'channel');
  const beta = paramElement('beta', attributes.beta, 'n', 'channel');
  return {
    name: 'InstanceNormOnePass',
    workgroupSize: lanes,
    dispatch: plan.dispatch,
    outputs: [
      {name: 'y', type: 'f32'},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
    ],
    inputs: [{name: 'x', type: 'f32'}, ...affineInputs(attributes)],
    uniforms: ONE_PASS_UNIFORMS,
    code: `
      const LANES = ${lanes};
      const MOMENT_RUN = 16;
      ${momentsSnippet('f32')}
      ${runMomentsSnippet('f32', false)}
      ${activationSnippet(attributes.activation, 'f32', false)}
      ${treeReduceSnippet(
        {workgroupSize: lanes, members: lanes, memberStride: 1, slotStride: 0},
        'reduceMoments',
        'Moments',
        'mergeMoments',
      )}

      // Element \`index\` of the extent of (n, group), and its channel.
      fn offsetOf(n : i32, group : i32, index : i32) -> i32 {
        return ${offsetOf};
      }

      fn channelOf(group : i32, index : i32) -> i32 {
        return group * uniforms.channelsPerGroup + ${channelOf};
      }

      fn compute(lane : i32, workgroup : i32, workgroups : i32) {
        let extent = uniforms.spatial * uniforms.channelsPerGroup;
        for (var item = workgroup; item < uniforms.batch * uniforms.groups; item += workgroups) {
          let n = item / uniforms.groups;
          let group = item % uniforms.groups;
          let pivot = x[offsetOf(n, group, 0)];
          var own = Moments(0.0, 0.0, 0.0);
          let visits = select(0, (extent - lane + LANES - 1) / LANES, lane < extent);
          var index = lane;
          for (var runStart = 0; runStart < visits; runStart += MOMENT_RUN) {
            let count = min(MOMENT_RUN, visits - runStart);
            var sum = 0.0;
            var squares = 0.0;
            for (var k = 0; k < count; k++) {
              let fromPivot = x[offsetOf(n, group, index)] - pivot;
              sum += fromPivot;
              squares += fromPivot * fromPivot;
              index += LANES;
            }
            own = mergeMoments(own, runMoments(f32(count), sum, squares));
          }
          let total = reduceMoments(lane, 0, lane, own);
          let invStdValue = ${invStdValue};
          if (lane == 0) {
            mean[item] = pivot + total.mean;
            invStd[item] = invStdValue;
          }
          for (var at = lane; at < extent; at += LANES) {
            let offset = offsetOf(n, group, at);
            let channel = channelOf(group, at);
            let scale = invStdValue * ${gamma};
            y[offset] = activate(((x[offset] - pivot) - total.mean) * scale + ${beta});
          }
        }
      }
    `,
  };
}
