import type {ComputeProgram} from './dispatch';
import {
  FOLD_UNIFORMS,
  foldKey,
  foldMain,
  foldReduce,
  overChannels,
  overEntries,
} from './fold_snippet';
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
  return {
    name: 'InstanceNormParamGrad',
    key: `${foldKey(geometry, lanes)}_${+hasGamma}`,
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
        ${overChannels(`
          var sumDy = 0.0;
          var sumDyXhat = 0.0;
          for (var split = 0; split < uniforms.splits; split++) {
            let at = ((n * uniforms.splits + split) * ${SUM_FIELDS}) * uniforms.channels + channel;
            sumDy += partials[at];
            sumDyXhat += partials[at + uniforms.channels];
          }
          let gammaTerm = sumDyXhat - xhatShift * sumDy;
          if (n == 0) {
            dgamma[channel] = gammaTerm;
            dbeta[channel] = sumDy;
          } else {
            dgamma[channel] += gammaTerm;
            dbeta[channel] += sumDy;
          }
          ${coefficient('dyScale')} = scale * ${weight};
          ${coefficient('slope')} = perXhat * scale;
          ${coefficient('offset')} = perXhat * xhatShift - constant;
          ${coefficient('center')} = mean[statistic];
        `)}
      `,
      )}
    `,
  };
}
