/**
 * Planning of the WebGPU kernels: numbers only, no shader text (the
 * workgroup budget per adapter is in budget.ts).
 *
 * Both kernels run two dispatches on a GPU (one, see planOnePass and
 * planOnePassGrad, when each group is small; three, see planFused, for an
 * instance norm whose fused pass would starve the reduction):
 * 1. a reduction over x (and dy) into per-(n, chunk of S, c) partials,
 *    tiled over workgroups as described by {@link Tiling};
 * 2. a fused pass ({@link FusedPlan}): every workgroup folds the partials of
 *    the groups it touches, in the same order as every other workgroup, then
 *    writes its part of y or dx; designated workgroups write the saved
 *    statistics or the parameter gradients.
 * Where the budget says so (a CPU-emulated adapter, see budget.ts) the
 * second pass is split in two: a fold, one workgroup per group, that writes
 * the saved statistics or parameter gradients plus per-(n, c) coefficients,
 * and an elementwise pass over x with those coefficients.
 *
 * x is seen as `[N, S, C]` (channelsLast) or `[N, C, S]` (channelsFirst);
 * channel c is in group floor(c / channelsPerGroup) (src/geometry.ts).
 */
import type {NormGeometry} from '../../src/geometry';
import {GPU_BUDGET, WORKGROUP_SIZE, WorkgroupBudget} from './budget';

/** Lanes per workgroup of the elementwise passes (the three-pass path). */
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
 *
 * With group partials (see {@link PartialLayout}) a channelsLast tile holds
 * whole groups (its channels a multiple of channelsPerGroup), and a
 * channelsFirst tiling reads x as `[N, groups, S * channelsPerGroup]`: its
 * `geometry` is then that view, whose rows are the (n, group) extents.
 */
export interface Tiling {
  /** x as the reduction reads it (the view of the groups' rows, see above). */
  geometry: NormGeometry;
  partials: PartialLayout;
  vector: 1 | 4;
  workgroupSize: number;
  slots: number;
  members: number;
  /** Workgroups across channels (channelsLast) or rows (channelsFirst). */
  tiles: number;
  splits: number;
  /** Pixels per chunk (the last one may be shorter); elements of an extent in the groups' rows view. */
  chunk: number;
  items: number;
  itemsPerWorkgroup: number;
  dispatch: [number, number, number];
}

/**
 * What the partials of a reduction hold per (n, chunk): one column per
 * channel, or, with `perGroup` 1, one per group (its channels merged in the
 * reduction, so that a fold reads channelsPerGroup times fewer). Per column
 * a chunk counts `chunk` elements of x (the last one what is left of
 * `extent`). These are uniforms of every pass that reads partials.
 */
export interface PartialLayout {
  /** Columns: C, or the groups. */
  partialColumns: number;
  /** Columns per group: channelsPerGroup, or 1. */
  partialsPerGroup: number;
  /** Elements of x a column's chunk sums. */
  partialChunk: number;
  /** Elements of x a column sums over all chunks. */
  partialExtent: number;
}

/**
 * Whether the reduction can write group partials: a group's channels fit
 * a channelsLast tile (see groupSlots), or the layout is channelsFirst,
 * where an (n, group)'s extent is contiguous.
 */
export function canMergeGroups(geometry: NormGeometry): boolean {
  if (geometry.channelsPerGroup === 1) return false;
  return geometry.dataFormat === 'channelsFirst' || groupSlots(geometry) > 0;
}

/**
 * Slots (loads across C) of a channelsLast tile that holds whole groups:
 * the whole line where it fits a workgroup, else the largest multiple of the
 * loads that end on a group boundary; 0 where none fits.
 */
