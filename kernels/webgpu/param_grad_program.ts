import type {ComputeProgram} from './dispatch';
import {FOLD_UNIFORMS, foldKey, foldMain, foldReduce, overEntries} from './fold_snippet';
import {SUM_FIELDS} from './grad_sums_program';
import {gradSumsSnippet} from './moments_snippet';
import {dispatchOf, Geometry} from './plan';
import {treeReduceSnippet} from './reduce_snippet';

/**
 * Rows of the gradient's coefficients `[N, 4, C]`:
 * dx = dyScale * dy - slope * (x - center) + offset.
 */
export const INPUT_GRAD_ROWS = {dyScale: 0, slope: 1, offset: 2, center: 3, count: 4} as const;

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
  const rows = INPUT_GRAD_ROWS.count;
  const coefficient = (row: keyof typeof INPUT_GRAD_ROWS) =>
    `coefficients[(n * ${rows} + ${INPUT_GRAD_ROWS[row]}) * uniforms.channels + channel]`;
  const weight = hasGamma ? 'gamma[channel]' : '1.0';
  // Channels summed side by side: a power of two up to the group's channels.
  const slots = Math.min(lanes, 2 ** Math.floor(Math.log2(geometry.groupChannels)));
  return {
    name: 'InstanceNormParamGrad',
    key: `${foldKey(geometry, lanes)}_${slots}_${+hasGamma}`,
    workgroupSize: lanes,
    dispatch: dispatchOf(geometry.groups),
    outputs: [
      {name: 'dgamma', type: 'f32'},
      {name: 'dbeta', type: 'f32'},
      {name: 'coefficients', type: 'f32'},
    ],
    inputs: [
      {name: 'partials', type: 'f32'},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
      ...(hasGamma ? [{name: 'gamma', type: 'f32'}] : []),
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
            ${coefficient('slope')} = perXhat * scale;
            ${coefficient('offset')} = perXhat * xhatShift - constant;
            ${coefficient('center')} = mean[statistic];
          }
        }
      `,
      )}
    `,
  };
}
