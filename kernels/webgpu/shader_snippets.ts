/**
 * What the WebGPU programs of both kernels share: how the work is tiled over
 * workgroups (planned here in TypeScript, mirrored by the WGSL `tileOf`), the
 * WGSL snippets for index math, Chan's merge of moments and the
 * shared-memory tree reduction, and the plumbing to run a program.
 *
 * Every program sees x as `[N, S, C]` (channelsLast) or `[N, C, S]`
 * (channelsFirst) and reduces over S for each (n, c):
 * - channelsLast: C is contiguous, so the lanes of a workgroup map to
 *   channels (vec4 of channels when C % 4 == 0) and stride over pixels; a
 *   workgroup covers `slots` channel vectors times `members` pixel rows.
 * - channelsFirst: S is contiguous, so the lanes of a row stride over its
 *   pixels (vec4 of pixels when S % 4 == 0); a workgroup covers `slots`
 *   (n, c) rows with `members` lanes each.
 * The S axis is cut into `splits` chunks when there are too few (n, c) to
 * keep the GPU busy; the partial moments / sums of the chunks are merged by
 * the next program (Chan's merge for moments). A work item is one (tile,
 * instance, chunk); a workgroup takes one item on a GPU, and loops over many
 * on a CPU-emulated adapter, where a slot also gets a single lane so the
 * shaders have no barrier at all (see WorkgroupBudget).
 *
 * Subgroups: not available to a tfjs program, so there is no subgroup path.
 * The webgpu backend of tfjs 4.22 requests its GPUDevice with
 * `requiredFeatures` limited to 'timestamp-query' and 'bgra8unorm-storage'
 * (tfjs-backend-webgpu/dist/base.js): Chromium's SwiftShader adapter reports
 * 'subgroups', the device tfjs gets does not. Even on a device that had it,
 * the `enable subgroups;` directive must precede every declaration, and
 * makeShader (webgpu_program.js) puts its own header first with no hook
 * before it. Every cross-lane reduction here is a workgroup-memory tree.
 */
import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import type {DataFormat} from '../../src/kernel_names';
import type {InstanceNormLayout} from '../../src/layout';

/** Lanes per workgroup of the tiled programs. */
const WORKGROUP_SIZE = 64;
/** Lanes per workgroup of the small per-(n, c) / per-c programs. */
const FLAT_WORKGROUP_SIZE = 64;
/**
 * How many workgroups a reduction pass uses: S is split until there are
 * `target` work items ((n or channel tile) x chunk), and a workgroup loops
 * over several items when there are more than `max`.
 */
export interface WorkgroupBudget {
  target: number;
  max: number;
  /** Cap on the lanes that share a slot (the depth of the barrier tree). */
  maxMembers: number;
  /**
   * Split S only into chunks that give each lane MIN_VISITS_PER_LANE loads
   * and keep the re-read of partials cheap; false splits as far as the
   * target asks, down to one load per lane (the tests' stress mode).
   */
  economicSplits: boolean;
}

/** A GPU: enough workgroups to fill it, one item each. */
export const GPU_BUDGET: WorkgroupBudget = {
  target: 256,
  max: Infinity,
  maxMembers: WORKGROUP_SIZE,
  economicSplits: true,
};

/**
 * The budget of a CPU-emulated adapter (SwiftShader, Chrome's fallback
 * adapter when there is no usable GPU), where a workgroup runs on one CPU
 * thread and a shader with workgroupBarrier runs its lanes as coroutines.
 * Measured there (2 cores): the same reduction pass took 4-6x longer with 256
 * workgroups than with 8, and barrier trees made channelsFirst passes with
 * many short rows 2.5x slower than with 4-lane trees; with one lane per slot
 * (no barrier at all) every pass got faster again. So: a few workgroups per
 * core, each looping over many items, and no tree.
 */
const CPU_WORKGROUPS_PER_CORE = 4;
const CPU_MAX_MEMBERS = 1;

