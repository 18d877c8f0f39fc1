import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import {KernelAttributes, needsPreActivation, ParamLayout} from '../common/attributes';
import {affineInputs, paramElement, varianceFactorExpression} from './attributes';
import type {ComputeProgram} from './dispatch';
import {fusedProgram} from './program_kinds';
import {
  foldGroupsLoop,
  fusedItemSnippet,
  fusedLoadType,
  fusedMain,
  itemLoadsLoop,
  rowEntry,
} from './fused_snippet';
import {FUSED_UNIFORMS} from './fused_normalize_program';
import {INPUT_GRAD_ROWS} from './param_grad_program';
import {SUM_FIELDS} from './grad_sums_program';
import {gradSumsSnippet} from './moments_snippet';
import type {FusedPlan} from './plan';
import {fields} from './uniforms';

export const FUSED_INPUT_GRAD_UNIFORMS = [
  ...FUSED_UNIFORMS,
  ...fields('i32', 'groupSize'),
  ...fields('f32', 'epsilon', 'alpha'),
];

/**
 * The per-(n, c) terms of dx a channelsLast item keeps per channel of its
 * tile: those of the unfused pass (INPUT_GRAD_ROWS).
 */
const ROWS = Object.keys(INPUT_GRAD_ROWS).filter(key => key !== 'count') as Array<
  Exclude<keyof typeof INPUT_GRAD_ROWS, 'count'>
>;

/**
 * WGSL adding instance n's term to a parameter gradient of this layout:
 * `[N, C]` by the items of instance n, `[C]` by the item of instance 0,
 * which sweeps the instances from the last to the first.
 */
function writeParamGrad(name: string, layout: ParamLayout, value: string): string {
  return layout === 'perInstance'
    ? `if (n == item.n) {
            ${name}[n * uniforms.channels + channel] = ${value};
          }`
    : `if (sweep) {
            ${name}[channel] = select(${name}[channel], 0.0, n == uniforms.batch - 1) + ${value};
          }`;
}

/**
 * Gradient pass 2. From the partial sums A = sum(dz), B = sum(dz * xhat) and
 * X = sum(xhat) of each (n, chunk, c), each item folds the group sums
 * sum(gamma * A), sum(gamma * B) and sum(X) of the groups it touches (X / M,
 * zero but for the rounding of the saved mean, re-centers xhat) and writes
 * dx = invStd * (gamma * dz - meanU) - xhatFactor * (xhat - xhatShift) over its
 * part of x, with xhat = (x - mean) * invStd and dz = dy * act'(xhat *
 * gamma + beta). xhat is formed first: xhatFactor * invStd alone would fall
 * below float32's normal range at magnitudes near 1e18; gamma * dz - meanU
 * is exactly 0 for a one-element group.
 *
 * The items of the first chunk write dgamma and dbeta of their channels
 * (`[C]` summed over the instances, or `[N, C]`, as gamma and beta). The
 * saved mean and invStd come behind the partials (see gradSumsProgram): with
 * them as buffers of their own an activation with gamma and beta would need
 * 10 storage buffers.
 */
