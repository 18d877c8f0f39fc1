import {activationSnippet} from './activation_snippet';
import {KernelAttributes, needsPreActivation} from '../common/attributes';
import {affineInputs, paramElement} from './attributes';
import type {ComputeProgram} from './dispatch';
import {gradSumsSnippet} from './moments_snippet';
import type {Tiling} from './plan';
import {TILING_UNIFORMS, tiledProgram} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';
import {loadType, perComponentSnippet, statType, tilingReduce} from './tile_snippet';
import {fields} from './uniforms';

/** The partials of the gradient hold sum(dz), sum(dz * xhat) and sum(xhat) per chunk. */
export const SUM_FIELDS = 3;

export const GRAD_SUMS_UNIFORMS = [...TILING_UNIFORMS, ...fields('f32', 'alpha')];

/** Floats of the partials of the gradient: the sums, then the saved mean and invStd. */
export function gradPartialsLength(tiling: Tiling): number {
  const {batch, channels, groups} = tiling.geometry;
  const length = batch * tiling.splits * SUM_FIELDS * channels + 2 * batch * groups;
  return Math.ceil(length / 4) * 4;
}

/**
 * Gradient pass 1: the three sums for every (n, chunk of S, c), written to the
 * partials `[N, splits, 3, C]`, with dz = dy * act'(z) (z recomputed from x,
 * the statistics, gamma and beta; dz = dy for a linear activation).
 * sum(xhat) is zero up to the rounding of the float32 saved mean; the fold
 * uses it to re-center xhat, which keeps the gradient accurate at large
 * offsets. Behind the partials it copies the saved mean and invStd `[N,
 * groups]` each (the lane of a group's first channel in the first chunk), so
 * the fused pass binds one buffer for the three (gradPartialsLength floats).
 */
export function gradSumsProgram(tiling: Tiling, attributes: KernelAttributes): ComputeProgram {
  const stat = statType(tiling);
  const load = loadType(tiling);
  const collapse =
    tiling.geometry.dataFormat === 'channelsFirst' && tiling.vector === 4
      ? (v: string) => `dot(${v}, vec4<f32>(1.0))`
      : (v: string) => v;
  const activated = needsPreActivation(attributes);
  const perStatistic = (name: string) =>
    perComponentSnippet(
      tiling,
      name,
      component => `${name}[tile.n * uniforms.groups + groupOf(tile, ${component})]`,
    );
  const perParam = (name: 'gamma' | 'beta') =>
    perComponentSnippet(tiling, name, component =>
      paramElement(name, attributes[name], 'tile.n', `channelOf(tile, ${component})`),
    );
  const paramSnippets = activated
    ? [perParam('gamma'), perParam('beta'), activationSnippet(attributes.activation, load, true)]
    : [];
  const paramValues = activated
    ? 'let gammaValue = gammaOf(tile);\n let betaValue = betaOf(tile);'
    : '';
  const copySaved = (type: string) => `
    fn writeSaved(at : i32, value : f32) {
      ${type === 'f32' ? 'partials[at] = value;' : 'partials[at / 4][at % 4] = value;'}
    }

    // Copies mean and invStd of the groups that start in the tile's loads.
    fn copySaved(tile : Tile) {
      let base = uniforms.batch * uniforms.splits * ${SUM_FIELDS} * uniforms.channels;
      for (var component = 0; component < ${type === 'f32' ? 1 : 4}; component++) {
        let channel = channelOf(tile, component);
        if (channel % uniforms.channelsPerGroup == 0) {
          let statistic = tile.n * uniforms.groups + groupOf(tile, component);
          writeSaved(base + statistic, mean[statistic]);
          writeSaved(base + uniforms.batch * uniforms.groups + statistic, invStd[statistic]);
        }
      }
    }`;
  const gradient = activated ? 'dy[i] * activationSlope(xhat * gammaValue + betaValue)' : 'dy[i]';
  return tiledProgram(tiling, {
    name: 'InstanceNormGradSums',
    inputs: [
      {name: 'dy', type: load},
      {name: 'x', type: load},
      {name: 'mean', type: 'f32'},
      {name: 'invStd', type: 'f32'},
      ...(activated ? affineInputs(attributes) : []),
    ],
    uniforms: GRAD_SUMS_UNIFORMS,
    snippets: [
      perStatistic('mean'),
      perStatistic('invStd'),
      ...paramSnippets,
      gradSumsSnippet(stat),
      copySaved(stat),
      treeReduceSnippet(tilingReduce(tiling), 'reduceSums', 'GradSums', 'addGradSums'),
    ],
    body: `
        // Run sums (see the moments pass) keep float32 rounding bounded.
        var own = GradSums(${stat}(0.0), ${stat}(0.0), ${stat}(0.0));
        if (tile.valid) {
          let groupMean = meanOf(tile);
          let groupInvStd = invStdOf(tile);
          ${paramValues}
          var i = tile.first;
          for (var runStart = 0; runStart < tile.visits; runStart += SUM_RUN) {
            let visits = min(SUM_RUN, tile.visits - runStart);
            var sumDy = ${load}(0.0);
            var sumDyXhat = ${load}(0.0);
            var sumXhat = ${load}(0.0);
            for (var k = 0; k < visits; k++) {
              let xhat = (x[i] - groupMean) * groupInvStd;
              let gradient = ${gradient};
              sumDy += gradient;
              sumDyXhat += gradient * xhat;
              sumXhat += xhat;
              i += tile.stride;
            }
            own = addGradSums(own, GradSums(${collapse('sumDy')}, ${collapse('sumDyXhat')},
                ${collapse('sumXhat')}));
          }
        }
        let total = reduceSums(lane, tile.slot, tile.memberIndex, own);
        if (tile.valid && tile.memberIndex == 0) {
          partials[partialIndex(tile, tile.split, 0, ${SUM_FIELDS})] = total.dy;
          partials[partialIndex(tile, tile.split, 1, ${SUM_FIELDS})] = total.dyXhat;
          partials[partialIndex(tile, tile.split, 2, ${SUM_FIELDS})] = total.xhat;
          if (tile.split == 0) {
            copySaved(tile);
          }
        }
    `,
  });
}