/**
 * tfjs flag overriding the workgroup budget of the reduction (0: choose by
 * adapter). A value sets target = max and splits S as far as that target
 * asks: the tests use it to stress the split path and the item loop on any
 * adapter.
 */
export const TARGET_WORKGROUPS_FLAG = 'INSTANCE_NORM_WEBGPU_TARGET_WORKGROUPS';
env().registerFlag(TARGET_WORKGROUPS_FLAG, () => 0);

/** The workgroup budget of the backend's adapter. */
export function workgroupBudget(backend: WebGPUBackend): WorkgroupBudget {
  const forced = env().getNumber(TARGET_WORKGROUPS_FLAG);
  if (forced > 0) {
    return {target: forced, max: forced, maxMembers: WORKGROUP_SIZE, economicSplits: false};
  }
  // GPUDevice.adapterInfo (Chrome 132+); a fallback adapter is a software one.
  const info = (backend.device as Partial<GPUDevice>).adapterInfo;
  const cpuEmulated =
    info != null && (info.isFallbackAdapter || info.architecture === 'swiftshader');
  if (!cpuEmulated) return GPU_BUDGET;
  const cores = (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) || 2;
  const workgroups = CPU_WORKGROUPS_PER_CORE * cores;
  return {target: workgroups, max: workgroups, maxMembers: CPU_MAX_MEMBERS, economicSplits: true};
}

/** A lane visits at least this many elements (vectors) per chunk. */
const MIN_VISITS_PER_LANE = 8;
/** dispatchWorkgroups' per-dimension limit guaranteed by WebGPU. */
const MAX_DISPATCH = 65535;

/** How the tiled programs cover x; fixed per shape and format. */
export interface Tiling {
  format: DataFormat;
  batch: number;
  spatial: number;
  channels: number;
  /** Components per load along the contiguous axis: 4 (vec4) or 1. */
  vec: 1 | 4;
  workgroupSize: number;
  /** Channel vectors (channelsLast) or (n, c) rows (channelsFirst) per workgroup. */
  slots: number;
  /** Lanes that share one slot and split its pixels between them. */
  members: number;
  /** Workgroups across channels (channelsLast) or rows (channelsFirst). */
  tiles: number;
  /** Chunks of S, each reduced by its own workgroup. */
  splits: number;
  /** Pixels per chunk (the last one may be shorter). */
  chunk: number;
  /** Work items: tiles x (N in channelsLast) x splits. */
  items: number;
  /** Items each workgroup loops over. */
  itemsPerGroup: number;
  dispatch: [number, number, number];
}

