/**
 * The three caches of the WebGPU kernels, each with its bound: the program
 * cache (program key → program and WGSL text → pipeline), the bind groups
 * per layout and the per-signature plan memo. A hit returns the very object
 * the miss made; past its bound a cache drops its least recently used entry.
 * No GPU needed: pipelines and bind groups come from a counting fake device.
 */
import {bindGroupOf, BIND_GROUPS_PER_LAYOUT, bindGroupsHeld} from '../kernels/webgpu/dispatch';
import type {ComputeProgram} from '../kernels/webgpu/dispatch';
import {LruCache} from '../kernels/webgpu/lru_cache';
import {
  pipelineOf,
  PIPELINES_KEPT,
  programOf,
  PROGRAMS_KEPT,
  shaderSource,
} from '../kernels/webgpu/program_cache';
import {signatureMemo, signaturesHeld, SIGNATURES_KEPT} from '../kernels/webgpu/signature_memo';
import {fields} from '../kernels/webgpu/uniforms';

/** A program whose WGSL names `tag` (so distinct tags give distinct WGSL). */
function tinyProgram(tag: number): ComputeProgram {
  return {
    name: `Tiny${tag}`,
    workgroupSize: 1,
    dispatch: [1, 1, 1],
    outputs: [{name: 'y', type: 'f32'}],
    inputs: [{name: 'x', type: 'f32'}],
    uniforms: fields('i32', 'size'),
    code: `fn compute(lane : i32, workgroup : i32, workgroups : i32) { y[0] = x[0] + ${tag}.0; }`,
  };
}

/** A GPUDevice stand-in that counts what it creates; every object it returns is new. */
function fakeDevice() {
  const made = {pipelines: 0, bindGroups: 0};
  const device = {
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
    createShaderModule: () => ({}),
    createComputePipeline: () => {
      made.pipelines++;
      return {};
    },
    createBindGroup: () => {
      made.bindGroups++;
      return {};
    },
  };
  return {device: device as unknown as GPUDevice, made};
}

