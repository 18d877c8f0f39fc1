import {optionalInputs} from './dispatch';
import type {ComputeProgram} from './dispatch';
import {coefficientsOf, foldMain, foldReduce, overEntries} from './fold_snippet';
import {SUM_FIELDS} from './grad_sums_program';
import {gradSumsSnippet} from './moments_snippet';
import type {Geometry} from './plan';
import {FOLD_UNIFORMS, foldProgram} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';

/**
 * Rows of the gradient's coefficients `[N, 5, C]`:
 * dx = dyScale * dy - perXhat * ((x - center) * invStd) + offset. xhat is
 * formed first: perXhat * invStd alone would fall below float32's normal
 * range at magnitudes near 1e18.
 */
export const INPUT_GRAD_ROWS = {
  dyScale: 0,
  perXhat: 1,
  invStd: 2,
  center: 3,
  offset: 4,
  count: 5,
} as const;

/**
 * Gradient pass 2, one workgroup per group: from the partial sums A = sum(dy),
 * B = sum(dy * xhat), X = sum(xhat) of each (n, c), the group sums
 * sum(gamma * A), sum(gamma * B) and sum(X) of each (n, group); X / M (zero
 * but for the rounding of the saved mean) re-centers xhat. Writes dgamma and
 * dbeta `[C]` (summed over the instances, x is not read again) and the
 * per-(n, c) coefficients of dx.
 */
export function paramGradProgram(
  geometry: Geometry,
  lanes: number,
  hasGamma: boolean,
): ComputeProgram {
  const coefficient = coefficientsOf(INPUT_GRAD_ROWS);
  const weight = hasGamma ? 'gamma[channel]' : '1.0';
  // Channels summed side by side: a power of two up to the group's channels.
  const slots = Math.min(lanes, 2 ** Math.floor(Math.log2(geometry.groupChannels)));
  return foldProgram(geometry, lanes, {
    name: 'InstanceNormParamGrad',
    key: `${slots}_${+hasGamma}`,
    outputs: ['dgamma', 'dbeta', 'coefficients'],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
      ...optionalInputs({gamma: hasGamma}),
    ],
    uniforms: FOLD_UNIFORMS,
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
        ${overEntries(
          SUM_FIELDS,
          `let weight = ${weight};
          own = addGradSums(own, GradSums(weight * partials[at],
              weight * partials[at + uniforms.channels], partials[at + 2 * uniforms.channels]));`,
        )}
        let total = reduceSums(lane, 0, lane, own);
        let count = f32(uniforms.spatial * uniforms.groupChannels);
        let statistic = n * uniforms.groups + group;
        let scale = invStd[statistic];
        let xhatShift = total.xhat / count;
        let perXhat = scale * (total.dyXhat - xhatShift * total.dy) / count;
        let constant = scale * total.dy / count;
        // Per channel: its sums over the chunks, SLOTS channels at a time
        // with MEMBERS lanes over the chunks of each.
        for (var first = 0; first < uniforms.groupChannels; first += SLOTS) {
          let slot = lane % SLOTS;
          let memberIndex = lane / SLOTS;
          let channel = group * uniforms.groupChannels + first + slot;
          let inGroup = first + slot < uniforms.groupChannels;
          var channelSums = vec2<f32>(0.0);
          for (var split = memberIndex; inGroup && split < uniforms.splits; split += MEMBERS) {
            let at = ((n * uniforms.splits + split) * ${SUM_FIELDS}) * uniforms.channels + channel;
            channelSums += vec2<f32>(partials[at], partials[at + uniforms.channels]);
          }
          let sums = reduceChannel(lane, slot, memberIndex, channelSums);
          if (inGroup && memberIndex == 0) {
            let gammaTerm = sums.y - xhatShift * sums.x;
            if (n == 0) {
              dgamma[channel] = gammaTerm;
              dbeta[channel] = sums.x;
            } else {
              dgamma[channel] += gammaTerm;
              dbeta[channel] += sums.x;
            }
            ${coefficient('dyScale')} = scale * ${weight};
            ${coefficient('perXhat')} = perXhat;
            ${coefficient('invStd')} = scale;
            ${coefficient('offset')} = perXhat * xhatShift - constant;
            ${coefficient('center')} = mean[statistic];
          }
        }
      `,
      )}
    `,
  });
}