function groupSlots(geometry: NormGeometry): number {
  const vector = vectorWidth(geometry);
  const lineLoads = geometry.channels / vector;
  if (lineLoads <= WORKGROUP_SIZE) return lineLoads;
  const step = geometry.channelsPerGroup / greatestCommonDivisor(geometry.channelsPerGroup, vector);
  return Math.floor(WORKGROUP_SIZE / step) * step;
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/** Whether a tiling's reduction merges a tile's channels into group partials (channelsLast). */
export function mergesGroups(tiling: Tiling): boolean {
  return tiling.geometry.channelsPerGroup > 1 && tiling.partials.partialsPerGroup === 1;
}

/** The `[N, groups, S * channelsPerGroup]` view of channelsFirst x: a row per (n, group). */
function groupRows(geometry: NormGeometry): NormGeometry {
  return {
    ...geometry,
    channels: geometry.groups,
    spatial: geometry.groupSize,
    channelsPerGroup: 1,
  };
}

/**
 * Lanes of a channelsLast reduction workgroup whose splits the fused pass
 * caps (planFused): where its tile already spans the 64 lanes of
 * WORKGROUP_SIZE, more members per slot put more loads in flight, which
 * the few work items of a capped split count need (bench rows 2x64x64x320
 * with 8 or 32 groups, GPU).
 */
export const CAPPED_REDUCTION_LANES = 256;

/**
 * The reduction's tiling; `groupPartials` asks for partials per group
 * (callers check canMergeGroups first); a channelsLast tile has up to
 * `lanes` lanes (channelsFirst keeps WORKGROUP_SIZE).
 */
export function planTiling(
  geometry: NormGeometry,
  budget: WorkgroupBudget = GPU_BUDGET,
  splitCap = Infinity,
  groupPartials = false,
  lanes = WORKGROUP_SIZE,
): Tiling {
  if (groupPartials && !canMergeGroups(geometry)) {
    throw new Error(`planTiling: no group partials for ${JSON.stringify(geometry)}`);
  }
  if (groupPartials && geometry.dataFormat === 'channelsFirst') {
    // The view's columns are the groups, its chunks elements of an extent.
    return planTiling(groupRows(geometry), budget, splitCap);
  }
  const {dataFormat, batch, spatial, channels} = geometry;
  const vector = vectorWidth(geometry);
  let slots: number;
  let members: number;
  let tiles: number;
  let outer: number;
  let units: number; // length of S in loads
  if (dataFormat === 'channelsLast') {
    const vectorChannels = channels / vector;
    slots = groupPartials ? groupSlots(geometry) : Math.min(vectorChannels, WORKGROUP_SIZE);
    members = Math.min(Math.floor(lanes / slots), budget.maxMembers);
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
  const chunkUnits = Math.ceil(units / Math.min(wanted, maxSplits, splitCap));
  const splits = Math.ceil(units / chunkUnits);
  const items = tiles * outer * splits;
  const itemsPerWorkgroup = Math.ceil(items / Math.min(items, budget.max));
  const chunk = dataFormat === 'channelsLast' ? chunkUnits : chunkUnits * vector;
  const perGroup = groupPartials ? geometry.channelsPerGroup : 1;
  return {
    geometry,
    partials: {
      partialColumns: groupPartials ? geometry.groups : channels,
      partialsPerGroup: groupPartials ? 1 : geometry.channelsPerGroup,
      partialChunk: chunk * perGroup,
      partialExtent: spatial * perGroup,
    },
    vector,
    workgroupSize: slots * members,
    slots,
    members,
    tiles,
    splits,
    chunk,
    items,
    itemsPerWorkgroup,
    dispatch: dispatchOf(Math.ceil(items / itemsPerWorkgroup)),
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

/** Lanes per workgroup of the fused pass. */
export const FUSED_WORKGROUP_SIZE = 256;
/**
 * Most loads across C per channelsLast tile of the fused pass: bounds the
 * per-channel rows it keeps in workgroup memory (7 rows of 64 vec4 for the
 * gradient: 7 KiB).
 */
export const FUSED_TILE_LOADS = 64;
/**
 * Every workgroup of the fused pass folds the partials of the groups it
 * touches: S is cut into few enough chunks that this fold reads at most
 * 1 / FOLD_SHARE as many values as the workgroup's part of x.
 */
const FOLD_SHARE = 8;
/** Loads a lane of the fused pass gets per item at least (where S allows). */
const MIN_FUSED_LOADS = 4;
/**
 * The fused pass is taken only while the fold share cuts the reduction's
 * splits by at most this factor; past it, the reduction has too few work
 * items to hide its loads and the three passes are faster (bench rows
 * 2x64x64x320 and 4x512x512x32, GPU). A group norm whose partials are per
 * channel keeps the fused pass however far S is cut: its three-pass fold
 * would merge channelsPerGroup columns per chunk (the gradient's).
 */
const MAX_SPLIT_CUT = 4;

/**
 * Whether a group norm whose partials are per channel (the gradient's) takes
 * the fused pass; else the three passes, S split into at most FOLD_ENTRIES /
 * channelsPerGroup chunks.
 */
const PER_CHANNEL_GROUPS_FUSED = true;

/**
 * Most (chunk, channel) entries of a group per instance that the three-pass
 * fold of per-channel group partials merges (its workgroup loops over them,
 * and over the instances).
 */
const FOLD_ENTRIES = 512;

/**
 * The tiling of S cut into at most `splitCap` chunks; where that cuts a
 * channelsLast reduction (fewer splits than `uncapped`) on a GPU, with
 * CAPPED_REDUCTION_LANES a workgroup where that puts more lanes to work.
 */
function cappedTiling(
  geometry: NormGeometry,
  budget: WorkgroupBudget,
  splitCap: number,
  groupPartials: boolean,
  uncapped: Tiling,
): Tiling {
  const capped = planTiling(geometry, budget, splitCap, groupPartials);
  if (
    geometry.dataFormat !== 'channelsLast' ||
    capped.splits >= uncapped.splits ||
    budget.maxMembers === 1
  ) {
    return capped;
  }
  const wide = planTiling(geometry, budget, splitCap, groupPartials, CAPPED_REDUCTION_LANES);
  return wide.items * wide.workgroupSize > capped.items * capped.workgroupSize ? wide : capped;
}

/**
 * The fused pass after the reduction `tiling`. A work item is one of
 * `segments` stretches of S of (n, part), where a part is
 * - channelsLast: a tile of at most `tileLoads` loads across C; its items
 *   are `segment` pixels over the tile's channels;
 * - channelsFirst: a group; its items are `segment` contiguous loads of the
 *   (n, group)'s extent.
 * Each folds the partials of every group its channels touch, `foldSlots`
 * groups side by side with `foldMembers` lanes each.
 */
export interface FusedPlan {
  /**
   * Whether the second pass is the fused one; false: the fold and
   * elementwise passes, after `tiling` (S then split as the reduction alone
   * would).
   */
  fused: boolean;
  tiling: Tiling;
  vector: 1 | 4;
  lanes: number;
  tileLoads: number;
  /** channelsLast tiles across C (1 in channelsFirst). */
  tiles: number;
  segments: number;
  /** Pixels (channelsLast) or loads (channelsFirst) per item. */
  segment: number;
  splits: number;
  foldSlots: number;
  foldMembers: number;
  items: number;
  itemsPerWorkgroup: number;
  dispatch: [number, number, number];
}

/**
 * The reduction and fused pass of a kernel whose partials hold `fields`
 * values per (n, chunk, column), a column per channel or, with
 * `groupPartials`, per group. With economic splits S is cut into at most
 * sqrt(S * width / (FOLD_SHARE * fields * span)) chunks, where `width` is
 * the channels an item writes and `span` the partial columns of the groups
 * it folds, and a part into at most as many items: an item's fold then reads
 * fields * splits * span partials against at least (S / splits) * width
 * loads of x. Items get at least MIN_FUSED_LOADS loads a lane. Where that cap
 * would cut the reduction more than MAX_SPLIT_CUT times (but for per-channel
 * partials of a group norm), or the budget never fuses, the plan is not
 * `fused`: the tiling is then the reduction's own, for the fold and
 * elementwise passes.
 */
export function planFused(
  geometry: NormGeometry,
  budget: WorkgroupBudget,
  fields: number,
  groupPartials = false,
): FusedPlan {
  const {dataFormat, batch, spatial, channels, groups, channelsPerGroup} = geometry;
  const vector = vectorWidth(geometry);
  const channelsLast = dataFormat === 'channelsLast';
  const lanes = FUSED_WORKGROUP_SIZE;
  const lineLoads = channels / vector;
  const tiles = channelsLast ? Math.ceil(lineLoads / FUSED_TILE_LOADS) : 1;
  const tileLoads = channelsLast ? Math.ceil(lineLoads / tiles) : 0;
  const width = channelsLast ? tileLoads * vector : channelsPerGroup;
  const spanChannels = channelsLast
    ? Math.min(channels, width + 2 * (channelsPerGroup - 1))
    : width;
  const span = groupPartials ? Math.ceil(spanChannels / channelsPerGroup) : spanChannels;
  const splitCap =
    budget.economicSplits && budget.fusedPass
      ? Math.max(1, Math.floor(Math.sqrt((spatial * width) / (FOLD_SHARE * fields * span))))
      : Infinity;
  const uncapped = planTiling(geometry, budget, Infinity, groupPartials);
  const capped = cappedTiling(geometry, budget, splitCap, groupPartials, uncapped);
  const perChannelGroups = channelsPerGroup > 1 && !groupPartials;
  const fused =
    budget.fusedPass &&
    (perChannelGroups
      ? PER_CHANNEL_GROUPS_FUSED
      : capped.splits * MAX_SPLIT_CUT >= uncapped.splits);
  // The three-pass fold of per-channel group partials merges splits *
  // channelsPerGroup entries per instance in one workgroup per group.
  const foldCap = Math.max(1, Math.floor(FOLD_ENTRIES / channelsPerGroup));
  const tiling = fused
    ? capped
    : perChannelGroups
      ? cappedTiling(geometry, budget, foldCap, false, uncapped)
      : uncapped;
  const {splits} = tiling;
  // Loads of x per part along S, and per pixel (channelsLast).
  const partLoads = channelsLast ? spatial * tileLoads : (channelsPerGroup * spatial) / vector;
  const wanted = Math.min(splits, Math.max(1, Math.floor(partLoads / (lanes * MIN_FUSED_LOADS))));
  const stretch = channelsLast ? spatial : partLoads;
  const segment = Math.ceil(stretch / wanted);
  const segments = Math.ceil(stretch / segment);
  const items = batch * segments * (channelsLast ? tiles : groups);
  const itemsPerWorkgroup = Math.ceil(items / Math.min(items, budget.max));
  const foldMembers = Math.min(
    budget.maxMembers,
    lanes,
    2 ** Math.ceil(Math.log2(splits * tiling.partials.partialsPerGroup)),
  );
  return {
    fused,
    tiling,
    vector,
    lanes,
    tileLoads,
    tiles,
    segments,
    segment,
    splits,
    foldSlots: lanes / foldMembers,
    foldMembers,
    items,
    itemsPerWorkgroup,
    dispatch: dispatchOf(Math.ceil(items / itemsPerWorkgroup)),
  };
}

/**
 * Largest (n, group) extent the forward takes in one dispatch: a workgroup
 * then reads at most this many elements twice (the second time from cache),
 * which costs less than the two dispatches it saves (bench rows 1x32x32x8
 * and 16x16x16x128, GPU).
 */
export const ONE_PASS_MAX_EXTENT = 4096;

/** The one-pass forward: a workgroup per (n, group). */
export interface OnePassPlan {
  lanes: number;
  dispatch: [number, number, number];
}

/**
 * The one-pass plan, or null when the extent is too large, its channelsLast
 * reads too sparse, or the budget forbids it. With one group (layer norm's
 * `[R, D]` rows) an (n, group)'s extent is contiguous in channelsLast too:
 * never sparse.
 */
export function planOnePass(geometry: NormGeometry, budget: WorkgroupBudget): OnePassPlan | null {
  const extent = geometry.spatial * geometry.channelsPerGroup;
  const sparse =
    geometry.dataFormat === 'channelsLast' &&
    geometry.groups > 1 &&
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
 * 128 elements per sweep (bench rows 1x32x32x8 and 16x16x16x128, GPU).
 */
export const ONE_PASS_GRAD_MAX_ELEMENTS = 32768;

/**
 * Most elements of one group over all its instances that the one-pass
 * gradient takes when its channelsLast reads are sparse, i.e. there are at
 * least SPARSE_GROUPS groups: a lane's load then uses at most 1/32 of a
 * 128-byte line, and the pass has only one workgroup per group to spread
 * those loads over the GPU. Bench rows 8x64x64x32 (32768 elements a group:
 * the reduction and fused pass) and 16x16x16x128 (4096: one pass) show it.
 */
export const ONE_PASS_GRAD_MAX_SPARSE = 8192;

/** Groups from which a channelsLast one-pass gradient's reads are sparse. */
const SPARSE_GROUPS = 32;

/** WebGPU's default maxStorageBuffersPerShaderStage (tfjs asks for no more). */
export const MAX_STORAGE_BUFFERS = 8;

/**
 * The one-pass gradient: a workgroup per group (dgamma and dbeta of its
 * channels summed over the instances in order, inside the workgroup), or null
 * where the forward would not take one pass, the group over all instances is
 * too large (ONE_PASS_GRAD_MAX_ELEMENTS, or ONE_PASS_GRAD_MAX_SPARSE where
 * its reads are sparse), it has more channels than lanes, or its `storageBuffers` (3
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
    (geometry.dataFormat === 'channelsLast' &&
      geometry.groups >= SPARSE_GROUPS &&
      geometry.batch * geometry.groupSize > ONE_PASS_GRAD_MAX_SPARSE) ||
    geometry.channelsPerGroup > forward.lanes
  ) {
    return null;
  }
  return {lanes: forward.lanes, dispatch: dispatchOf(Math.min(geometry.groups, budget.max))};
}
