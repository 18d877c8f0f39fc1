/**
 * The timing core shared by the browser page (bench.ts) and the Node + Dawn
 * bench (gpu.ts): it only uses tfjs-core and the package's public functions,
 * so it runs wherever a tfjs backend does.
 *
 * Per backend and shape, one run times these side by side, interleaved
 * within each round so a slower phase of the machine hits them all alike:
 *   copy       one elementwise pass over x (tf.neg: one read, one write of the
 *              bytes of x), the bandwidth yardstick;
 *   fusedFwd   instanceNorm (this package's kernels);
 *   compFwd    instanceNormComposite (tf.moments and built-in ops);
 *   fusedGrad  tf.grads of instanceNorm w.r.t. x, gamma, beta for a fixed dy
 *              (the forward and the gradient);
 *   compGrad   the same through instanceNormComposite (autograd through the
 *              built-in ops' registered gradients).
 * The block rows (blocks.ts) time a fused block beside the plain fused norm,
 * the fused norm followed by separate tfjs ops, and the composite.
 *
 * The backend `wasm-scalar` is tfjs' wasm backend started with
 * WASM_HAS_SIMD_SUPPORT=false (its scalar binary, and the package's scalar
 * path): a page that starts it has not started `wasm` before (driver.ts loads
 * the page afresh per backend).
 */
import * as tf from '@tensorflow/tfjs-core';

import {
  groupNorm,
  groupNormComposite,
  hasFusedKernels,
  instanceNorm,
  instanceNormComposite,
} from '../src/index';
import {type DataFormat, median, randomValues} from '../support/index';
import {setUpBlock} from './blocks';
import {
  BLOCK_VARIANTS,
  type BlockCase,
  type BlockKind,
  type BlockVariant,
  blockLabel,
  caseLabel,
  channelsOf,
  elementsOf,
  type ShapeCase,
  VARIANTS,
  type Variant,
} from './cases';
import type {FamilyCase, FamilyTrainingConfig} from './family_cases';

export interface TrainingConfig {
  backends: string[];
  /** Images are size x size x 3, batch 1. */
  size: number;
  warmupSteps: number;
  rounds: number;
  steps: number;
}

export interface BenchConfig {
  backends: string[];
  shapes: ShapeCase[];
  /** The fused-block rows (cases.ts BLOCK_CASES). */
  blocks: BlockCase[];
  /** Per backend: shapes with more elements than this are skipped. */
  maxSize: Record<string, number>;
  rounds: number;
  /** Each timed batch of calls lasts about this long (ms), K calls at least 1. */
  batchMs: number;
  maxCalls: number;
  /** tf.time samples per variant (0: no kernel-time column). */
  kernelTimeSamples: number;
  /** tf.profile per-kernel breakdown of the largest shape measured (per backend). */
  profile?: boolean;
  training: TrainingConfig;
  /** The batch / layer norm rows (family.ts) of each backend; absent: none. */
  family?: FamilyCase[];
  /** The batch / layer norm training steps (family_training.ts), on these backends. */
  familyTraining?: FamilyTrainingConfig & {backends: string[]};
  /** The style-net step breakdown (breakdown.ts), on these backends. */
  breakdown?: {backends: string[]; size: number; samples: number};
}

export interface CaseResult {
  backend: string;
  shape: number[];
  dataFormat: DataFormat;
  groups?: number;
  elements: number;
  /** Whether InstanceNorm/InstanceNormGrad were registered on the backend. */
  fusedKernels: boolean;
  calls: Record<Variant, number>;
  /** Median over the rounds of wall ms per call (K calls, one sync). */
  ms: Record<Variant, number>;
  /** Every round, for the record. */
  msRounds: Record<Variant, number[]>;
  /** tf.time kernel ms per call (median), where the backend reports it. */
  kernelMs: Partial<Record<Variant, number>>;
}

