/**
 * WGSL of the reduction passes' tiling (planned in plan.ts): the `Tile` a
 * lane works on, the index math into x, the `[N, groups]` statistics and the
 * partials `[N, splits, fields, C]`, and the main loop over work items.
 */
import type {DataFormat} from '../../src/kernel_names';
import type {Tiling} from './plan';
import type {ReduceLayout} from './reduce_snippet';

/** WGSL type of one load of x along the contiguous axis. */
export function loadType(tiling: Tiling): string {
  return tiling.vector === 4 ? 'vec4<f32>' : 'f32';
}

/** WGSL type of a lane's per-channel statistic: a vector of channels in channelsLast. */
export function statType(tiling: Tiling): string {
  return tiling.geometry.dataFormat === 'channelsLast' ? loadType(tiling) : 'f32';
}

/** How the lanes of a tiled workgroup are reduced: the members of each slot. */
export function tilingReduce(tiling: Tiling): ReduceLayout {
  const channelsLast = tiling.geometry.dataFormat === 'channelsLast';
  return {
    workgroupSize: tiling.workgroupSize,
    members: tiling.members,
    memberStride: channelsLast ? tiling.slots : 1,
    slotStride: channelsLast ? 1 : tiling.members,
  };
}

/**
 * The Tile: a lane visits `visits` loads of x: `first`, `first + stride`, ...;
 * `channel` counts loads across C in channelsLast (channel vectors), `row`
 * is its (n, c) row in channelsFirst; the partials of its chunk go to
 * `partialIndex`. `groupStart(n, group)` is the flat index of the first
 * element of an (n, group), whose value is the pivot of its sums.
 */
export function tileSnippet(tiling: Tiling): string {
  const {slots, members, vector} = tiling;
  const channelsLast = tiling.geometry.dataFormat === 'channelsLast';
  const placement = channelsLast
    ? `
      tile.slot = lane % SLOTS;
      tile.memberIndex = lane / SLOTS;
      let rest = item / uniforms.tiles;
      tile.split = rest % uniforms.splits;
      tile.n = rest / uniforms.splits;
      tile.channel = (item % uniforms.tiles) * SLOTS + tile.slot;
      let lineLoads = uniforms.channels / VECTOR;
      tile.valid = tile.channel < lineLoads && item < uniforms.items;
      let begin = tile.split * uniforms.chunk + tile.memberIndex;
      let end = min(uniforms.spatial, (tile.split + 1) * uniforms.chunk);
      tile.first = (tile.n * uniforms.spatial + begin) * lineLoads + tile.channel;
      tile.stride = MEMBERS * lineLoads;
      tile.partialColumn = tile.channel;
      tile.partialWidth = lineLoads;`
    : `
      tile.slot = lane / MEMBERS;
      tile.memberIndex = lane % MEMBERS;
      tile.split = item % uniforms.splits;
      let row = (item / uniforms.splits) * SLOTS + tile.slot;
      tile.valid = row < uniforms.batch * uniforms.channels && item < uniforms.items;
      tile.n = row / uniforms.channels;
      tile.channel = row % uniforms.channels;
      let rowLoads = uniforms.spatial / VECTOR;
      let chunkLoads = uniforms.chunk / VECTOR;
      let begin = tile.split * chunkLoads + tile.memberIndex;
      let end = min(rowLoads, (tile.split + 1) * chunkLoads);
      tile.first = row * rowLoads + begin;
      tile.stride = MEMBERS;
      tile.partialColumn = tile.channel;
      tile.partialWidth = uniforms.channels;`;
  return `
    const SLOTS = ${slots};
    const MEMBERS = ${members};
    const VECTOR = ${vector};
    // Loads a lane sums in plain float32 before folding them into its total:
    // short for moments (squares of large values), longer for the gradient.
    const MOMENT_RUN = 16;
    const SUM_RUN = 256;

    struct Tile {
      valid : bool,
      slot : i32,
      memberIndex : i32,
      n : i32,
      split : i32,
      channel : i32,
      first : i32,
      stride : i32,
      visits : i32,
      partialColumn : i32,
      partialWidth : i32,
    };

    fn tileOf(lane : i32, item : i32) -> Tile {
      var tile : Tile;
      ${placement}
      tile.visits = select(0, (end - begin + MEMBERS - 1) / MEMBERS, tile.valid && begin < end);
      return tile;
    }

    fn partialIndex(tile : Tile, split : i32, field : i32, fieldCount : i32) -> i32 {
      return ((tile.n * uniforms.splits + split) * fieldCount + field) * tile.partialWidth +
          tile.partialColumn;
    }

    ${groupStartSnippet(tiling.geometry.dataFormat)}

    // Element \`at\` of x, a flat index.
    fn xElement(at : i32) -> f32 {
      return ${vector === 4 ? 'x[at / 4][at % 4]' : 'x[at]'};
    }

    // The channel and the group of component \`component\` of the tile's loads.
    fn channelOf(tile : Tile, component : i32) -> i32 {
      return ${channelsLast ? 'tile.channel * VECTOR + component' : 'tile.channel'};
    }

    fn groupOf(tile : Tile, component : i32) -> i32 {
      return channelOf(tile, component) / uniforms.channelsPerGroup;
    }
  `;
}

/** `fn groupStart(n, group)`: the flat index of the first element of (n, group). */
export function groupStartSnippet(format: DataFormat): string {
  const start =
    format === 'channelsLast'
      ? 'n * uniforms.spatial * uniforms.channels + group * uniforms.channelsPerGroup'
      : '(n * uniforms.channels + group * uniforms.channelsPerGroup) * uniforms.spatial';
  return `fn groupStart(n : i32, group : i32) -> i32 { return ${start}; }`;
}

/**
 * `fn <name>Of(tile) -> statType`: per component of the tile's loads,
 * `value(component)`, where `component` is the WGSL name of the component's
 * index (0 for a scalar statistic); `channelOf(tile, component)` and
 * `groupOf(tile, component)` name its channel and group.
 */
export function perComponentSnippet(
  tiling: Tiling,
  name: string,
  value: (component: string) => string,
): string {
  const type = statType(tiling);
  const body =
    type === 'f32'
      ? `let component = 0;
      return ${value('component')};`
      : `var result : vec4<f32>;
      for (var component = 0; component < 4; component++) {
        result[component] = ${value('component')};
      }
      return result;`;
  return `
    fn ${name}Of(tile : Tile) -> ${type} {
      ${body}
    }
  `;
}

/**
 * The main function of a tiled pass: `body` runs once per work item of the
 * workgroup with `lane` and the item's `tile` in scope. The loop bound is a
 * uniform, so barriers in `body` stay in uniform control flow.
 */
export function mainOverItems(body: string): string {
  return `
    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      for (var step = 0; step < uniforms.itemsPerWorkgroup; step++) {
        let tile = tileOf(lane, workgroup * uniforms.itemsPerWorkgroup + step);
        ${body}
      }
    }
  `;
}
