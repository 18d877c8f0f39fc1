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
 */
import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import type {BackendInternals} from './backend_seam';
import {UniformField, uniformStruct, UniformValue} from './uniforms';

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

interface CompiledProgram {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/** Pipelines per device, keyed by their full WGSL text. */
const pipelines = new WeakMap<GPUDevice, Map<string, CompiledProgram>>();

/** Each builder's programs, keyed by its arguments. */
const builtPrograms = new Map<unknown, Map<string, ComputeProgram>>();

/**
 * `builder(...args)`, built once per distinct arguments (their JSON: the
 * builders take plain objects of numbers and strings): a call then skips
 * assembling the WGSL (~20 µs a program in Node). The pipeline stays keyed
 * by the WGSL itself.
 */
export function builtProgram<Args extends unknown[]>(
  builder: (...args: Args) => ComputeProgram,
  ...args: Args
): ComputeProgram {
  let programs = builtPrograms.get(builder);
  if (programs == null) {
    programs = new Map();
    builtPrograms.set(builder, programs);
  }
  const key = JSON.stringify(args);
  let program = programs.get(key);
  if (program == null) {
    program = builder(...args);
    programs.set(key, program);
  }
  return program;
}

/** Most call signatures remembered (the oldest goes first). */
const MAX_SIGNATURES = 1024;

/** Per call signature, the values a kernel computed for it, by name. */
const signatures = new Map<string, Map<string, unknown>>();

/** A value computed once per call signature: `memo(name, compute)`. */
export type Memo = <T>(name: string, compute: () => T) => T;

/**
 * The memo of a call signature: a string naming everything a kernel's
 * geometry, plans, programs and uniform values depend on (its shapes,
 * attributes and workgroup budget). A repeated call then skips them all and
 * does two map lookups per value (in Node + Dawn they were 16% of the
 * kernels' host time).
 */
export function signatureMemo(signature: string): Memo {
  let values = signatures.get(signature);
  if (values == null) {
    values = new Map();
    if (signatures.size >= MAX_SIGNATURES) {
      signatures.delete(signatures.keys().next().value as string);
    }
    signatures.set(signature, values);
  }
  const memo = values;
  return <T>(name: string, compute: () => T): T => {
    if (!memo.has(name)) memo.set(name, compute());
    return memo.get(name) as T;
  };
}

/** The WGSL of each program object, assembled once. */
const sources = new WeakMap<ComputeProgram, string>();

function sourceOf(program: ComputeProgram): string {
  let source = sources.get(program);
  if (source == null) {
    source = shaderSource(program);
    sources.set(program, source);
  }
  return source;
}

/** The full WGSL of a program: uniforms, bindings and the entry point. */
export function shaderSource(program: ComputeProgram): string {
  const storage = [
    ...program.outputs.map(b => ({...b, access: 'read_write'})),
    ...program.inputs.map(b => ({...b, access: 'read'})),
  ];
  const declarations = storage.map(
    (b, i) => `@group(0) @binding(${i}) var<storage, ${b.access}> ${b.name} : array<${b.type}>;`,
  );
  return `// ${program.name}
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

/** Prints the shader as tfjs does for its own under the flag `WEBGPU_PRINT_SHADER`. */
function printShader(name: string, source: string): void {
  const flag = String(env().get('WEBGPU_PRINT_SHADER')).toLowerCase();
  if (flag === '' || flag === 'false') return;
  if (flag === 'all' || flag.split(',').some(item => name.toLowerCase().includes(item))) {
    console.group(name);
    console.debug(source);
    console.groupEnd();
  }
}

function compile(device: GPUDevice, program: ComputeProgram): CompiledProgram {
  let cache = pipelines.get(device);
  if (cache == null) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const source = sourceOf(program);
  let compiled = cache.get(source);
  if (compiled == null) {
    printShader(program.name, source);
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
    const pipeline = device.createComputePipeline({
      label: program.name,
      layout: device.createPipelineLayout({bindGroupLayouts: [layout]}),
      compute: {module: device.createShaderModule({code: source}), entryPoint: 'main'},
    });
    compiled = {pipeline, layout};
    cache.set(source, compiled);
  }
  return compiled;
}

/**
 * Dispatches `program` on `inputs`, writing new float32 tensors of
 * `outputShapes` (in the order of `program.outputs`), and returns them.
 */
export function runProgram(
  backend: WebGPUBackend,
  internals: BackendInternals,
  program: ComputeProgram,
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
  const {pipeline, layout} = compile(backend.device, program);
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
 * Most bind groups kept per layout (the oldest goes first). tfjs' buffer
 * manager hands the same pooled buffers out again call after call, so a loop
 * over one shape meets the same few sets of buffers.
 */
export const BIND_GROUPS_PER_LAYOUT = 64;

/** Bind groups per layout, keyed by their buffers (identity, offset, size) in binding order. */
const bindGroups = new WeakMap<GPUBindGroupLayout, Map<string, GPUBindGroup>>();
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
 * created once per distinct set of buffers. createBindGroup was the largest
 * host cost of a dispatch (Node + Dawn on an H100: 45% of the kernels' host
 * time). A hit is always safe: the buffers are the ones bound right now, so
 * none of them is destroyed; a buffer's id is never given to another.
 */
function bindGroupOf(
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
    cache = new Map();
    bindGroups.set(layout, cache);
  }
  let key = '';
  for (const {buffer, offset, size} of resources) {
    key += `${bufferId(buffer)}:${offset ?? 0}:${size ?? ''},`;
  }
  let group = cache.get(key);
  if (group == null) {
    group = create();
    if (cache.size >= BIND_GROUPS_PER_LAYOUT) {
      cache.delete(cache.keys().next().value as string);
    }
    cache.set(key, group);
  }
  return group;
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