export function fusedInputGradProgram(
  geometry: NormGeometry,
  plan: FusedPlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const channelsLast = geometry.dataFormat === 'channelsLast';
  const load = fusedLoadType(plan);
  const activated = needsPreActivation(attributes);
  const gamma = (n: string, channel: string) => paramElement('gamma', attributes.gamma, n, channel);
  const beta = (n: string, channel: string) => paramElement('beta', attributes.beta, n, channel);
  const varianceFactor = varianceFactorExpression(attributes.epsilonMode, 'groupInvStd');
  const sweeps = attributes.gamma !== 'perInstance' || attributes.beta !== 'perInstance';
  const rows = ROWS.filter(row => row !== 'beta' || activated);
  // The gradient's partials are per channel: a column is a channel.
  const accumulate = `let at = partialAt(n, split, ${SUM_FIELDS}, column);
        let weight = ${gamma('n', 'column')};
        own = addGradSums(own, GradSums(weight * partials[at],
            weight * partials[at + uniforms.partialColumns],
            partials[at + 2 * uniforms.partialColumns]));`;
  const values: Record<(typeof ROWS)[number], string> = {
    gamma: gamma('n', 'channel'),
    beta: beta('n', 'channel'),
    invStd: 'groupInvStd',
    mean: 'groupMean',
    xhatFactor: 'xhatFactor',
    meanU: 'meanU',
    xhatShift: 'xhatShift',
  };
  const keep = channelsLast
    ? `for (var member = memberIndex; realGroup && member < uniforms.channelsPerGroup;
             member += MEMBERS) {
          let channel = group * uniforms.channelsPerGroup + member;
          if (channel >= range.x && channel < range.y) {
            let local = channel - range.x;
            ${rows.map(row => `${rowEntry(plan, `${row}Row`)} = ${values[row]};`).join('\n')}
          }
        }`
    : `if (realGroup && memberIndex == 0) {
          groupValues = GroupValues(groupInvStd, groupMean, xhatFactor, meanU, xhatShift);
        }`;
  const xhatShiftOf = channelsLast
    ? `let local = channel - range.x;
          let xhatShift = ${rowEntry(plan, 'xhatShiftRow')};`
    : 'let xhatShift = groupValues.xhatShift;';
  const valueOf = channelsLast
    ? (row: (typeof ROWS)[number]) => `${row}Row[local]`
    : (row: (typeof ROWS)[number]) =>
        row === 'gamma'
          ? gamma('item.n', 'local')
          : row === 'beta'
            ? beta('item.n', 'local')
            : `values.${row}`;
  const dz = activated
    ? `dy[i] * activationSlope(xhat * ${valueOf('gamma')} + ${valueOf('beta')})`
    : 'dy[i]';
  const workgroupMemory = channelsLast
    ? rows.map(row => `var<workgroup> ${row}Row : array<${load}, TILE_LOADS>;`).join('\n')
    : `struct GroupValues {
        invStd : f32,
        mean : f32,
        xhatFactor : f32,
        meanU : f32,
        xhatShift : f32,
      };
      var<workgroup> groupValues : GroupValues;`;
  return fusedProgram(plan, {
    name: 'InstanceNormFusedInputGrad',
    outputs: ['dx', 'dgamma', 'dbeta'],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'dy', type: load},
      {name: 'x', type: load},
      ...affineInputs({gamma: attributes.gamma, beta: activated ? attributes.beta : 'absent'}),
    ],
    uniforms: FUSED_INPUT_GRAD_UNIFORMS,
    code: `
      ${gradSumsSnippet('f32')}
      ${activated ? activationSnippet(attributes.activation, load, true) : ''}
      ${fusedItemSnippet(geometry, plan, {name: 'reduceSums', type: 'GradSums', combine: 'addGradSums'})}
      ${workgroupMemory}

      // The saved mean and invStd of (n, group), behind the partials.
      fn savedAt(statistic : i32) -> i32 {
        return uniforms.batch * uniforms.splits * ${SUM_FIELDS} * uniforms.channels + statistic;
      }

      // The group sums of instance n for the groups the item touches.
      fn foldInstance(lane : i32, item : Item, n : i32) {
        ${foldGroupsLoop(
          'GradSums(0.0, 0.0, 0.0)',
          accumulate,
          'reduceSums',
          `let count = f32(uniforms.spatial * uniforms.channelsPerGroup);
          let statistic = n * uniforms.groups + group;
          let groupMean = partials[savedAt(statistic)];
          let groupInvStd = partials[savedAt(uniforms.batch * uniforms.groups + statistic)];
          let xhatShift = total.xhat / count;
          let xhatFactor = ${varianceFactor} * (total.dyXhat - xhatShift * total.dy) / count;
          let meanU = total.dy / count;
          ${keep}`,
        )}
      }

      // Instance n's dgamma and dbeta terms of the item's channels.
      fn paramGrads(lane : i32, item : Item, n : i32, sweep : bool) {
        let range = channelRange(item);
        for (var channel = range.x + lane; channel < range.y; channel += LANES) {
          var sums = vec2<f32>(0.0);
          for (var split = 0; split < uniforms.splits; split++) {
            let at = partialAt(n, split, ${SUM_FIELDS}, channel);
            sums += vec2<f32>(partials[at], partials[at + uniforms.channels]);
          }
          ${xhatShiftOf}
          ${writeParamGrad('dgamma', attributes.gamma, 'sums.y - xhatShift * sums.x')}
          ${writeParamGrad('dbeta', attributes.beta, 'sums.x')}
        }
      }

      ${fusedMain(`
        // The item of instance 0 and the first chunk sweeps the instances
        // for the [C] parameter gradients; each instance's fold ends on
        // item.n, whose values the loads then use.
        let sweep = ${sweeps} && item.segment == 0 && item.n == 0;
        for (var n = select(item.n, uniforms.batch - 1, sweep); n >= item.n; n--) {
          foldInstance(lane, item, n);
          workgroupBarrier();
          if (item.segment == 0) {
            paramGrads(lane, item, n, sweep);
          }
          workgroupBarrier();
        }
        ${channelsLast ? '' : 'let values = groupValues;'}
        ${itemLoadsLoop(
          geometry,
          `let groupInvStd = ${valueOf('invStd')};
          let xhat = (x[i] - ${valueOf('mean')}) * groupInvStd;
          let dxValue = groupInvStd * (${valueOf('gamma')} * ${dz} - ${valueOf('meanU')}) -
              ${valueOf('xhatFactor')} * (xhat - ${valueOf('xhatShift')});
          // A one-element group: exactly 0 (fused multiply-adds leave a rounding).
          dx[i] = select(dxValue, ${load}(0.0), uniforms.groupSize == 1);`,
        )}
      `)}
    `,
  });
}
