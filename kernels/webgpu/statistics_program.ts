import type {NormGeometry} from '../../src/geometry';
import {rowLayout} from '../common/passes';
import type {KernelAttributes} from '../common/attributes';
import {affineInputs, invStdExpression, paramElement} from './attributes';
import type {ComputeProgram} from './dispatch';
import {coefficientsOf, foldMain, foldReduce, overChannels, overEntries} from './fold_snippet';
import {MOMENT_FIELDS} from './moments_program';
import {momentsSnippet} from './moments_snippet';
import {FOLD_UNIFORMS, foldProgram} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';
import {groupStartSnippet} from './tile_snippet';
import {fields} from './uniforms';

/**
 * Rows of the forward's coefficients `[N, NORMALIZE_ROWS.count, C]`, terms of
 * the pass model (../common/passes.ts): z = (x - pivot) * scale + shift.
 */
export const NORMALIZE_ROWS = rowLayout(['scale', 'shift', 'pivot']);

export const STATISTICS_UNIFORMS = [...FOLD_UNIFORMS, ...fields('f32', 'epsilon')];

/**
 * Forward pass 2, one workgroup per (n, group): merges the partial moments of
 * the (n, group) over its chunks and columns (all of x - pivot, the group's pivot),
 * then writes mean and invStd `[N, groups]` and, per (n, c), the scale, shift
 * and pivot of the elementwise pass. z is taken from the pieces relative to the pivot,
 * (x - pivot) * scale + (beta - (mean - pivot) * scale), which keeps float32
 * accuracy at any offset.
 */
export function statisticsProgram(
  geometry: NormGeometry,
  lanes: number,
  attributes: KernelAttributes,
): ComputeProgram {
  const coefficient = coefficientsOf(NORMALIZE_ROWS);
  const invStdValue = invStdExpression(attributes.epsilonMode, 'total.variance');
  const gamma = paramElement('gamma', attributes.gamma, 'n', 'channel');
  const beta = paramElement('beta', attributes.beta, 'n', 'channel');
  const mergePartial = `own = mergeMoments(own, Moments(splitCount(split), partials[at],
      partials[at + uniforms.partialColumns]));`;
  const perChannel = `
    let scale = invStdValue * ${gamma};
    ${coefficient('scale')} = scale;
    ${coefficient('shift')} = ${beta} - total.mean * scale;
    ${coefficient('pivot')} = pivot;`;
  return foldProgram(geometry, lanes, true, {
    name: 'InstanceNormStatistics',
    outputs: ['mean', 'invStd', 'coefficients'],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'x', type: 'f32'},
      ...affineInputs(attributes),
    ],
    uniforms: STATISTICS_UNIFORMS,
    code: `
      ${momentsSnippet('f32')}
      ${groupStartSnippet(geometry.dataFormat)}
      ${treeReduceSnippet(foldReduce(lanes), 'reduceMoments', 'Moments', 'mergeMoments')}

      ${foldMain(
        lanes,
        `
        var own = Moments(0.0, 0.0, 0.0);
        ${overEntries(MOMENT_FIELDS, mergePartial)}
        let total = reduceMoments(lane, 0, lane, own);
        let invStdValue = ${invStdValue};
        let pivot = x[groupStart(n, group)];
        if (lane == 0) {
          mean[n * uniforms.groups + group] = pivot + total.mean;
          invStd[n * uniforms.groups + group] = invStdValue;
        }
        ${overChannels(perChannel)}
      `,
        true,
      )}
    `,
  });
}