export function planTiling(
  layout: InstanceNormLayout,
  budget: WorkgroupBudget = GPU_BUDGET,
): Tiling {
  const {batch, spatial, channels, dataFormat: format} = layout;
  let workgroupSize = WORKGROUP_SIZE;
  let vec: 1 | 4;
  let slots: number;
  let members: number;
  let tiles: number;
  let outer: number;
  let units: number; // length of S in loads: pixels, or vectors of pixels
  if (format === 'channelsLast') {
    vec = channels % 4 === 0 ? 4 : 1;
    const vecChannels = channels / vec;
    slots = Math.min(vecChannels, workgroupSize);
    members = Math.min(Math.floor(workgroupSize / slots), budget.maxMembers);
    workgroupSize = slots * members;
    tiles = Math.ceil(vecChannels / slots);
    outer = batch;
    units = spatial;
  } else {
    vec = spatial % 4 === 0 ? 4 : 1;
    units = spatial / vec;
    // Short rows share a workgroup so that every lane still has work.
    members = workgroupSize;
    const minMembers = Math.min(4, budget.maxMembers);
    while (
      members > minMembers &&
      (members * MIN_VISITS_PER_LANE > units || members > budget.maxMembers)
    ) {
      members /= 2;
    }
    slots = workgroupSize / members;
    tiles = Math.ceil((batch * channels) / slots);
    outer = 1;
  }
  // Each workgroup of the second pass re-reads the partials of all `splits`
  // chunks of its slots (2-3 loads per chunk) besides its own chunk of
  // units / splits loads: splits <= sqrt(units / 16) keeps that under ~1/8.
  const maxSplits = !budget.economicSplits
    ? Math.ceil(units / members)
    : Math.max(
        1,
        Math.min(
          Math.floor(units / (members * MIN_VISITS_PER_LANE)),
          Math.floor(Math.sqrt(units / 16)),
        ),
      );
  const wanted = Math.ceil(budget.target / (tiles * outer));
  const chunkUnits = Math.ceil(units / Math.min(Math.max(wanted, 1), maxSplits));
  const splits = Math.ceil(units / chunkUnits);
  const items = tiles * outer * splits;
  const itemsPerGroup = Math.ceil(items / Math.min(items, budget.max));
  const workgroups = Math.ceil(items / itemsPerGroup);
  const dispatch: [number, number, number] =
    workgroups <= MAX_DISPATCH
      ? [workgroups, 1, 1]
      : [MAX_DISPATCH, Math.ceil(workgroups / MAX_DISPATCH), 1];
  return {
    format,
    batch,
    spatial,
    channels,
    vec,
    workgroupSize,
    slots,
    members,
    tiles,
    splits,
    chunk: format === 'channelsLast' ? chunkUnits : chunkUnits * vec,
    items,
    itemsPerGroup,
    dispatch,
  };
}

/** WGSL type of one load of x along the contiguous axis. */
export function loadType(t: Tiling): string {
  return t.vec === 4 ? 'vec4<f32>' : 'f32';
}

/**
 * WGSL type of one lane's per-channel statistics: a vector of channels in
 * channelsLast, one scalar per row in channelsFirst.
 */
export function statType(t: Tiling): string {
  return t.format === 'channelsLast' ? loadType(t) : 'f32';
}

/**
 * Components with which each [N, C] / [C] / partials buffer is bound: vec4 of
 * channels in channelsLast with C % 4 == 0, scalars otherwise.
 */
export function statComponents(t: Tiling): number {
  return t.format === 'channelsLast' ? t.vec : 1;
}

/** Everything baked into the WGSL of a tiled program, for its shaderKey. */
export function tilingKey(t: Tiling): string {
  return `${t.format}_v${t.vec}_wg${t.workgroupSize}_s${t.slots}_m${t.members}`;
}

/** Uniform declarations shared by the tiled programs, in data order. */
export const TILING_UNIFORMS =
  'batch : i32, spatial : i32, channels : i32, chunk : i32, ' +
  'splits : i32, tiles : i32, items : i32, itemsPerGroup : i32,';

export interface UniformValue {
  type: 'int32' | 'float32';
  data: number[];
}

/** Values of TILING_UNIFORMS (each scalar is its own uniform field). */
export function tilingUniforms(t: Tiling): UniformValue[] {
  return [t.batch, t.spatial, t.channels, t.chunk, t.splits, t.tiles, t.items, t.itemsPerGroup].map(
    v => ({type: 'int32', data: [v]}),
  );
}

/**
 * Constants, the `Tile` a lane works on and the index math into x, the
 * [N, C] statistics and the partials `[N, splits, fields, C]`.
 *
 * A lane visits `visits` loads of x: `first`, `first + stride`, ...; its
 * statistics live at `row` of an [N, C] buffer and `channel` of a [C] one
 * (both in units of statType); `pivot` is the load holding the first pixel
 * of its (n, c), the shift that keeps float32 sums small.
 */
