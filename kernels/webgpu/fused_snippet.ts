/**
 * WGSL of the fused passes (planned by planFused): the work items, the fold
 * of the partials of the groups an item touches (the same fold, lane for
 * lane, in every workgroup that touches a group, so all of them get bitwise
 * the same statistics), and the loop over an item's loads of x.
 */
import type {NormGeometry} from '../../src/geometry';
import type {FusedPlan} from './plan';
import {partialsSnippet} from './program_kinds';
import {treeReduceSnippet} from './reduce_snippet';
import {groupStartSnippet} from './tile_snippet';

/** WGSL type of one load of x. */
export function fusedLoadType(plan: FusedPlan): string {
  return plan.vector === 4 ? 'vec4<f32>' : 'f32';
}

/**
 * WGSL of the entry of channel `local` (counted from the tile's first) in a
 * per-channel row of workgroup memory, an array of loads.
 */
export function rowEntry(plan: FusedPlan, row: string): string {
  return plan.vector === 4 ? `${row}[local / 4][local % 4]` : `${row}[local]`;
}

/**
 * The constants, `struct Item`, `fn itemOf(index)`, the channels
 * `[range.x, range.y)` an item writes (`fn channelRange(item)`) and the tree
 * reduction `fn <reduce>(lane, slot, memberIndex, value)` of the fold.
 * An item is (n, segment, part): `item.part` is the tile of channels
 * (channelsLast) or the group (channelsFirst).
 */
export function fusedItemSnippet(
  geometry: NormGeometry,
  plan: FusedPlan,
  reduce: {name: string; type: string; combine: string},
): string {
  const channelsLast = geometry.dataFormat === 'channelsLast';
  const range = channelsLast
    ? `let first = item.part * TILE_LOADS * VECTOR;
      return vec2<i32>(first, min(uniforms.channels, first + TILE_LOADS * VECTOR));`
    : `let first = item.part * uniforms.channelsPerGroup;
      return vec2<i32>(first, first + uniforms.channelsPerGroup);`;
  return `
    const LANES = ${plan.lanes};
    const SLOTS = ${plan.foldSlots};
    const MEMBERS = ${plan.foldMembers};
    const VECTOR = ${plan.vector};
    const TILE_LOADS = ${Math.max(1, plan.tileLoads)};

    struct Item {
      valid : bool,
      n : i32,
      segment : i32,
      part : i32,
    };

    fn itemOf(index : i32) -> Item {
      let parts = ${channelsLast ? 'uniforms.tiles' : 'uniforms.groups'};
      var item : Item;
      item.valid = index < uniforms.items;
      item.part = index % parts;
      item.segment = (index / parts) % uniforms.segments;
      item.n = index / (parts * uniforms.segments);
      return item;
    }

    fn channelRange(item : Item) -> vec2<i32> {
      ${range}
    }

    ${groupStartSnippet(geometry.dataFormat)}

    ${partialsSnippet()}

    ${treeReduceSnippet(
      {
        workgroupSize: plan.lanes,
        members: plan.foldMembers,
        memberStride: plan.foldSlots,
        slotStride: 1,
      },
      reduce.name,
      reduce.type,
      reduce.combine,
    )}
  `;
}

/**
 * The loop of a fold over the groups an item touches, SLOTS groups side by
 * side: `accumulate` runs per (split, column) entry of the lane's group
 * with `split`, `column` (a channel, or the group where the partials are
 * per group) and `n` in scope and adds to `own`; `total` is
 * then the group's total on every member of its slot, and `finish` runs
 * with `range` (channelRange), `group` (clamped to the real groups),
 * `total`, `memberIndex` and `realGroup` (a real group) in scope. Call it from
 * uniform control flow, with `lane` and `item` in scope.
 */
export function foldGroupsLoop(
  identity: string,
  accumulate: string,
  reduce: string,
  finish: string,
): string {
  return `{
    let range = channelRange(item);
    let firstGroup = range.x / uniforms.channelsPerGroup;
    let groupCount = (range.y - 1) / uniforms.channelsPerGroup + 1 - firstGroup;
    let slot = lane % SLOTS;
    let memberIndex = lane / SLOTS;
    let entries = uniforms.splits * uniforms.partialsPerGroup;
    for (var first = 0; first < groupCount; first += SLOTS) {
      let realGroup = first + slot < groupCount;
      var own = ${identity};
      for (var entry = memberIndex; realGroup && entry < entries; entry += MEMBERS) {
        let split = entry / uniforms.partialsPerGroup;
        let column = (firstGroup + first + slot) * uniforms.partialsPerGroup +
            entry % uniforms.partialsPerGroup;
        ${accumulate}
      }
      let total = ${reduce}(lane, slot, memberIndex, own);
      let group = min(firstGroup + first + slot, uniforms.groups - 1);
      ${finish}
    }
  }`;
}

/**
 * The loop over an item's loads of x: `body` runs for load `i` with `local`
 * (channelsLast: the load's index across the tile; channelsFirst: its
 * channel) in scope.
 */
export function itemLoadsLoop(geometry: NormGeometry, body: string): string {
  return geometry.dataFormat === 'channelsLast'
    ? `
    let lineLoads = uniforms.channels / VECTOR;
    let tileFirst = item.part * TILE_LOADS;
    let width = min(TILE_LOADS, lineLoads - tileFirst);
    let begin = item.segment * uniforms.segment;
    let loads = min(uniforms.segment, uniforms.spatial - begin) * width;
    let base = (item.n * uniforms.spatial + begin) * lineLoads + tileFirst;
    for (var k = lane; k < loads; k += LANES) {
      let local = k % width;
      let i = base + (k / width) * lineLoads + local;
      ${body}
    }`
    : `
    let extentLoads = uniforms.channelsPerGroup * uniforms.spatial / VECTOR;
    let begin = item.segment * uniforms.segment;
    let end = min(extentLoads, begin + uniforms.segment);
    let base = groupStart(item.n, item.part) / VECTOR;
    let firstChannel = item.part * uniforms.channelsPerGroup;
    for (var k = begin + lane; k < end; k += LANES) {
      let i = base + k;
      let local = firstChannel + (k * VECTOR) / uniforms.spatial;
      ${body}
    }`;
}

/**
 * `compute`: per item of the workgroup, `body` with `lane` and `item` in
 * scope, then a barrier (the next item overwrites the workgroup memory).
 */
export function fusedMain(body: string): string {
  return `
    fn compute(lane : i32, workgroup : i32, workgroups : i32) {
      for (var step = 0; step < uniforms.itemsPerWorkgroup; step++) {
        let item = itemOf(workgroup * uniforms.itemsPerWorkgroup + step);
        if (item.valid) {
          ${body}
        }
        workgroupBarrier();
      }
    }
  `;
}
