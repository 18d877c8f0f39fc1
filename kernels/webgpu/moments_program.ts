import {runMomentsSnippet, momentsSnippet} from './moments_snippet';
import {mergesGroups, Tiling} from './plan';
import {tiledProgram} from './program_kinds';
import type {ComputeProgram} from './dispatch';
import {treeReduceSnippet} from './reduce_snippet';
import {loadType, perComponentSnippet, statType, tilingReduce} from './tile_snippet';

/** The partials of the forward hold (mean, variance) of x - pivot per chunk. */
export const MOMENT_FIELDS = 2;

/**
 * Forward pass 1: (mean, variance) of x - pivot for every (n, chunk of S, c),
 * written to the partials `[N, splits, 2, C]`. The pivot is the first element
 * of the channel's (n, group), so the fold can merge a group's channels.
 * With group partials (`[N, splits, 2, groups]`) a channelsLast tile merges
 * its groups' channels before it writes (see groupEpilogue); a channelsFirst
 * tiling reads the groups' rows, whose columns are already the groups.
 */
export function momentsProgram(tiling: Tiling): ComputeProgram {
  const stat = statType(tiling);
  const load = loadType(tiling);
  const mergeComponents = tiling.geometry.dataFormat === 'channelsFirst' && tiling.vector === 4;
  const merged = mergesGroups(tiling);
  const channelWrite = `
        if (tile.valid && tile.memberIndex == 0) {
          partials[partialIndex(tile, tile.split, 0, ${MOMENT_FIELDS})] = total.mean;
          partials[partialIndex(tile, tile.split, 1, ${MOMENT_FIELDS})] = total.variance;
        }`;
  return tiledProgram(tiling, {
    name: 'InstanceNormMoments',
    inputs: [{name: 'x', type: load}],
    partialsType: merged ? 'f32' : undefined,
    snippets: [
      merged
        ? `var<workgroup> channelMeans : array<${stat}, SLOTS>;
          var<workgroup> channelVariances : array<${stat}, SLOTS>;`
        : '',
      perComponentSnippet(
        tiling,
        'pivot',
        component => `xElement(groupStart(tile.n, groupOf(tile, ${component})))`,
      ),
      momentsSnippet(stat),
      runMomentsSnippet(load, mergeComponents),
      treeReduceSnippet(tilingReduce(tiling), 'reduceMoments', 'Moments', 'mergeMoments'),
    ],
    body: `
        // Plain float32 sums over runs of MOMENT_RUN loads, folded in
        // with Chan's formula: a lane may visit a whole chunk without its
        // rounding or range growing.
        var own = Moments(0.0, ${stat}(0.0), ${stat}(0.0));
        if (tile.valid) {
          let pivot = pivotOf(tile);
          var i = tile.first;
          for (var runStart = 0; runStart < tile.visits; runStart += MOMENT_RUN) {
            let visits = min(MOMENT_RUN, tile.visits - runStart);
            var sum = ${load}(0.0);
            var squares = ${load}(0.0);
            for (var k = 0; k < visits; k++) {
              let fromPivot = x[i] - pivot;
              sum += fromPivot;
              squares += fromPivot * fromPivot;
              i += tile.stride;
            }
            own = mergeMoments(own, runMoments(f32(visits), sum, squares));
          }
        }
        let total = reduceMoments(lane, tile.slot, tile.memberIndex, own);
        ${merged ? groupEpilogue(tiling) : channelWrite}
    `,
  });
}

/**
 * The group partials of a channelsLast tile: its channels' moments (one
 * chunk: equal counts) go to workgroup memory; a lane per group then merges
 * its channelsPerGroup of them, mean = the channels' mean and variance = the
 * mean of (variance + (channel mean - mean)^2), Chan's formula for equal
 * counts, and writes the group's column. The tile holds whole groups
 * (planTiling).
 */
function groupEpilogue(tiling: Tiling): string {
  const entry = (row: string) =>
    tiling.vector === 4 ? `${row}[local / 4][local % 4]` : `${row}[local]`;
  return `
        if (tile.memberIndex == 0) {
          channelMeans[tile.slot] = total.mean;
          channelVariances[tile.slot] = total.variance;
        }
        workgroupBarrier();
        let firstChannel = (tile.channel - tile.slot) * VECTOR;
        let tileGroups = min(SLOTS * VECTOR, uniforms.channels - firstChannel) /
            uniforms.channelsPerGroup;
        let firstGroup = firstChannel / uniforms.channelsPerGroup;
        let itemValid = workgroup * uniforms.itemsPerWorkgroup + step < uniforms.items;
        let perGroup = f32(uniforms.channelsPerGroup);
        for (var group = lane; itemValid && group < tileGroups; group += ${tiling.workgroupSize}) {
          let firstLocal = group * uniforms.channelsPerGroup;
          var meanSum = 0.0;
          for (var local = firstLocal; local < firstLocal + uniforms.channelsPerGroup; local++) {
            meanSum += ${entry('channelMeans')};
          }
          let groupMean = meanSum / perGroup;
          var spread = 0.0;
          for (var local = firstLocal; local < firstLocal + uniforms.channelsPerGroup; local++) {
            let offset = ${entry('channelMeans')} - groupMean;
            spread += ${entry('channelVariances')} + offset * offset;
          }
          let at = ((tile.n * uniforms.splits + tile.split) * ${MOMENT_FIELDS}) * uniforms.groups +
              firstGroup + group;
          partials[at] = groupMean;
          partials[at + uniforms.groups] = spread / perGroup;
        }
        // Every lane has read the rows before the next item writes them.
        workgroupBarrier();`;
}