export function tileSnippet(t: Tiling): string {
  const channelsLast = t.format === 'channelsLast';
  const common = `
    const WORKGROUP_SIZE = ${t.workgroupSize};
    const SLOTS = ${t.slots};
    const MEMBERS = ${t.members};
    const VEC = ${t.vec};
    // Loads a lane sums in plain float32 before folding them into its total:
    // short for moments (squares of large values), longer for the gradient.
    const MOMENT_BLOCK = 16;
    const SUM_BLOCK = 256;
    // Lane of (slot, member): consecutive lanes read consecutive addresses.
    const SLOT_STRIDE = ${channelsLast ? 1 : t.members};
    const MEMBER_STRIDE = ${channelsLast ? t.slots : 1};

    struct Tile {
      valid : bool,
      slot : i32,
      memberIdx : i32,
      n : i32,
      split : i32,
      channel : i32,
      row : i32,
      pivot : i32,
      first : i32,
      stride : i32,
      visits : i32,
    };

    // The j-th work item of this workgroup (may be past the last one).
    fn itemOf(j : i32) -> i32 {
      return i32(workgroupId.y * numWorkgroups.x + workgroupId.x) * uniforms.itemsPerGroup + j;
    }

    // Pixels in chunk \`split\` of S.
    fn splitPixels(split : i32) -> f32 {
      return f32(min(uniforms.chunk, uniforms.spatial - split * uniforms.chunk));
    }

    fn visitCount(begin : i32, end : i32, valid : bool) -> i32 {
      return select(0, (end - begin + MEMBERS - 1) / MEMBERS, valid && begin < end);
    }
  `;
  if (channelsLast) {
    return (
      common +
      `
    fn tileOf(lane : i32, id : i32) -> Tile {
      var t : Tile;
      let vecChannels = uniforms.channels / VEC;
      t.slot = lane % SLOTS;
      t.memberIdx = lane / SLOTS;
      let rest = id / uniforms.tiles;
      t.split = rest % uniforms.splits;
      t.n = rest / uniforms.splits;
      t.channel = (id % uniforms.tiles) * SLOTS + t.slot;
      t.valid = t.memberIdx < MEMBERS && t.channel < vecChannels && id < uniforms.items;
      t.row = t.n * vecChannels + t.channel;
      t.pivot = t.n * uniforms.spatial * vecChannels + t.channel;
      let begin = t.split * uniforms.chunk + t.memberIdx;
      let end = min(uniforms.spatial, (t.split + 1) * uniforms.chunk);
      t.visits = visitCount(begin, end, t.valid);
      t.first = t.pivot + begin * vecChannels;
      t.stride = MEMBERS * vecChannels;
      return t;
    }

    fn partialIndex(t : Tile, split : i32, field : i32, fields : i32) -> i32 {
      return ((t.n * uniforms.splits + split) * fields + field) * (uniforms.channels / VEC) +
          t.channel;
    }
    `
    );
  }
  return (
    common +
    `
    fn tileOf(lane : i32, id : i32) -> Tile {
      var t : Tile;
      let vecSpatial = uniforms.spatial / VEC;
      t.slot = lane / MEMBERS;
      t.memberIdx = lane % MEMBERS;
      t.split = id % uniforms.splits;
      let row = (id / uniforms.splits) * SLOTS + t.slot;
      t.valid = row < uniforms.batch * uniforms.channels && id < uniforms.items;
      t.n = row / uniforms.channels;
      t.channel = row % uniforms.channels;
      t.row = row;
      t.pivot = row * vecSpatial;
      let chunkVecs = uniforms.chunk / VEC;
      let begin = t.split * chunkVecs + t.memberIdx;
      let end = min(vecSpatial, (t.split + 1) * chunkVecs);
      t.visits = visitCount(begin, end, t.valid);
      t.first = t.pivot + begin;
      t.stride = MEMBERS;
      return t;
    }

    fn partialIndex(t : Tile, split : i32, field : i32, fields : i32) -> i32 {
      return ((t.n * uniforms.splits + split) * fields + field) * uniforms.channels + t.channel;
    }
  `
  );
}

/**
 * Folds one load of x into a lane statistic: identity in channelsLast (the
 * components are different channels), the sum of the components in
 * channelsFirst (they are pixels of the same row).
 */