describe('webgpu caches', () => {
  describe('LruCache', () => {
    it('returns the stored object on a hit, without creating another', () => {
      const cache = new LruCache<string, object>(4);
      const create = jasmine.createSpy('create').and.callFake(() => ({}));
      const first = cache.getOrCreate('a', create);
      expect(cache.getOrCreate('a', create)).toBe(first);
      expect(create).toHaveBeenCalledTimes(1);
    });

    it('keeps at most its capacity, dropping the least recently used', () => {
      const cache = new LruCache<number, number>(3);
      for (const key of [1, 2, 3]) cache.getOrCreate(key, () => key);
      cache.getOrCreate(1, () => -1); // 1 is now the most recent
      cache.getOrCreate(4, () => 4); // drops 2
      expect(cache.size).toBe(3);
      expect([1, 2, 3, 4].map(key => cache.has(key))).toEqual([true, false, true, true]);
      for (let key = 5; key < 50; key++) cache.getOrCreate(key, () => key);
      expect(cache.size).toBe(3);
    });

    it('stores null and undefined values as hits', () => {
      const cache = new LruCache<string, null | undefined>(2);
      const create = jasmine.createSpy('create').and.returnValue(null);
      cache.getOrCreate('none', create);
      expect(cache.getOrCreate('none', create)).toBeNull();
      expect(create).toHaveBeenCalledTimes(1);
    });

    it('rejects a capacity below 1', () => {
      expect(() => new LruCache(0)).toThrowError(/capacity must be >= 1/);
    });
  });

  describe('program cache', () => {
    it('builds a program and its WGSL once per program key', () => {
      const builder = jasmine.createSpy('builder').and.callFake(tinyProgram);
      const first = programOf(builder, 1);
      expect(programOf(builder, 1)).toBe(first);
      expect(builder).toHaveBeenCalledTimes(1);
      expect(first.source).toBe(shaderSource(tinyProgram(1)));
      expect(programOf(builder, 2)).not.toBe(first);
      // Another builder with the same arguments is another key.
      const other = (tag: number) => tinyProgram(tag);
      expect(programOf(other, 1)).not.toBe(first);
    });

    it(`keeps at most ${PROGRAMS_KEPT} programs`, () => {
      const builder = jasmine.createSpy('builder').and.callFake(tinyProgram);
      const first = programOf(builder, 0);
      for (let tag = 1; tag <= PROGRAMS_KEPT; tag++) programOf(builder, tag);
      expect(builder).toHaveBeenCalledTimes(PROGRAMS_KEPT + 1);
      // Key 0 was the least recently used: it is built again, a new object.
      expect(programOf(builder, 0)).not.toBe(first);
      expect(builder).toHaveBeenCalledTimes(PROGRAMS_KEPT + 2);
      // The most recent keys are hits.
      programOf(builder, PROGRAMS_KEPT);
      expect(builder).toHaveBeenCalledTimes(PROGRAMS_KEPT + 2);
    });

    it(`compiles one pipeline per WGSL text and device, at most ${PIPELINES_KEPT}`, () => {
      const {device, made} = fakeDevice();
      const restore = withShaderStage();
      try {
        const program = programOf(tinyProgram, 7);
        const compiled = pipelineOf(device, program);
        expect(pipelineOf(device, program)).toBe(compiled);
        // The same WGSL from another program object: the same pipeline.
        expect(pipelineOf(device, {...program})).toBe(compiled);
        expect(made.pipelines).toBe(1);
        // Another device compiles its own.
        const second = fakeDevice();
        expect(pipelineOf(second.device, program)).not.toBe(compiled);
        for (let tag = 0; tag < PIPELINES_KEPT; tag++) {
          pipelineOf(device, {...program, source: shaderSource(tinyProgram(1000 + tag))});
        }
        expect(made.pipelines).toBe(1 + PIPELINES_KEPT);
        // The first WGSL was dropped: compiled again.
        expect(pipelineOf(device, program)).not.toBe(compiled);
        expect(made.pipelines).toBe(2 + PIPELINES_KEPT);
      } finally {
        restore();
      }
    });
  });

  describe('bind groups', () => {
    const buffers = Array.from({length: BIND_GROUPS_PER_LAYOUT + 8}, () => ({}) as GPUBuffer);
    const bindings = (i: number): GPUBufferBinding[] => [
      {buffer: buffers[i]},
      {buffer: buffers[0], offset: 0, size: 16},
    ];

    it('creates one per set of buffers and returns it on a hit', () => {
      const {device, made} = fakeDevice();
      const layout = {} as GPUBindGroupLayout;
      const group = bindGroupOf(device, layout, bindings(1));
      expect(bindGroupOf(device, layout, bindings(1))).toBe(group);
      expect(made.bindGroups).toBe(1);
      // Another offset of the same buffer is another binding.
      const shifted = [bindings(1)[0], {buffer: buffers[0], offset: 16, size: 16}];
      expect(bindGroupOf(device, layout, shifted)).not.toBe(group);
      // Another layout keeps its own.
      expect(bindGroupOf(device, {} as GPUBindGroupLayout, bindings(1))).not.toBe(group);
    });

    it(`keeps at most ${BIND_GROUPS_PER_LAYOUT} per layout`, () => {
      const {device, made} = fakeDevice();
      const layout = {} as GPUBindGroupLayout;
      const first = bindGroupOf(device, layout, bindings(0));
      for (let i = 1; i < buffers.length; i++) bindGroupOf(device, layout, bindings(i));
      expect(bindGroupsHeld(layout)).toBe(BIND_GROUPS_PER_LAYOUT);
      expect(made.bindGroups).toBe(buffers.length);
      expect(bindGroupOf(device, layout, bindings(0))).not.toBe(first);
      expect(bindGroupsHeld(layout)).toBe(BIND_GROUPS_PER_LAYOUT);
    });

    it('does not keep a binding that is not a buffer', () => {
      const {device, made} = fakeDevice();
      const layout = {} as GPUBindGroupLayout;
      const view = [{} as GPUBufferBinding];
      expect(bindGroupOf(device, layout, view)).not.toBe(bindGroupOf(device, layout, view));
      expect(made.bindGroups).toBe(2);
      expect(bindGroupsHeld(layout)).toBe(0);
    });
  });

  describe('per-signature plan memo', () => {
    it('computes a value once per signature and name', () => {
      const compute = jasmine.createSpy('compute').and.callFake(() => ({}));
      const memo = signatureMemo('webgpu_cache spec: one');
      const value = memo('plan', compute);
      expect(signatureMemo('webgpu_cache spec: one')('plan', compute)).toBe(value);
      expect(compute).toHaveBeenCalledTimes(1);
      signatureMemo('webgpu_cache spec: two')('plan', compute);
      memo('other', compute);
      expect(compute).toHaveBeenCalledTimes(3);
    });

    it(`keeps at most ${SIGNATURES_KEPT} signatures`, () => {
      const compute = jasmine.createSpy('compute').and.callFake(() => ({}));
      const first = signatureMemo('webgpu_cache spec: first')('plan', compute);
      for (let i = 0; i < SIGNATURES_KEPT; i++) {
        signatureMemo(`webgpu_cache spec: ${i}`)('plan', compute);
      }
      expect(signaturesHeld()).toBe(SIGNATURES_KEPT);
      expect(signatureMemo('webgpu_cache spec: first')('plan', compute)).not.toBe(first);
      expect(compute).toHaveBeenCalledTimes(SIGNATURES_KEPT + 2);
    });
  });
});

/** Defines GPUShaderStage where the browser has no WebGPU; returns the undo. */
function withShaderStage(): () => void {
  const scope = globalThis as {GPUShaderStage?: unknown};
  if (scope.GPUShaderStage != null) return () => undefined;
  scope.GPUShaderStage = {COMPUTE: 4};
  return () => delete scope.GPUShaderStage;
}
