import type {NormGeometry} from '../../src/geometry';
import {rowLayout} from '../common/passes';
import {KernelAttributes, needsPreActivation, ParamLayout} from '../common/attributes';
import {affineInputs, paramElement, varianceFactorExpression} from './attributes';
import type {ComputeProgram} from './dispatch';
import {coefficientsOf, foldMain, foldReduce, overEntries} from './fold_snippet';
import {SUM_FIELDS} from './grad_sums_program';
import {gradSumsSnippet} from './moments_snippet';
import {FOLD_UNIFORMS, foldProgram} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';
import {fields} from './uniforms';

/**
 * Rows of the gradient's coefficients `[N, INPUT_GRAD_ROWS.count, C]`, terms
 * of the pass model (../common/passes.ts):
 * dx = invStd * (gamma * dz - meanU) - xhatFactor * (xhat - xhatShift), with
 * xhat = (x - mean) * invStd and dz = dy * act'(xhat * gamma + beta)
 * (dz = dy for a linear activation). xhat is formed first: xhatFactor *
 * invStd alone would fall below float32's normal range at magnitudes near
 * 1e18; and gamma * dz - meanU is exactly 0 for a one-element group.
 */
export const INPUT_GRAD_ROWS = rowLayout([
  'gamma',
  'beta',
  'invStd',
  'mean',
  'xhatFactor',
  'meanU',
  'xhatShift',
]);

export const PARAM_GRAD_UNIFORMS = [...FOLD_UNIFORMS, ...fields('f32', 'epsilon')];

/** WGSL writing one channel's sum of a parameter gradient of this layout. */
function writeParamGrad(name: string, layout: ParamLayout, value: string): string {
  return layout === 'perInstance'
    ? `${name}[n * uniforms.channels + channel] = ${value};`
    : `if (n == 0) {
              ${name}[channel] = ${value};
            } else {
              ${name}[channel] += ${value};
            }`;
}

/**
 * Gradient pass 2, one workgroup per group: from the partial sums A = sum(dz),
 * B = sum(dz * xhat), X = sum(xhat) of each (n, c), the group sums
 * sum(gamma * A), sum(gamma * B) and sum(X) of each (n, group); X / M (zero
 * but for the rounding of the saved mean) re-centers xhat. Writes dgamma and
 * dbeta (`[C]` summed over the instances, or `[N, C]`, as gamma and beta; x
 * is not read again) and the per-(n, c) coefficients of dx.
 */
export function paramGradProgram(
  geometry: NormGeometry,
  lanes: number,
  attributes: KernelAttributes,
): ComputeProgram {
  const coefficient = coefficientsOf(INPUT_GRAD_ROWS);
  const weight = paramElement('gamma', attributes.gamma, 'n', 'channel');
  const activated = needsPreActivation(attributes);
  const preActivation = activated
    ? `${coefficient('beta')} = ${paramElement('beta', attributes.beta, 'n', 'channel')};`
    : '';
  const varianceFactor = varianceFactorExpression(attributes.epsilonMode, 'groupInvStd');
  // Channels summed side by side: a power of two up to the group's channels.
  const slots = Math.min(lanes, 2 ** Math.floor(Math.log2(geometry.channelsPerGroup)));
  // The gradient's partials are per channel: a column is a channel.
  const addPartial = `let channel = column;
          let weight = ${weight};
          own = addGradSums(own, GradSums(weight * partials[at],
              weight * partials[at + uniforms.partialColumns],
              partials[at + 2 * uniforms.partialColumns]));`;
  // gamma is read for the weights; beta only to hand it to the dx pass.
  const params = affineInputs({
    gamma: attributes.gamma,
    beta: activated ? attributes.beta : 'absent',
  });
  return foldProgram(geometry, lanes, false, {
    name: 'InstanceNormParamGrad',
    outputs: ['dgamma', 'dbeta', 'coefficients'],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
      ...params,
    ],
    uniforms: PARAM_GRAD_UNIFORMS,
    code: `
      ${gradSumsSnippet('f32')}
      ${treeReduceSnippet(foldReduce(lanes), 'reduceSums', 'GradSums', 'addGradSums')}
      const SLOTS = ${slots};
      const MEMBERS = ${lanes / slots};
      fn addPair(a : vec2<f32>, b : vec2<f32>) -> vec2<f32> { return a + b; }
      ${treeReduceSnippet(
        {workgroupSize: lanes, members: lanes / slots, memberStride: slots, slotStride: 1},
        'reduceChannel',
        'vec2<f32>',
        'addPair',
      )}

      ${foldMain(
        lanes,
        `
        var own = GradSums(0.0, 0.0, 0.0);
        ${overEntries(SUM_FIELDS, addPartial)}
        let total = reduceSums(lane, 0, lane, own);
        let count = f32(uniforms.spatial * uniforms.channelsPerGroup);
        let statistic = n * uniforms.groups + group;
        let groupInvStd = invStd[statistic];
        let xhatShift = total.xhat / count;
        let xhatFactor = ${varianceFactor} * (total.dyXhat - xhatShift * total.dy) / count;
        let meanU = total.dy / count;
        // Per channel: its sums over the chunks, SLOTS channels at a time
        // with MEMBERS lanes over the chunks of each.
        for (var first = 0; first < uniforms.channelsPerGroup; first += SLOTS) {
          let slot = lane % SLOTS;
          let memberIndex = lane / SLOTS;
          let channel = group * uniforms.channelsPerGroup + first + slot;
          let inGroup = first + slot < uniforms.channelsPerGroup;
          var channelSums = vec2<f32>(0.0);
          for (var split = memberIndex; inGroup && split < uniforms.splits; split += MEMBERS) {
            let at = partialAt(n, split, ${SUM_FIELDS}, channel);
            channelSums += vec2<f32>(partials[at], partials[at + uniforms.partialColumns]);
          }
          let sums = reduceChannel(lane, slot, memberIndex, channelSums);
          if (inGroup && memberIndex == 0) {
            let gammaTerm = sums.y - xhatShift * sums.x;
            ${writeParamGrad('dgamma', attributes.gamma, 'gammaTerm')}
            ${writeParamGrad('dbeta', attributes.beta, 'sums.x')}
            ${coefficient('gamma')} = ${weight};
            ${coefficient('xhatFactor')} = xhatFactor;
            ${coefficient('invStd')} = groupInvStd;
            ${coefficient('meanU')} = meanU;
            ${coefficient('xhatShift')} = xhatShift;
            ${coefficient('mean')} = mean[statistic];
            ${preActivation}
          }
        }
      `,
      )}
    `,
  });
}
