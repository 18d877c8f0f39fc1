/**
 * Planning of the WebGPU kernels: numbers only, no shader text (the
 * workgroup budget per adapter is in budget.ts).
 *
 * Both kernels run three dispatches (the forward one, see planOnePass, when
 * each (n, group) is small):
 * 1. a reduction over x (and dy) into per-(n, chunk of S, c) partials,
 *    tiled over workgroups as described by {@link Tiling};
 * 2. a fold, one workgroup per group, that merges the partials of each
 *    (n, group) and writes the saved statistics or parameter gradients plus
 *    per-(n, c) coefficients;
 * 3. an elementwise pass over x with those coefficients.
 *
 * x is seen as `[N, S, C]` (channelsLast) or `[N, C, S]` (channelsFirst);
 * channel c is in group floor(c / channelsPerGroup) (src/geometry.ts).
 */
import type {NormGeometry} from '../../src/geometry';
import {GPU_BUDGET, WORKGROUP_SIZE, WorkgroupBudget} from './budget';

/** Lanes per workgroup of the elementwise passes. */
export const ELEMENTWISE_WORKGROUP_SIZE = 256;
/** dispatchWorkgroups' per-dimension limit guaranteed by WebGPU. */
const MAX_DISPATCH = 65535;
/** A lane of the reduction visits at least this many loads per chunk. */
const MIN_VISITS_PER_LANE = 8;

/** A dispatch of `workgroups` workgroups, 2-D past the per-dimension limit. */
export function dispatchOf(workgroups: number): [number, number, number] {
  return workgroups <= MAX_DISPATCH
    ? [workgroups, 1, 1]
    : [MAX_DISPATCH, Math.ceil(workgroups / MAX_DISPATCH), 1];
}

/** Components per load along the contiguous axis: 4 (vec4) or 1. */
export function vectorWidth(geometry: NormGeometry): 1 | 4 {
  const contiguous = geometry.dataFormat === 'channelsLast' ? geometry.channels : geometry.spatial;
  return contiguous % 4 === 0 ? 4 : 1;
}

/**
 * How the reduction pass covers x:
 * - channelsLast: lanes map to channel vectors and stride over pixels; a
 *   workgroup covers `slots` channel vectors times `members` pixel rows.
 * - channelsFirst: the `members` lanes of a slot stride over one (n, c) row;
 *   short rows share a workgroup.
 * S is cut into `splits` chunks so that there are `target` work items; a
 * work item is one (tile, instance, chunk).
 */
export interface Tiling {
  geometry: NormGeometry;
  vector: 1 | 4;
  workgroupSize: number;
  slots: number;
  members: number;
  /** Workgroups across channels (channelsLast) or rows (channelsFirst). */
  tiles: number;
  splits: number;
  /** Pixels per chunk (the last one may be shorter). */
  chunk: number;
  items: number;
  itemsPerGroup: number;
  dispatch: [number, number, number];
}

export function planTiling(geometry: NormGeometry, budget: WorkgroupBudget = GPU_BUDGET): Tiling {
  const {dataFormat, batch, spatial, channels} = geometry;
  const vector = vectorWidth(geometry);
  let slots: number;
  let members: number;
  let tiles: number;
  let outer: number;
  let units: number; // length of S in loads
  if (dataFormat === 'channelsLast') {
    const vectorChannels = channels / vector;
    slots = Math.min(vectorChannels, WORKGROUP_SIZE);
    members = Math.min(Math.floor(WORKGROUP_SIZE / slots), budget.maxMembers);
    tiles = Math.ceil(vectorChannels / slots);
    outer = batch;
    units = spatial;
  } else {
    units = spatial / vector;
    members = WORKGROUP_SIZE;
    const minMembers = Math.min(4, budget.maxMembers);
    while (
      members > minMembers &&
      (members * MIN_VISITS_PER_LANE > units || members > budget.maxMembers)
    ) {
      members /= 2;
    }
    slots = WORKGROUP_SIZE / members;
    tiles = Math.ceil((batch * channels) / slots);
    outer = 1;
  }
  const maxSplits = budget.economicSplits
    ? Math.max(1, Math.floor(units / (members * MIN_VISITS_PER_LANE)))
    : Math.ceil(units / members);
  const wanted = Math.max(1, Math.ceil(budget.target / (tiles * outer)));
  const chunkUnits = Math.ceil(units / Math.min(wanted, maxSplits));
  const splits = Math.ceil(units / chunkUnits);
  const items = tiles * outer * splits;
  const itemsPerGroup = Math.ceil(items / Math.min(items, budget.max));
  return {
    geometry,
    vector,
    workgroupSize: slots * members,
    slots,
    members,
    tiles,
    splits,
    chunk: dataFormat === 'channelsLast' ? chunkUnits : chunkUnits * vector,
    items,
    itemsPerGroup,
    dispatch: dispatchOf(Math.ceil(items / itemsPerGroup)),
  };
}