export function collapseSnippet(t: Tiling): string {
  const body =
    t.format === 'channelsFirst' && t.vec === 4 ? 'return dot(v, vec4<f32>(1.0));' : 'return v;';
  return `fn collapse(v : ${loadType(t)}) -> ${statType(t)} { ${body} }`;
}

/** The pivot of a lane's (n, c), broadcast to a load of x. */
export function pivotSnippet(t: Tiling): string {
  const value =
    t.format === 'channelsFirst' && t.vec === 4 ? 'vec4<f32>(x[t.pivot].x)' : 'x[t.pivot]';
  return `fn pivotOf(t : Tile) -> ${loadType(t)} { return ${value}; }`;
}

/**
 * (count, mean, variance) of pivot-shifted values and Chan's merge of two of
 * them: exact for a constant channel (the variance stays 0) and stable for
 * any split of S. The variance, not M2 = count * variance, is what is kept
 * and merged (with weights count / total), so nothing grows with the pixel
 * count: values of magnitude 1e18, whose squares sum past the float32 range
 * over a few hundred pixels, stay finite.
 */
export function momentsSnippet(type: string): string {
  return `
    struct Moments {
      count : f32,
      mean : ${type},
      variance : ${type},
    };

    fn mergeMoments(a : Moments, b : Moments) -> Moments {
      let count = a.count + b.count;
      if (b.count == 0.0) {
        return a;
      }
      let wb = b.count / count;
      let wa = a.count / count;
      let delta = b.mean - a.mean;
      return Moments(count, a.mean + delta * wb,
                     wa * a.variance + wb * b.variance + (delta * wa) * (delta * wb));
    }
  `;
}

/**
 * `fn blockMoments(count, sum, squares) -> Moments`: the moments of a block
 * of \`count\` loads from their plain float32 sum and sum of squares. Blocks
 * are short (MOMENT_BLOCK loads, so squares of up to ~4e18 cannot overflow),
 * and the pivot keeps the cancellation in squares - sum * mean harmless. In
 * channelsFirst with vec4 loads the four components (pixels of one row) are
 * merged too.
 */
export function blockMomentsSnippet(t: Tiling): string {
  const lt = loadType(t);
  const perComponent = `
      let mean = sum / count;
      let variance = max((squares - sum * mean) / count, ${lt}(0.0));`;
  if (t.format === 'channelsFirst' && t.vec === 4) {
    return `
    fn blockMoments(count : f32, sum : ${lt}, squares : ${lt}) -> Moments {
      ${perComponent}
      let quarter = vec4<f32>(0.25);
      let rowMean = dot(mean, quarter);
      let spread = mean - rowMean;
      return Moments(4.0 * count, rowMean, dot(variance, quarter) + dot(spread * spread, quarter));
    }
    `;
  }
  return `
    fn blockMoments(count : f32, sum : ${lt}, squares : ${lt}) -> Moments {
      ${perComponent}
      return Moments(count, mean, variance);
    }
  `;
}

/** The three per-(n, c) sums of the gradient. */
export function gradSumsSnippet(type: string): string {
  return `
    struct GradSums {
      dy : ${type},
      dyXhat : ${type},
      xhat : ${type},
    };

    fn addGradSums(a : GradSums, b : GradSums) -> GradSums {
      return GradSums(a.dy + b.dy, a.dyXhat + b.dyXhat, a.xhat + b.xhat);
    }
  `;
}

/**
 * `fn <name>(lane, slot, value) -> T`: combines `value` over the members of
 * each slot with a tree in workgroup memory and returns the slot's total to
 * every lane. Call it from uniform control flow (all lanes, invalid ones with
 * the identity), once per work item. The tree is unrolled here since MEMBERS is
 * fixed per pipeline.
 */