export interface BlockResult {
  backend: string;
  block: BlockKind;
  shape: number[];
  dataFormat: DataFormat;
  groups?: number;
  styleShape?: number[];
  styles?: number;
  elements: number;
  fusedKernels: boolean;
  calls: Record<BlockVariant, number>;
  ms: Record<BlockVariant, number>;
  msRounds: Record<BlockVariant, number[]>;
  kernelMs: Partial<Record<BlockVariant, number>>;
  /** GPU programs run by one call of each variant (webgl, webgpu). */
  programs?: Partial<Record<BlockVariant, number>>;
}

export interface KernelShare {
  name: string;
  count: number;
  ms: number;
}

export interface ProfileResult {
  backend: string;
  shape: number[];
  dataFormat: DataFormat;
  groups?: number;
  /** Per variant: tf.profile's kernels summed by name, slowest first. */
  kernels: Partial<Record<Variant, KernelShare[]>>;
  /** Per variant: GPU programs run by one call (WebGPU dispatches, WebGL draws). */
  programs: Partial<Record<Variant, number>>;
}

export const log = (message: string): void => console.log(`[bench] ${message}`);

/**
 * Waits until every kernel queued so far has finished. GPU queues run in
 * order, so reading back one element computed from the last result waits for
 * all the calls before it without downloading the whole tensor.
 */
async function syncOn(result: tf.Tensor): Promise<void> {
  // Sliced in its own rank: a reshape of a packed WebGL texture would be a
  // full pass of its own.
  const first = result.shape.map(() => 0);
  const one = result.shape.map(() => 1);
  const probe = tf.tidy(() => tf.add(tf.slice(result, first, one), 0));
  await probe.data();
  probe.dispose();
}

export type Call = () => tf.Tensor[];

/** Wall ms per call of K calls issued back to back with one sync at the end. */
export async function timeCalls(call: Call, calls: number): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor[] = [];
  for (let i = 0; i < calls; i++) {
    tf.dispose(last);
    last = call();
  }
  await syncOn(last[0]);
  const ms = (performance.now() - start) / calls;
  tf.dispose(last);
  return ms;
}

async function kernelTime(call: Call, samples: number): Promise<number | undefined> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    const info = await tf.time(() => tf.dispose(call()));
    if (typeof info.kernelMs !== 'number') return undefined;
    values.push(info.kernelMs);
  }
  return values.length ? median(values) : undefined;
}

/** The tfjs backend a bench backend runs on: `wasm-scalar` is `wasm` without SIMD. */
export const engineBackend = (backend: string): string =>
  backend === 'wasm-scalar' ? 'wasm' : backend;

/** Backends whose kernel time is their wall time (no timers of their own). */
const isCpuSide = (backend: string): boolean =>
  backend === 'cpu' || engineBackend(backend) === 'wasm';

type Norm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor;

/**
 * The fused and the composite norm of a case, through the public API: group
 * norm for rows with `groups`, instance norm otherwise.
 */
function normsOf(c: ShapeCase, eps: number): {fused: Norm; composite: Norm} {
  const groups = c.groups;
  if (groups !== undefined) {
    return {
      fused: (x, g, b) => groupNorm(x, groups, g, b, eps, c.dataFormat),
      composite: (x, g, b) => groupNormComposite(x, groups, g, b, eps, c.dataFormat),
    };
  }
  return {
    fused: (x, g, b) => instanceNorm(x, g, b, eps, c.dataFormat),
    composite: (x, g, b) => instanceNormComposite(x, g, b, eps, c.dataFormat),
  };
}