/** The elementwise pass: `units` loads of x, a grid-stride loop over them. */
export interface ElementwisePlan {
  vector: 1 | 4;
  units: number;
  dispatch: [number, number, number];
}

export function planElementwise(geometry: NormGeometry, budget: WorkgroupBudget): ElementwisePlan {
  const vector = vectorWidth(geometry);
  const units = (geometry.batch * geometry.spatial * geometry.channels) / vector;
  const workgroups = Math.min(Math.ceil(units / ELEMENTWISE_WORKGROUP_SIZE), budget.max);
  return {vector, units, dispatch: dispatchOf(workgroups)};
}

/**
 * Largest (n, group) extent the forward takes in one dispatch: a workgroup
 * then reads at most this many elements twice (the second time from cache),
 * which costs less than the two dispatches it saves (~0.07-0.1 ms each in
 * Node/Dawn on an H200) on every shape where it applies.
 */
export const ONE_PASS_MAX_EXTENT = 4096;

/** The one-pass forward: a workgroup per (n, group). */
export interface OnePassPlan {
  lanes: number;
  dispatch: [number, number, number];
}

/**
 * The one-pass plan, or null when the extent is too large, its channelsLast
 * reads too sparse, or the budget forbids it.
 */
export function planOnePass(geometry: NormGeometry, budget: WorkgroupBudget): OnePassPlan | null {
  const extent = geometry.spatial * geometry.channelsPerGroup;
  const sparse =
    geometry.dataFormat === 'channelsLast' &&
    geometry.channels > budget.onePassMaxRow &&
    extent > budget.onePassLanes;
  if (budget.onePassLanes === 0 || extent > ONE_PASS_MAX_EXTENT || sparse) return null;
  const items = geometry.batch * geometry.groups;
  return {lanes: budget.onePassLanes, dispatch: dispatchOf(Math.min(items, budget.max))};
}

/**
 * Most elements of one group over all its instances that the one-pass
 * gradient takes: a workgroup per group then loops over the instances, which
 * costs less than the two dispatches it saves while each lane visits at most
 * 128 elements per sweep.
 */
export const ONE_PASS_GRAD_MAX_ELEMENTS = 32768;

/** WebGPU's default maxStorageBuffersPerShaderStage (tfjs asks for no more). */
export const MAX_STORAGE_BUFFERS = 8;

/**
 * The one-pass gradient: a workgroup per group (dgamma and dbeta of its
 * channels summed over the instances in order, inside the workgroup), or null
 * where the forward would not take one pass, the group over all instances is
 * too large, it has more channels than lanes, or its `storageBuffers` (3
 * outputs, dy, x, mean, invStd and the parameters it reads) pass
 * MAX_STORAGE_BUFFERS.
 */
export function planOnePassGrad(
  geometry: NormGeometry,
  budget: WorkgroupBudget,
  storageBuffers = 7,
): OnePassPlan | null {
  const forward = planOnePass(geometry, budget);
  if (
    forward == null ||
    storageBuffers > MAX_STORAGE_BUFFERS ||
    geometry.batch * geometry.groupSize > ONE_PASS_GRAD_MAX_ELEMENTS ||
    geometry.channelsPerGroup > forward.lanes
  ) {
    return null;
  }
  return {lanes: forward.lanes, dispatch: dispatchOf(Math.min(geometry.groups, budget.max))};
}
