import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import {KernelAttributes, needsPreActivation, ParamLayout} from '../common/attributes';
import {affineInputs, paramElement, varianceFactorExpression} from './attributes';
import type {ComputeProgram} from './dispatch';
import type {OnePassPlan} from './plan';
import {treeReduceSnippet} from './reduce_snippet';
import {fields, GEOMETRY_UNIFORMS} from './uniforms';

export const ONE_PASS_GRAD_UNIFORMS = [...GEOMETRY_UNIFORMS, ...fields('f32', 'epsilon', 'alpha')];

/** WGSL adding one instance's sum to a parameter gradient of this layout. */
function writeParamGrad(name: string, layout: ParamLayout, value: string): string {
  return layout === 'perInstance'
    ? `${name}[n * uniforms.channels + channel] = ${value};`
    : `${name}[channel] = select(${name}[channel], 0.0, n == 0) + ${value};`;
}

/**
 * The whole gradient in one dispatch when a group is small over all its
 * instances (see planOnePassGrad): a workgroup per group loops over the
 * instances and, for each, takes the per-channel sums of dz, dz * xhat and
 * xhat (SLOTS channels side by side, a tree over the pixels of each), folds
 * them into the group's sums, adds the instance's dgamma and dbeta terms (in
 * instance order: deterministic, no other workgroup touches the group's
 * channels) and writes dx over the extent it has just read.
 */
export function onePassGradProgram(
  geometry: NormGeometry,
  plan: OnePassPlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const channelsLast = geometry.dataFormat === 'channelsLast';
  const lanes = plan.lanes;
  const slots = Math.min(lanes, 2 ** Math.floor(Math.log2(geometry.channelsPerGroup)));
  const activated = needsPreActivation(attributes);
  const gamma = paramElement('gamma', attributes.gamma, 'n', 'channel');
  const beta = paramElement('beta', attributes.beta, 'n', 'channel');
  const dz = activated ? `dy[at] * activationSlope(xhat * ${gamma} + ${beta})` : 'dy[at]';
  const pixelOffset = channelsLast
    ? '(n * uniforms.spatial + pixel) * uniforms.channels + channel'
    : '(n * uniforms.channels + channel) * uniforms.spatial + pixel';
  const extentOffset = channelsLast
    ? `(n * uniforms.spatial + index / uniforms.channelsPerGroup) * uniforms.channels +
        group * uniforms.channelsPerGroup + index % uniforms.channelsPerGroup`
    : '(n * uniforms.channels + group * uniforms.channelsPerGroup) * uniforms.spatial + index';
  const channelOfIndex = channelsLast
    ? 'index % uniforms.channelsPerGroup'
    : 'index / uniforms.spatial';
  const varianceFactor = varianceFactorExpression(attributes.epsilonMode, 'groupInvStd');
  const params = affineInputs({
    gamma: attributes.gamma,
    beta: activated ? attributes.beta : 'absent',
  });
  return {
    name: 'InstanceNormGradOnePass',
    workgroupSize: lanes,
    dispatch: plan.dispatch,
    outputs: [
      {name: 'dx', type: 'f32'},
      {name: 'dgamma', type: 'f32'},
      {name: 'dbeta', type: 'f32'},
    ],
    inputs: [
      {name: 'dy', type: 'f32'},
      {name: 'x', type: 'f32'},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
      ...params,
    ],
    uniforms: ONE_PASS_GRAD_UNIFORMS,
    code: `
      const LANES = ${lanes};
      const SLOTS = ${slots};
      const MEMBERS = ${lanes / slots};
      ${activated ? activationSnippet(attributes.activation, 'f32', true) : ''}
      fn addSums(a : vec3<f32>, b : vec3<f32>) -> vec3<f32> { return a + b; }
      ${treeReduceSnippet(
        {workgroupSize: lanes, members: lanes / slots, memberStride: slots, slotStride: 1},
        'reduceChannel',
        'vec3<f32>',
        'addSums',
      )}
      // Per channel of the group: sum(dz), sum(dz * xhat), sum(xhat).
      var<workgroup> channelSums : array<vec3<f32>, LANES>;

      fn compute(lane : i32, workgroup : i32, workgroups : i32) {
        let count = f32(uniforms.spatial * uniforms.channelsPerGroup);
        let extent = uniforms.spatial * uniforms.channelsPerGroup;
        for (var group = workgroup; group < uniforms.groups; group += workgroups) {
          for (var n = 0; n < uniforms.batch; n++) {
            let statistic = n * uniforms.groups + group;
            let groupMean = mean[statistic];
            let groupInvStd = invStd[statistic];
            for (var first = 0; first < uniforms.channelsPerGroup; first += SLOTS) {
              let slot = lane % SLOTS;
              let memberIndex = lane / SLOTS;
              let channel = group * uniforms.channelsPerGroup + first + slot;
              let inGroup = first + slot < uniforms.channelsPerGroup;
              var own = vec3<f32>(0.0);
              for (var pixel = memberIndex; inGroup && pixel < uniforms.spatial; pixel += MEMBERS) {
                let at = ${pixelOffset};
                let xhat = (x[at] - groupMean) * groupInvStd;
                let gradient = ${dz};
                own += vec3<f32>(gradient, gradient * xhat, xhat);
              }
              let sums = reduceChannel(lane, slot, memberIndex, own);
              if (inGroup && memberIndex == 0) {
                channelSums[first + slot] = sums;
              }
            }
            workgroupBarrier();
            // The group's sums, weighted by gamma: every lane folds them alike.
            var total = vec3<f32>(0.0);
            for (var member = 0; member < uniforms.channelsPerGroup; member++) {
              let channel = group * uniforms.channelsPerGroup + member;
              let weight = ${gamma};
              let sums = channelSums[member];
              total += vec3<f32>(weight * sums.x, weight * sums.y, sums.z);
            }
            let xhatShift = total.z / count;
            let xhatFactor = ${varianceFactor} * (total.y - xhatShift * total.x) / count;
            let meanU = total.x / count;
            for (var member = lane; member < uniforms.channelsPerGroup; member += LANES) {
              let channel = group * uniforms.channelsPerGroup + member;
              let sums = channelSums[member];
              ${writeParamGrad('dgamma', attributes.gamma, 'sums.y - xhatShift * sums.x')}
              ${writeParamGrad('dbeta', attributes.beta, 'sums.x')}
            }
            for (var index = lane; index < extent; index += LANES) {
              let at = ${extentOffset};
              let channel = group * uniforms.channelsPerGroup + ${channelOfIndex};
              let xhat = (x[at] - groupMean) * groupInvStd;
              let dxValue = groupInvStd * (${gamma} * ${dz} - meanU) - xhatFactor * (xhat - xhatShift);
              // A one-element group: exactly 0 (fused multiply-adds leave a rounding).
              dx[at] = select(dxValue, 0.0, extent == 1);
            }
            // channelSums is read by every lane before the next instance writes it.
            workgroupBarrier();
          }
        }
      }
    `,
  };
}