/** The tensors of a case and its five variants; `dispose` frees the tensors. */
function setUpCase(c: ShapeCase): {calls: Record<Variant, Call>; dispose: () => void} {
  const size = elementsOf(c);
  const channels = channelsOf(c);
  const x = tf.tensor(randomValues(size, 1, 2, 0.5), c.shape);
  const dy = tf.tensor(randomValues(size, 2, 1, 0), c.shape);
  const gamma = tf.tensor1d(randomValues(channels, 3, 0.5, 1));
  const beta = tf.tensor1d(randomValues(channels, 4, 0.5, 0));
  const norms = normsOf(c, 1e-5);
  const fusedGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => norms.fused(a, g, b));
  const compGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    norms.composite(a, g, b),
  );
  return {
    calls: {
      copy: () => [tf.neg(x)],
      fusedFwd: () => [norms.fused(x, gamma, beta)],
      compFwd: () => [norms.composite(x, gamma, beta)],
      fusedGrad: () => fusedGrads([x, gamma, beta], dy),
      compGrad: () => compGrads([x, gamma, beta], dy),
    },
    dispose: () => tf.dispose([x, dy, gamma, beta]),
  };
}

/** The timing of one row: per variant K, the median wall ms, every round and the kernel ms. */
export interface Timing<V extends string> {
  calls: Record<V, number>;
  ms: Record<V, number>;
  msRounds: Record<V, number[]>;
  kernelMs: Partial<Record<V, number>>;
}

/**
 * Times `calls` side by side: warm-up, K per variant, then `rounds` rounds
 * of every variant in turn (a slower phase of the machine hits them all
 * alike), then tf.time samples where the backend has kernel timers.
 */
export async function timeVariants<V extends string>(
  backend: string,
  variants: readonly V[],
  calls: Record<V, Call>,
  config: BenchConfig,
): Promise<Timing<V>> {
  // Warm-up: shader compilation and texture/buffer pools. A second call,
  // timed, chooses K so that a batch lasts about batchMs. Never the first:
  // compilation can take seconds on SwiftShader even for tf.neg, and K = 1
  // would then time a one-call batch dominated by the sync.
  const count = {} as Record<V, number>;
  for (const v of variants) {
    await timeCalls(calls[v], 1);
    const once = await timeCalls(calls[v], 1);
    count[v] = Math.max(1, Math.min(config.maxCalls, Math.round(config.batchMs / once)));
  }
  const rounds = Object.fromEntries(variants.map(v => [v, [] as number[]])) as Record<V, number[]>;
  for (let r = 0; r < config.rounds; r++) {
    for (const v of variants) {
      rounds[v].push(await timeCalls(calls[v], count[v]));
    }
  }
  const kernelMs: Partial<Record<V, number>> = {};
  // The cpu and wasm backends' kernel time is wall time per kernel: no second opinion.
  if (config.kernelTimeSamples > 0 && !isCpuSide(backend)) {
    for (const v of variants) {
      // One sample of a call that alone outlasts a batch: it takes seconds.
      const samples = count[v] === 1 ? 1 : config.kernelTimeSamples;
      const ms = await kernelTime(calls[v], samples);
      if (ms !== undefined) kernelMs[v] = ms;
    }
  }
  return {
    calls: count,
    ms: Object.fromEntries(variants.map(v => [v, median(rounds[v])])) as Record<V, number>,
    msRounds: rounds,
    kernelMs,
  };
}

export async function benchShape(
  backend: string,
  shapeCase: ShapeCase,
  config: BenchConfig,
): Promise<CaseResult> {
  const {calls, dispose} = setUpCase(shapeCase);
  try {
    const timing = await timeVariants(backend, VARIANTS, calls, config);
    return {
      ...caseIdentity(backend, shapeCase),
      elements: elementsOf(shapeCase),
      fusedKernels: hasFusedKernels(),
      ...timing,
    };
  } finally {
    dispose();
  }
}

export async function benchBlock(
  backend: string,
  blockCase: BlockCase,
  config: BenchConfig,
): Promise<BlockResult> {
  const {calls, dispose} = setUpBlock(blockCase);
  try {
    const timing = await timeVariants(backend, BLOCK_VARIANTS, calls, config);
    const {block, styleShape, styles} = blockCase;
    return {
      ...caseIdentity(backend, blockCase),
      block,
      ...(styleShape ? {styleShape} : {}),
      ...(styles ? {styles} : {}),
      elements: elementsOf(blockCase),
      fusedKernels: hasFusedKernels(),
      ...timing,
    };
  } finally {
    dispose();
  }
}

