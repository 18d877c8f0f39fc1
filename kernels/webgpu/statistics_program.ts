import {optionalInputs} from './dispatch';
import type {ComputeProgram} from './dispatch';
import {coefficientsOf, foldMain, foldReduce, overChannels, overEntries} from './fold_snippet';
import {MOMENT_FIELDS} from './moments_program';
import {momentsSnippet} from './moments_snippet';
import type {Geometry} from './plan';
import {FOLD_UNIFORMS, foldProgram} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';
import {groupStartSnippet} from './tile_snippet';
import {fields} from './uniforms';

/** Rows of the forward's coefficients `[N, 3, C]`: y = (x - pivot) * scale + shift. */
export const NORMALIZE_ROWS = {scale: 0, shift: 1, pivot: 2, count: 3} as const;

export const STATISTICS_UNIFORMS = [...FOLD_UNIFORMS, ...fields('f32', 'epsilon')];

/**
 * Forward pass 2, one workgroup per group: merges the partial moments of each
 * (n, group) over its chunks and channels (all shifted by the group's pivot),
 * then writes mean and invStd `[N, groups]` and, per (n, c), the scale, shift
 * and pivot of the elementwise pass. y is taken from the shifted pieces,
 * (x - pivot) * scale + (beta - shiftedMean * scale), which keeps float32
 * accuracy at any offset.
 */
export function statisticsProgram(
  geometry: Geometry,
  lanes: number,
  hasGamma: boolean,
  hasBeta: boolean,
): ComputeProgram {
  const coefficient = coefficientsOf(NORMALIZE_ROWS);
  return foldProgram(geometry, lanes, {
    name: 'InstanceNormStatistics',
    key: `${+hasGamma}${+hasBeta}`,
    outputs: ['mean', 'invStd', 'coefficients'],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'x', type: 'f32'},
      ...optionalInputs({gamma: hasGamma, beta: hasBeta}),
    ],
    uniforms: STATISTICS_UNIFORMS,
    code: `
      ${momentsSnippet('f32')}
      ${groupStartSnippet(geometry.format)}
      ${treeReduceSnippet(foldReduce(lanes), 'reduceMoments', 'Moments', 'mergeMoments')}

      ${foldMain(
        lanes,
        `
        var own = Moments(0.0, 0.0, 0.0);
        ${overEntries(
          MOMENT_FIELDS,
          `own = mergeMoments(own, Moments(splitPixels(split), partials[at],
              partials[at + uniforms.channels]));`,
        )}
        let total = reduceMoments(lane, 0, lane, own);
        let invStdValue = inverseSqrt(total.variance + uniforms.epsilon);
        let pivot = x[groupStart(n, group)];
        if (lane == 0) {
          mean[n * uniforms.groups + group] = pivot + total.mean;
          invStd[n * uniforms.groups + group] = invStdValue;
        }
        ${overChannels(`
          let scale = invStdValue${hasGamma ? ' * gamma[channel]' : ''};
          ${coefficient('scale')} = scale;
          ${coefficient('shift')} = ${hasBeta ? 'beta[channel]' : '0.0'} - total.mean * scale;
          ${coefficient('pivot')} = pivot;
        `)}
      `,
      )}
    `,
  });
}
