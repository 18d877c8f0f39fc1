/**
 * The program cache: a program key (its builder and the builder's arguments)
 * → the program and its WGSL text, built once; the WGSL text → its compute
 * pipeline, compiled once per device. Two keys that build the same WGSL share
 * one pipeline.
 */
import {env} from '@tensorflow/tfjs-core';

import type {ComputeProgram} from './dispatch';
import {LruCache} from './lru_cache';
import {uniformStruct} from './uniforms';

/**
 * Programs kept: each call signature uses one to three, and builders that
 * differ only in uniform values share theirs.
 */
export const PROGRAMS_KEPT = 512;

/** Pipelines kept per device, one per distinct WGSL text. */
export const PIPELINES_KEPT = 512;

/** A program with its full WGSL text. */
export interface CachedProgram extends ComputeProgram {
  readonly source: string;
}

/** A compiled program: its pipeline and the layout of its bind group. */
export interface CompiledProgram {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const programs = new LruCache<string, CachedProgram>(PROGRAMS_KEPT);
const builderIds = new WeakMap<object, number>();
let nextBuilderId = 0;

/**
 * `builder(...args)` with its WGSL, built once per program key (the builder
 * and the JSON of its arguments: the builders take plain objects of numbers
 * and strings). A hit skips assembling the WGSL.
 */
export function programOf<Args extends unknown[]>(
  builder: (...args: Args) => ComputeProgram,
  ...args: Args
): CachedProgram {
  let id = builderIds.get(builder);
  if (id == null) {
    id = nextBuilderId++;
    builderIds.set(builder, id);
  }
  return programs.getOrCreate(`${id}:${JSON.stringify(args)}`, () => {
    const program = builder(...args);
    return {...program, source: shaderSource(program)};
  });
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

const pipelines = new WeakMap<GPUDevice, LruCache<string, CompiledProgram>>();

/** The pipeline of a program's WGSL on `device`, compiled on the first call. */
export function pipelineOf(device: GPUDevice, program: CachedProgram): CompiledProgram {
  let cache = pipelines.get(device);
  if (cache == null) {
    cache = new LruCache(PIPELINES_KEPT);
    pipelines.set(device, cache);
  }
  return cache.getOrCreate(program.source, () => compile(device, program));
}

function compile(device: GPUDevice, program: CachedProgram): CompiledProgram {
  printShader(program.name, program.source);
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
    compute: {module: device.createShaderModule({code: program.source}), entryPoint: 'main'},
  });
  return {pipeline, layout};
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
