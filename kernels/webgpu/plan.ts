/**
 * Planning of the WebGPU kernels: numbers only, no shader text.
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
 * channel c is in group floor(c / groupChannels).
 */
import {env} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import type {DataFormat} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';

/** Lanes per workgroup of the reduction and fold passes on a GPU. */
export const WORKGROUP_SIZE = 64;
/** Lanes per workgroup of the elementwise passes. */
export const ELEMENTWISE_WORKGROUP_SIZE = 256;
/** dispatchWorkgroups' per-dimension limit guaranteed by WebGPU. */
const MAX_DISPATCH = 65535;
/** A lane of the reduction visits at least this many loads per chunk. */
const MIN_VISITS_PER_LANE = 8;

/** The shape seen by every program. */
export interface Geometry {
  format: DataFormat;
  batch: number;
  spatial: number;
  channels: number;
  groups: number;
  /** Channels per group: C / groups. */
  groupChannels: number;
}

export function geometryOf(
  shape: readonly number[],
  format: DataFormat,
  groups?: number,
): Geometry {
  const {batch, spatial, channels} = instanceNormLayout(shape, format);
  const groupCount = groups ?? channels;
  return {
    format,
    batch,
    spatial,
    channels,
    groups: groupCount,
    groupChannels: channels / groupCount,
  };
}

/** How many workgroups the passes use on an adapter. */
export interface WorkgroupBudget {
  /** Work items ((channel tile or row tile) x instance x chunk) wanted in the reduction. */
  target: number;
  /** Most workgroups of any pass; beyond it a workgroup loops. */
  max: number;
  /** Most lanes sharing a slot of the reduction (the depth of its barrier tree). */
  maxMembers: number;
  /** Lanes of a fold workgroup. */
  foldLanes: number;
  /** Lanes of a one-pass forward workgroup; 0 never takes the one-pass forward. */
  onePassLanes: number;
  /** Widest channelsLast row (C) the one-pass forward takes (see ONE_PASS_MAX_ROW). */
  onePassMaxRow: number;
  /**
   * Split S only into chunks that give each lane MIN_VISITS_PER_LANE loads;
   * false splits as far as the target asks (the tests' stress mode).
   */
  economicSplits: boolean;
}

/**
 * Widest channelsLast row (C) the one-pass forward takes when its lanes load
 * more than one element each: they then read the group's channels at a stride
 * of C floats, and past 32 floats (128 bytes) those reads stop sharing cache
 * lines. On an H200 in Chrome the one-pass forward of 2x64x64x320 (16 loads a
 * lane) took 0.31 ms of kernel time, the three passes 0.14; 16x16x16x128 (one
 * load a lane) took 0.063 in one pass and 0.11 in three.
 */
export const ONE_PASS_MAX_ROW = 32;

/**
 * A GPU: 4096 items fill a 132-SM card (32 workgroups of 64 lanes per SM)
 * with room to spare for smaller ones; no pass is capped.
 */
export const GPU_BUDGET: WorkgroupBudget = {
  target: 4096,
  max: Infinity,
  maxMembers: WORKGROUP_SIZE,
  foldLanes: WORKGROUP_SIZE,
  onePassLanes: 256,
  onePassMaxRow: ONE_PASS_MAX_ROW,
  economicSplits: true,
};

/**
 * A CPU-emulated adapter (SwiftShader, a fallback adapter) runs a workgroup
 * on one thread and its barriers as coroutines: measured on 2 cores, 4
 * workgroups per core each looping over many items, and one lane per slot
 * (no barrier tree), were fastest.
 */
const CPU_WORKGROUPS_PER_CORE = 4;

/**
 * tfjs flag overriding the reduction's workgroup budget (0: by adapter). A
 * value sets target = max and splits S as far as that target asks: the tests
 * use it to stress the split path and the item loop on any adapter.
 */