/**
 * How many GPU programs one call runs: counts the backend's runWebGPUProgram
 * or runWebGLProgram calls (tfjs' kernels and this package's go through them).
 */
export function countPrograms(call: Call): number | undefined {
  // WebGPU: every dispatch sets a pipeline (this package's multi-output
  // programs bypass runWebGPUProgram); WebGL: every draw is a runWebGLProgram.
  const webgpu = tf.getBackend() === 'webgpu' && typeof GPUComputePassEncoder !== 'undefined';
  const target = (webgpu ? GPUComputePassEncoder.prototype : tf.backend()) as unknown as Record<
    string,
    unknown
  >;
  const method = webgpu ? 'setPipeline' : 'runWebGLProgram';
  if (typeof target[method] !== 'function') return undefined;
  const original = target[method] as (...args: unknown[]) => unknown;
  let count = 0;
  target[method] = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    tf.dispose(call());
  } finally {
    target[method] = original;
  }
  return count;
}

/** The fields that name a result: backend, shape, data format and groups when set. */
function caseIdentity(backend: string, shapeCase: ShapeCase) {
  const {shape, dataFormat, groups} = shapeCase;
  return {backend, shape, dataFormat, ...(groups === undefined ? {} : {groups})};
}

/**
 * tf.profile of one call of each variant but the copy (after a call that
 * counts its GPU programs), its kernels' times summed by kernel name. Times are GPU timestamps where the
 * backend has them.
 */
export async function profileShape(backend: string, shapeCase: ShapeCase): Promise<ProfileResult> {
  const {calls, dispose} = setUpCase(shapeCase);
  const kernels: ProfileResult['kernels'] = {};
  const programs: ProfileResult['programs'] = {};
  for (const v of VARIANTS.filter(v => v !== 'copy')) {
    programs[v] = countPrograms(calls[v]);
    const info = await tf.profile(() => tf.dispose(calls[v]()));
    const byName = new Map<string, KernelShare>();
    // tf.tidy scopes show up as 'unnamed scope' entries of no kernel of their own.
    for (const k of info.kernels.filter(k => k.name !== 'unnamed scope')) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : NaN;
      const share = byName.get(k.name) ?? {name: k.name, count: 0, ms: 0};
      share.count++;
      share.ms += ms;
      byName.set(k.name, share);
    }
    kernels[v] = [...byName.values()].sort((a, b) => b.ms - a.ms);
  }
  dispose();
  return {
    ...caseIdentity(backend, shapeCase),
    kernels,
    programs,
  };
}

/** What the backend runs on: WebGL renderer, or WebGPU adapter info and limits. */
export async function backendInfo(backend: string): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = {fusedKernels: hasFusedKernels()};
  if (engineBackend(backend) === 'wasm') {
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    // Which of tfjs' binaries the page fetched: the SIMD one or the scalar one.
    if (typeof performance.getEntriesByType === 'function') {
      info.binaries = performance
        .getEntriesByType('resource')
        .map(e => e.name.slice(e.name.lastIndexOf('/') + 1))
        .filter(name => name.endsWith('.wasm'));
    }
  } else if (backend === 'webgl') {
    const gl = (tf.backend() as unknown as {gpgpu: {gl: WebGL2RenderingContext}}).gpgpu.gl;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    info.version = gl.getParameter(gl.VERSION);
    info.vendor = gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR);
    info.renderer = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    info.pack = tf.env().getBool('WEBGL_PACK');
    info.timerQuery = tf.env().getNumber('WEBGL_DISJOINT_QUERY_TIMER_EXTENSION_VERSION') > 0;
  } else if (backend === 'webgpu') {
    // The adapter tfjs-backend-webgpu asks for (unless WEBGPU_USE_LOW_POWER_GPU).
    const adapter = await navigator.gpu.requestAdapter({powerPreference: 'high-performance'});
    const a = adapter?.info;
    if (a) {
      info.adapter = {
        vendor: a.vendor,
        architecture: a.architecture,
        device: a.device,
        description: a.description,
      };
    }
    if (adapter) {
      const l = adapter.limits;
      info.limits = {
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      };
    }
    info.timestampQuery = adapter?.features.has('timestamp-query') ?? false;
  }
  return info;
}

