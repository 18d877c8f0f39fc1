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
 */
import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {UniformField, uniformStruct, UniformValue} from './uniforms';

/** A storage buffer of the program: its WGSL name and element type. */
export interface BufferBinding {
  name: string;
  /** 'f32' or 'vec4<f32>'. */
  type: string;
}

/** Scalar inputs bound only when present (gamma, beta). */
export function optionalInputs(present: Record<string, boolean>): BufferBinding[] {
  return Object.entries(present)
    .filter(([, isPresent]) => isPresent)
    .map(([name]) => ({name, type: 'f32'}));
}

export interface ComputeProgram {
  /** Names the program in `tf.time` and prefixes its pipeline key. */
  name: string;
  /** Everything baked into `code` (with `name`, the pipeline cache key). */
  key: string;
  workgroupSize: number;
  dispatch: [number, number, number];
  outputs: BufferBinding[];
  inputs: BufferBinding[];
  uniforms: readonly UniformField[];
  /** WGSL that defines `fn compute(lane : i32, workgroup : i32, workgroups : i32)`. */
  code: string;
}

/** The members of WebGPUBackend that recordAndSubmit uses (private in its typings). */
interface BackendInternals {
  activeTimers?: Array<{name: string; query: Promise<number>}> | null;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
  tensorToBinding(tensor: TensorInfo): GPUBufferBinding;
  makeUniforms(values: UniformValue[]): GPUBufferBinding;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** The full WGSL of a program: uniforms, bindings and the entry point. */
export function shaderSource(program: ComputeProgram): string {
  const storage = [
    ...program.outputs.map(b => ({...b, access: 'read_write'})),
    ...program.inputs.map(b => ({...b, access: 'read'})),
  ];
  const declarations = storage.map(
    (b, i) => `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name} : array<${b.type}>;`,
  );
  return `
    ${uniformStruct(program.uniforms)}
    ${declarations.join('\n    ')}
    @group(0) @binding(${storage.length}) var<uniform> uniforms : Uniforms;

    ${program.code}

    @compute @workgroup_size(${program.workgroupSize})
    fn main(@builtin(local_invocation_index) lane : u32,
            @builtin(workgroup_id) workgroup : vec3<u32>,
            @builtin(num_workgroups) workgroups : vec3<u32>) {
      compute(i32(lane), i32(workgroup.y * workgroups.x + workgroup.x),
              i32(workgroups.x * workgroups.y));
    }
  `;
}

function pipelineFor(device: GPUDevice, program: ComputeProgram): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (cache == null) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const key = `${program.name}_${program.key}`;
  let pipeline = cache.get(key);
  if (pipeline == null) {
    const entries: GPUBindGroupLayoutEntry[] = [
      ...program.outputs.map(() => 'storage' as const),
      ...program.inputs.map(() => 'read-only-storage' as const),
    ].map((type, binding) => ({binding, visibility: GPUShaderStage.COMPUTE, buffer: {type}}));
    entries.push({
      binding: entries.length,
      visibility: GPUShaderStage.COMPUTE,
      buffer: {type: 'uniform'},
    });
    const layout = device.createBindGroupLayout({entries});
    pipeline = device.createComputePipeline({
      label: program.name,
      layout: device.createPipelineLayout({bindGroupLayouts: [layout]}),
      compute: {
        module: device.createShaderModule({code: shaderSource(program)}),
        entryPoint: 'main',
      },
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}

/**
 * Dispatches `program` on `inputs`, writing new float32 tensors of
 * `outputShapes` (in the order of `program.outputs`), and returns them.
 */
export function runProgram(
  backend: WebGPUBackend,
  program: ComputeProgram,
  inputs: TensorInfo[],
  outputShapes: number[][],
  uniforms: UniformValue[],
): TensorInfo[] {
  const internals = backend as unknown as BackendInternals;
  const outputs = outputShapes.map(shape => backend.makeTensorInfo(shape, 'float32'));
  [...outputs, ...inputs].forEach(tensor => {
    backend.uploadToGPU(tensor.dataId);
    internals.commandQueueOwnedIds.add(tensor.dataId);
  });
  const pipeline = pipelineFor(backend.device, program);
  const resources = [...outputs, ...inputs].map(t => internals.tensorToBinding(t));
  resources.push(internals.makeUniforms(uniforms));
  const bindGroup = backend.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({binding, resource})),
  });
  record(internals, backend.device, program, pipeline, bindGroup);
  return outputs;
}

/** recordAndSubmit's dispatch, timers and submit policy. */
function record(
  internals: BackendInternals,
  device: GPUDevice,
  program: ComputeProgram,
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
  program: ComputeProgram,
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
  passes: (run: PassRunner) => TensorInfo[],
): TensorInfo[] {
  const made: TensorInfo[] = [];
  let results: TensorInfo[] = [];
  try {
    results = passes((program, inputs, outputShapes, uniforms) => {
      const outputs = runProgram(backend, program, inputs, outputShapes, uniforms);
      made.push(...outputs);
      return outputs;
    });
    return results;
  } finally {
    const kept = new Set(results.map(t => t.dataId));
    made.filter(t => !kept.has(t.dataId)).forEach(t => backend.disposeData(t.dataId));
  }
}
