import {blockMomentsSnippet, momentsSnippet} from './moments_snippet';
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
      blockMomentsSnippet(load, mergeComponents),
      treeReduceSnippet(tilingReduce(tiling), 'reduceMoments', 'Moments', 'mergeMoments'),
    ],
    body: `
        // Plain float32 sums over blocks of MOMENT_BLOCK loads, folded in
        // with Chan's formula: a lane may visit a whole chunk without its
        // rounding or range growing.
        var own = Moments(0.0, ${stat}(0.0), ${stat}(0.0));
        if (tile.valid) {
          let pivot = pivotOf(tile);
          var i = tile.first;
          for (var block = 0; block < tile.visits; block += MOMENT_BLOCK) {
            let visits = min(MOMENT_BLOCK, tile.visits - block);
            var sum = ${load}(0.0);
            var squares = ${load}(0.0);
            for (var k = 0; k < visits; k++) {
              let shifted = x[i] - pivot;
              sum += shifted;
              squares += shifted * shifted;
              i += tile.stride;
            }
            own = mergeMoments(own, blockMoments(f32(visits), sum, squares));
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