export const TARGET_WORKGROUPS_FLAG = 'INSTANCE_NORM_WEBGPU_TARGET_WORKGROUPS';
env().registerFlag(TARGET_WORKGROUPS_FLAG, () => 0);

/** What the backend says of its adapter (tfjs' AdapterInfo and the device's). */
export interface AdapterFacts {
  vendor?: string;
  architecture?: string;
  isFallbackAdapter?: boolean;
}

export function adapterFacts(backend: WebGPUBackend): AdapterFacts {
  const fromBackend = backend.adapterInfo as unknown as AdapterFacts | undefined;
  const fromDevice = (backend.device as Partial<GPUDevice>).adapterInfo;
  return {
    vendor: fromBackend?.vendor ?? fromDevice?.vendor,
    architecture: fromBackend?.architecture ?? fromDevice?.architecture,
    isFallbackAdapter: fromDevice?.isFallbackAdapter,
  };
}

export function isCpuEmulated(facts: AdapterFacts): boolean {
  return facts.isFallbackAdapter === true || facts.architecture === 'swiftshader';
}

/** The budget for an adapter; `cores` matters for a CPU-emulated one. */
export function budgetFor(facts: AdapterFacts, cores: number): WorkgroupBudget {
  if (!isCpuEmulated(facts)) return GPU_BUDGET;
  const workgroups = CPU_WORKGROUPS_PER_CORE * cores;
  return {
    target: workgroups,
    max: workgroups,
    maxMembers: 1,
    foldLanes: 1,
    onePassLanes: 1,
    // A CPU reads a strided row from its caches: no limit.
    onePassMaxRow: Infinity,
    economicSplits: true,
  };
}

/** The budget of the backend's adapter, or the one the tests force. */
export function workgroupBudget(backend: WebGPUBackend): WorkgroupBudget {
  const forced = env().getNumber(TARGET_WORKGROUPS_FLAG);
  if (forced > 0) {
    return {
      target: forced,
      max: forced,
      maxMembers: WORKGROUP_SIZE,
      foldLanes: WORKGROUP_SIZE,
      onePassLanes: 0,
      onePassMaxRow: 0,
      economicSplits: false,
    };
  }
  const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2;
  return budgetFor(adapterFacts(backend), cores);
}

/** A dispatch of `workgroups` workgroups, 2-D past the per-dimension limit. */
export function dispatchOf(workgroups: number): [number, number, number] {
  return workgroups <= MAX_DISPATCH
    ? [workgroups, 1, 1]
    : [MAX_DISPATCH, Math.ceil(workgroups / MAX_DISPATCH), 1];
}

/** Components per load along the contiguous axis: 4 (vec4) or 1. */
export function vectorWidth(geometry: Geometry): 1 | 4 {
  const contiguous = geometry.format === 'channelsLast' ? geometry.channels : geometry.spatial;
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
  geometry: Geometry;
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

export function planTiling(geometry: Geometry, budget: WorkgroupBudget = GPU_BUDGET): Tiling {
  const {format, batch, spatial, channels} = geometry;
  const vector = vectorWidth(geometry);
  let slots: number;
  let members: number;
  let tiles: number;
  let outer: number;
  let units: number; // length of S in loads
  if (format === 'channelsLast') {
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
    chunk: format === 'channelsLast' ? chunkUnits : chunkUnits * vector,
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

export function planElementwise(geometry: Geometry, budget: WorkgroupBudget): ElementwisePlan {
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
export function planOnePass(geometry: Geometry, budget: WorkgroupBudget): OnePassPlan | null {
  const extent = geometry.spatial * geometry.groupChannels;
  const sparse =
    geometry.format === 'channelsLast' &&
    geometry.channels > budget.onePassMaxRow &&
    extent > budget.onePassLanes;
  if (budget.onePassLanes === 0 || extent > ONE_PASS_MAX_EXTENT || sparse) return null;
  const items = geometry.batch * geometry.groups;
  return {lanes: budget.onePassLanes, dispatch: dispatchOf(Math.min(items, budget.max))};
}