/**
 * Per backend: every shape (unless too large for it), then the profile of the
 * largest, then the block rows.
 */
export async function benchKernels(
  backend: string,
  config: BenchConfig,
  output: {
    cases: CaseResult[];
    blocks: BlockResult[];
    profiles: ProfileResult[];
    skipped: string[];
    errors: string[];
  },
): Promise<void> {
  const measured: ShapeCase[] = [];
  for (const shapeCase of config.shapes) {
    const size = elementsOf(shapeCase);
    const label = `${backend} ${caseLabel(shapeCase)}`;
    const maxSize = config.maxSize[backend] ?? Infinity;
    if (size > maxSize) {
      output.skipped.push(label);
      log(`${label}: skipped (more than ${maxSize} elements)`);
      continue;
    }
    // One failing shape (a shader that does not compile, a limit) must not
    // cost the others: a GPU run is one shot.
    const result = await recording(label, output.errors, () =>
      benchShape(backend, shapeCase, config),
    );
    if (!result) continue;
    output.cases.push(result);
    measured.push(shapeCase);
    log(`${label}: ${VARIANTS.map(v => `${v} ${result.ms[v].toFixed(3)}`).join(', ')} ms`);
  }
  if (config.profile && measured.length && backend !== 'cpu') {
    const largest = measured.reduce((a, b) => (elementsOf(b) > elementsOf(a) ? b : a));
    const label = `${backend} ${caseLabel(largest)} profile`;
    const profile = await recording(label, output.errors, () => profileShape(backend, largest));
    if (profile) output.profiles.push(profile);
    log(`${label}: ${profile ? 'done' : 'failed'}`);
  }
  const gpu = backend === 'webgl' || backend === 'webgpu';
  for (const blockCase of config.blocks) {
    const label = `${backend} ${blockLabel(blockCase)}`;
    const maxSize = config.maxSize[backend] ?? Infinity;
    if (elementsOf(blockCase) > maxSize) {
      output.skipped.push(label);
      log(`${label}: skipped (more than ${maxSize} elements)`);
      continue;
    }
    const result = await recording(label, output.errors, async () => {
      const timed = await benchBlock(backend, blockCase, config);
      if (gpu) timed.programs = blockPrograms(blockCase);
      return timed;
    });
    if (!result) continue;
    output.blocks.push(result);
    log(`${label}: ${BLOCK_VARIANTS.map(v => `${v} ${result.ms[v].toFixed(3)}`).join(', ')} ms`);
  }
}

/** GPU programs (draws, dispatches) one call of each block variant runs. */
function blockPrograms(blockCase: BlockCase): Partial<Record<BlockVariant, number>> {
  const {calls, dispose} = setUpBlock(blockCase);
  try {
    const programs: Partial<Record<BlockVariant, number>> = {};
    for (const v of BLOCK_VARIANTS) programs[v] = countPrograms(calls[v]);
    return programs;
  } finally {
    dispose();
  }
}

/** Runs `f`; on an error, records `label: message` in `errors` and gives undefined. */
export async function recording<T>(
  label: string,
  errors: string[],
  f: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    const message = `${label}: ${e instanceof Error ? e.message : String(e)}`;
    errors.push(message);
    log(`ERROR ${message}`);
    return undefined;
  }
}
