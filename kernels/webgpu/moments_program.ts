import {runMomentsSnippet, momentsSnippet} from './moments_snippet';
import type {Tiling} from './plan';
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
 */
export function momentsProgram(tiling: Tiling): ComputeProgram {
  const stat = statType(tiling);
  const load = loadType(tiling);
  const mergeComponents = tiling.geometry.dataFormat === 'channelsFirst' && tiling.vector === 4;
  return tiledProgram(tiling, {
    name: 'InstanceNormMoments',
    inputs: [{name: 'x', type: load}],
    snippets: [
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
        if (tile.valid && tile.memberIndex == 0) {
          partials[partialIndex(tile, tile.split, 0, ${MOMENT_FIELDS})] = total.mean;
          partials[partialIndex(tile, tile.split, 1, ${MOMENT_FIELDS})] = total.variance;
        }
    `,
  });
}
