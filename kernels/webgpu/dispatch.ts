/**
 * Runs a compute program with several outputs on the tfjs WebGPU backend.
 *
 * tfjs 4.22's `runWebGPUProgram` binds one read_write output and declares
 * every input read-only, so a kernel with three outputs would need three
 * dispatches after its reduction. Here the program declares its own bindings
 * (outputs first, then inputs, then the uniforms), and the dispatch is
 * recorded exactly as `recordAndSubmit` does it: buffers from the backend's
 * buffer manager (via `makeTensorInfo` / `uploadToGPU`), uniforms through its
 * `makeUniforms`, the same command encoder and compute pass, the same
 * deferred-submit batching and the same timestamp queries for `tf.time`.
 * Every private member used is reached through backend_seam.ts.
 *
 * The WebGPU kernels keep three caches, each an LruCache with a stated bound:
 * the program cache (program_cache.ts: program key → program and WGSL text →
 * pipeline), the bind groups per layout (here) and the per-signature plan
 * memo (signature_memo.ts).
 */
import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import type {BackendInternals} from './backend_seam';
import {LruCache} from './lru_cache';
import {CachedProgram, pipelineOf} from './program_cache';
import type {UniformField, UniformValue} from './uniforms';

/** A storage buffer of the program: its WGSL name and element type. */
export interface BufferBinding {
  name: string;
  /** 'f32' or 'vec4<f32>'. */
  type: string;
}

export interface ComputeProgram {
  /** Names the program in `tf.time`, `WEBGPU_PRINT_SHADER` and its pipeline's label. */
  name: string;
  workgroupSize: number;
  dispatch: [number, number, number];
  outputs: BufferBinding[];
  inputs: BufferBinding[];
  uniforms: readonly UniformField[];
  /** WGSL that defines `fn compute(lane : i32, workgroup : i32, workgroups : i32)`. */
  code: string;
}

/**
 * Dispatches `program` on `inputs`, writing new float32 tensors of
 * `outputShapes` (in the order of `program.outputs`), and returns them.
 */
export function runProgram(
  backend: WebGPUBackend,
  internals: BackendInternals,
  program: CachedProgram,
  inputs: TensorInfo[],
  outputShapes: number[][],
  uniforms: UniformValue[],
): TensorInfo[] {
  const outputs = outputShapes.map(shape => backend.makeTensorInfo(shape, 'float32'));
  const tensors = [...outputs, ...inputs];
  for (const tensor of tensors) {
    backend.uploadToGPU(tensor.dataId);
    internals.commandQueueOwnedIds.add(tensor.dataId);
  }
  const {pipeline, layout} = pipelineOf(backend.device, program);
  const resources = tensors.map(tensor => internals.tensorToBinding(tensor));
  resources.push(internals.makeUniforms(uniforms));
  record(
    internals,
    backend.device,
    program,
    pipeline,
    bindGroupOf(backend.device, layout, resources),
  );
  return outputs;
}

/**
 * Bind groups kept per layout. tfjs' buffer manager hands the same pooled
 * buffers out again call after call, so a loop over one shape meets the same
 * few sets of buffers.
 */
export const BIND_GROUPS_PER_LAYOUT = 64;

/** Bind groups per layout, keyed by their buffers (identity, offset, size) in binding order. */
const bindGroups = new WeakMap<GPUBindGroupLayout, LruCache<string, GPUBindGroup>>();
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextBufferId = 0;

function bufferId(buffer: GPUBuffer): number {
  let id = bufferIds.get(buffer);
  if (id == null) {
    id = nextBufferId++;
    bufferIds.set(buffer, id);
  }
  return id;
}

/**
 * The bind group of `resources` (binding i is resources[i]) for `layout`:
 * created once per distinct set of buffers (createBindGroup is the largest
 * host cost of a dispatch). A hit is always safe: the buffers are the ones
 * bound right now, so none of them is destroyed; a buffer's id is never
 * given to another.
 */
export function bindGroupOf(
  device: GPUDevice,
  layout: GPUBindGroupLayout,
  resources: GPUBufferBinding[],
): GPUBindGroup {
  const create = (): GPUBindGroup =>
    device.createBindGroup({
      layout,
      entries: resources.map((resource, binding) => ({binding, resource})),
    });
  if (resources.some(resource => resource?.buffer == null)) {
    return create(); // not a buffer binding (tfjs binds textures as views)
  }
  let cache = bindGroups.get(layout);
  if (cache == null) {
    cache = new LruCache(BIND_GROUPS_PER_LAYOUT);
    bindGroups.set(layout, cache);
  }
  let key = '';
  for (const {buffer, offset, size} of resources) {
    key += `${bufferId(buffer)}:${offset ?? 0}:${size ?? ''},`;
  }
  return cache.getOrCreate(key, create);
}

/** How many bind groups `layout` holds now (for the specs). */
export function bindGroupsHeld(layout: GPUBindGroupLayout): number {
  return bindGroups.get(layout)?.size ?? 0;
}

/** recordAndSubmit's dispatch, timers and submit policy. */
function record(
  internals: BackendInternals,
  device: GPUDevice,
  program: CachedProgram,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
): void {
  const timed = internals.activeTimers != null;
  internals.ensureCommandEncoderReady();
  const encoder = internals.commandEncoder as GPUCommandEncoder;
  if (timed && internals.supportTimestampQuery) {
    internals.endComputePassEncoder();
    internals.querySet ??= device.createQuerySet({
      type: 'timestamp',
      count: internals.querySetCount,
    });
    internals.computePassEncoder = encoder.beginComputePass({
      timestampWrites: {
        querySet: internals.querySet,
        beginningOfPassWriteIndex: 0,
        endOfPassWriteIndex: 1,
      },
    });
  } else if (internals.computePassEncoder == null) {
    internals.computePassEncoder = encoder.beginComputePass({});
  }
  const pass = internals.computePassEncoder;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...program.dispatch);
  internals.dispatchCountInPass++;
  const batch = env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number;
  if (timed || batch <= internals.dispatchCountInPass) {
    internals.endComputePassEncoder();
    if (internals.activeTimers != null) {
      internals.activeTimers.push({name: program.name, query: internals.getQueryTime()});
    } else {
      internals.submitQueue();
    }
  }
}

/** Runs one program inside {@link runPasses}. */
export type PassRunner = (
  program: CachedProgram,
  inputs: TensorInfo[],
  outputShapes: number[][],
  uniforms: UniformValue[],
) => TensorInfo[];

/**
 * Runs the passes of a kernel and returns what `passes` returns; every other
 * tensor its passes made (the intermediates, or everything if a pass throws)
 * is freed.
 */
export function runPasses(
  backend: WebGPUBackend,
  internals: BackendInternals,
  passes: (run: PassRunner) => TensorInfo[],
): TensorInfo[] {
  const made: TensorInfo[] = [];
  let results: TensorInfo[] = [];
  try {
    results = passes((program, inputs, outputShapes, uniforms) => {
      const outputs = runProgram(backend, internals, program, inputs, outputShapes, uniforms);
      made.push(...outputs);
      return outputs;
    });
    return results;
  } finally {
    const kept = new Set(results.map(t => t.dataId));
    made.filter(t => !kept.has(t.dataId)).forEach(t => backend.disposeData(t.dataId));
  }
}