export function treeReduceSnippet(t: Tiling, name: string, type: string, combine: string): string {
  if (t.members === 1) {
    return `
      fn ${name}(lane : i32, slot : i32, memberIdx : i32, value : ${type}) -> ${type} {
        return value;
      }
    `;
  }
  const steps: string[] = [];
  for (let size = t.members; size > 1;) {
    const upper = Math.ceil(size / 2);
    steps.push(`
      if (memberIdx < ${size - upper}) {
        ${name}Scratch[lane] = ${combine}(${name}Scratch[lane], ${name}Scratch[lane + ${upper} * MEMBER_STRIDE]);
      }
      workgroupBarrier();`);
    size = upper;
  }
  return `
    var<workgroup> ${name}Scratch : array<${type}, WORKGROUP_SIZE>;

    fn ${name}(lane : i32, slot : i32, memberIdx : i32, value : ${type}) -> ${type} {
      ${name}Scratch[lane] = value;
      workgroupBarrier();
      ${steps.join('\n')}
      let total = ${name}Scratch[slot * SLOT_STRIDE];
      // Everyone has read the total before the next item overwrites it.
      workgroupBarrier();
      return total;
    }
  `;
}

/**
 * The main function of a tiled program: \`body\` runs once per work item of
 * the workgroup with \`lane\` and the item's \`t : Tile\` in scope. The loop
 * bound is a uniform, so the barriers in \`body\` stay in uniform control flow.
 */
export function mainOverItems(body: string): string {
  return `
    fn main(index : i32) {
      let lane = i32(localIndex);
      for (var j = 0; j < uniforms.itemsPerGroup; j++) {
        let t = tileOf(lane, itemOf(j));
        ${body}
      }
    }
  `;
}

/** A flat program over `size` outputs, one lane each. */
export function flatDispatch(
  size: number,
): Pick<WebGPUProgram, 'dispatch' | 'dispatchLayout' | 'workgroupSize'> {
  const groups = Math.ceil(size / FLAT_WORKGROUP_SIZE);
  return {
    workgroupSize: [FLAT_WORKGROUP_SIZE, 1, 1],
    dispatchLayout: {x: [0]},
    dispatch:
      groups <= MAX_DISPATCH ? [groups, 1, 1] : [MAX_DISPATCH, Math.ceil(groups / MAX_DISPATCH), 1],
  };
}

/** The dispatch fields of a tiled program whose output has `outputRank`. */
export function tiledDispatch(
  t: Tiling,
  outputRank: number,
): Pick<WebGPUProgram, 'dispatch' | 'dispatchLayout' | 'workgroupSize'> {
  return {
    workgroupSize: [t.workgroupSize, 1, 1],
    dispatchLayout: {x: Array.from({length: outputRank}, (_, i) => i)},
    dispatch: [...t.dispatch],
  };
}

/** The shape of the partials buffer: `[N, splits, fields, C]`. */
export function partialsShape(t: Tiling, fields: number): number[] {
  return [t.batch, t.splits, fields, t.channels];
}

/**
 * Runs a program on the backend. Programs are plain objects: this package
 * loads no backend code at runtime, it only uses the backend it is given.
 */
export function run(
  backend: WebGPUBackend,
  program: WebGPUProgram,
  inputs: TensorInfo[],
  uniforms: UniformValue[],
): TensorInfo {
  return backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
}

/**
 * Runs the output passes of a kernel on its partials, then frees the
 * partials; if a pass throws, the outputs made so far are freed too.
 */
export function runPasses(
  backend: WebGPUBackend,
  partials: TensorInfo,
  passes: (partials: TensorInfo) => Array<() => TensorInfo>,
): TensorInfo[] {
  const outputs: TensorInfo[] = [];
  try {
    for (const pass of passes(partials)) outputs.push(pass());
    return outputs;
  } catch (e) {
    outputs.forEach(o => backend.disposeData(o.dataId));
    throw e;
  } finally {
    backend.disposeData(partials.dataId);
  }
}
