import type {NormGeometry} from '../../src/geometry';
import {activationSnippet} from './activation_snippet';
import type {KernelAttributes} from '../common/attributes';
import {affineInputs, invStdExpression, paramElement} from './attributes';
import type {ComputeProgram} from './dispatch';
import {fusedProgram, PARTIAL_UNIFORMS} from './program_kinds';
import {
  foldGroupsLoop,
  fusedItemSnippet,
  fusedLoadType,
  fusedMain,
  itemLoadsLoop,
  rowEntry,
} from './fused_snippet';
import {MOMENT_FIELDS} from './moments_program';
import {momentsSnippet} from './moments_snippet';
import type {FusedPlan} from './plan';
import {fields, GEOMETRY_UNIFORMS} from './uniforms';

export const FUSED_UNIFORMS = [
  ...GEOMETRY_UNIFORMS,
  ...fields('i32', 'splits', 'segments', 'segment', 'tiles', 'items', 'itemsPerWorkgroup'),
  ...PARTIAL_UNIFORMS,
];

/** Values of FUSED_UNIFORMS (and of the fields the caller adds) for a fused plan. */
export function fusedValues(geometry: NormGeometry, plan: FusedPlan, more: object): object {
  return {...geometry, ...more, ...plan, ...plan.tiling.partials};
}

export const FUSED_NORMALIZE_UNIFORMS = [...FUSED_UNIFORMS, ...fields('f32', 'epsilon', 'alpha')];

/**
 * Forward pass 2: each item merges the partial moments (Chan's formula, all
 * of x - pivot, the group's first element) of every group it
 * touches over their chunks and channels, and writes y = act((x - pivot) *
 * scale + shift) over its part of x, with scale = invStd * gamma and shift =
 * beta - (mean - pivot) * scale: float32 accuracy at any offset. The items of
 * the first chunk write mean and invStd `[N, groups]` of the groups whose
 * first channel they hold.
 *
 * channelsLast keeps scale, shift and pivot per channel of the tile in
 * workgroup memory; channelsFirst (one group per item) keeps the group's
 * statistics and reads gamma and beta per load.
 */
export function fusedNormalizeProgram(
  geometry: NormGeometry,
  plan: FusedPlan,
  attributes: KernelAttributes,
): ComputeProgram {
  const channelsLast = geometry.dataFormat === 'channelsLast';
  const load = fusedLoadType(plan);
  const invStdValue = invStdExpression(attributes.epsilonMode, 'total.variance');
  const gamma = (channel: string) => paramElement('gamma', attributes.gamma, 'item.n', channel);
  const beta = (channel: string) => paramElement('beta', attributes.beta, 'item.n', channel);
  const accumulate = `let at = partialAt(item.n, split, ${MOMENT_FIELDS}, column);
        own = mergeMoments(own, Moments(splitCount(split), partials[at],
            partials[at + uniforms.partialColumns]));`;
  const keep = channelsLast
    ? `for (var member = memberIndex; realGroup && member < uniforms.channelsPerGroup;
             member += MEMBERS) {
          let channel = group * uniforms.channelsPerGroup + member;
          if (channel >= range.x && channel < range.y) {
            let scale = invStdValue * ${gamma('channel')};
            let local = channel - range.x;
            ${rowEntry(plan, 'scaleRow')} = scale;
            ${rowEntry(plan, 'shiftRow')} = ${beta('channel')} - total.mean * scale;
            ${rowEntry(plan, 'pivotRow')} = pivot;
          }
        }`
    : `if (realGroup && memberIndex == 0) {
          groupStatistics = vec3<f32>(total.mean, invStdValue, pivot);
        }`;
  const perLoad = channelsLast
    ? `y[i] = activate((x[i] - pivotRow[local]) * scaleRow[local] + shiftRow[local]);`
    : `let scale = statistics.y * ${gamma('local')};
      y[i] = activate((x[i] - statistics.z) * scale + (${beta('local')} - statistics.x * scale));`;
  const workgroupMemory = channelsLast
    ? `var<workgroup> scaleRow : array<${load}, TILE_LOADS>;
      var<workgroup> shiftRow : array<${load}, TILE_LOADS>;
      var<workgroup> pivotRow : array<${load}, TILE_LOADS>;`
    : "// The (mean - pivot, invStd, pivot) of the item's group.\n var<workgroup> groupStatistics : vec3<f32>;";
  return fusedProgram(plan, {
    name: 'InstanceNormFusedNormalize',
    outputs: ['y', 'mean', 'invStd'],
    inputs: [{name: 'partials', type: 'f32'}, {name: 'x', type: load}, ...affineInputs(attributes)],
    uniforms: FUSED_NORMALIZE_UNIFORMS,
    code: `
      ${momentsSnippet('f32')}
      ${activationSnippet(attributes.activation, load, false)}
      ${fusedItemSnippet(geometry, plan, {name: 'reduceMoments', type: 'Moments', combine: 'mergeMoments'})}
      ${workgroupMemory}

      // Element \`at\` of x, a flat index.
      fn xElement(at : i32) -> f32 {
        return ${plan.vector === 4 ? 'x[at / 4][at % 4]' : 'x[at]'};
      }

      ${fusedMain(`
        ${foldGroupsLoop(
          'Moments(0.0, 0.0, 0.0)',
          accumulate,
          'reduceMoments',
          `let invStdValue = ${invStdValue};
          let pivot = xElement(groupStart(item.n, group));
          let statistic = item.n * uniforms.groups + group;
          if (realGroup && memberIndex == 0 && item.segment == 0 &&
              group * uniforms.channelsPerGroup >= range.x) {
            mean[statistic] = pivot + total.mean;
            invStd[statistic] = invStdValue;
          }
          ${keep}`,
        )}
        workgroupBarrier();
        ${channelsLast ? '' : 'let statistics = groupStatistics;'}
        ${itemLoadsLoop(geometry, perLoad)}
      `)}
    `,
  });
}
