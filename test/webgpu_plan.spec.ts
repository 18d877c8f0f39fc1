/**
 * Unit specs of the WebGPU kernels' planning (kernels/webgpu/plan.ts) and
 * uniform lists: numbers only, no GPU needed.
 */
import {normGeometry} from '../src/geometry';
import {budgetFor, deviceClassOf, GPU_BUDGET} from '../kernels/webgpu/budget';
import {
  canMergeGroups,
  dispatchOf,
  mergesGroups,
  ONE_PASS_MAX_EXTENT,
  ONE_PASS_GRAD_MAX_ELEMENTS,
  ONE_PASS_GRAD_MAX_SPARSE,
  planElementwise,
  planFused,
  planOnePass,
  planOnePassGrad,
  planTiling,
  vectorWidth,
} from '../kernels/webgpu/plan';
import {fields, uniformStruct, uniformValues} from '../kernels/webgpu/uniforms';

const SWIFTSHADER = {vendor: 'google', architecture: 'swiftshader'};
const NVIDIA = {vendor: 'nvidia', architecture: ''};

function geometryOf(
  shape: readonly number[],
  dataFormat: 'channelsLast' | 'channelsFirst',
  groups?: number,
) {
  return normGeometry(shape, dataFormat, groups, 'InstanceNorm');
}

describe('webgpu planning', () => {
  it('sees x as [N, S, C] or [N, C, S] with C / groups channels per group', () => {
    expect(geometryOf([2, 5, 6, 12], 'channelsLast', 4)).toEqual({
      dataFormat: 'channelsLast',
      batch: 2,
      spatial: 30,
      channels: 12,
      groups: 4,
      channelsPerGroup: 3,
      groupSize: 90,
    });
    const instance = geometryOf([3, 8, 4, 4, 4], 'channelsFirst');
    expect([instance.spatial, instance.groups, instance.channelsPerGroup]).toEqual([64, 8, 1]);
    const features = geometryOf([3, 8], 'channelsLast', 2);
    expect([features.spatial, features.groups, features.groupSize]).toEqual([1, 2, 4]);
  });

  it('tells a CPU-emulated adapter from a GPU and budgets each', () => {
    expect(deviceClassOf(SWIFTSHADER)).toBe('software');
    expect(deviceClassOf({isFallbackAdapter: true})).toBe('software');
    expect(deviceClassOf(NVIDIA)).toBe('gpu');
    expect(budgetFor('gpu', 16)).toBe(GPU_BUDGET);
    const cpu = budgetFor('software', 2);
    expect(cpu.max).toBe(8);
    // One lane per slot and per fold: no barrier tree on a CPU.
    expect([cpu.maxMembers, cpu.foldLanes, cpu.onePassLanes]).toEqual([1, 1, 0]);
    // Three passes each way there: the fused pass's barriers cost more than a dispatch.
    expect([GPU_BUDGET.fusedPass, cpu.fusedPass]).toEqual([true, false]);
  });

  it('fills a 132-SM GPU on large tensors in both layouts', () => {
    for (const [shape, format] of [
      [[4, 512, 512, 32], 'channelsLast'],
      [[4, 32, 512, 512], 'channelsFirst'],
    ] as const) {
      const tiling = planTiling(geometryOf(shape, format), GPU_BUDGET);
      expect(tiling.vector).toBe(4);
      expect(tiling.items).toBeGreaterThanOrEqual(1024);
      expect(tiling.itemsPerWorkgroup).toBe(1);
      // Every lane still gets several loads per chunk.
      const loads = tiling.geometry.dataFormat === 'channelsLast' ? tiling.chunk : tiling.chunk / 4;
      expect(loads / tiling.members).toBeGreaterThanOrEqual(8);
    }
  });

  it('loops few workgroups over many items on a CPU adapter', () => {
    const tiling = planTiling(
      geometryOf([16, 128, 16, 16], 'channelsFirst'),
      budgetFor('software', 2),
    );
    expect(tiling.dispatch).toEqual([8, 1, 1]);
    expect(tiling.itemsPerWorkgroup).toBeGreaterThan(1);
    expect(tiling.members).toBe(1);
    expect(tiling.slots).toBe(64);
  });

  it('takes vec4 loads where the contiguous axis allows', () => {
    expect(vectorWidth(geometryOf([2, 9, 9, 8], 'channelsLast'))).toBe(4);
    expect(vectorWidth(geometryOf([2, 9, 9, 6], 'channelsLast'))).toBe(1);
    expect(vectorWidth(geometryOf([2, 8, 6, 8], 'channelsFirst'))).toBe(4);
    expect(vectorWidth(geometryOf([2, 8, 9, 9], 'channelsFirst'))).toBe(1);
    const elementwise = planElementwise(geometryOf([4, 512, 512, 32], 'channelsLast'), GPU_BUDGET);
    expect(elementwise.units).toBe((4 * 512 * 512 * 32) / 4);
  });

  it('runs the forward in one pass only when an (n, group) is small', () => {
    expect(planOnePass(geometryOf([8, 64, 64, 32], 'channelsLast'), GPU_BUDGET)).not.toBeNull();
    expect(planOnePass(geometryOf([2, 64, 64, 320], 'channelsLast', 32), GPU_BUDGET)).toBeNull();
    // Rows wider than ONE_PASS_MAX_ROW floats take three passes once a lane loads more than one.
    expect(planOnePass(geometryOf([2, 32, 32, 64], 'channelsLast'), GPU_BUDGET)).toBeNull();
    expect(planOnePass(geometryOf([16, 16, 16, 128], 'channelsLast'), GPU_BUDGET)).not.toBeNull();
    // One group's extent is contiguous whatever C: layer norm's [R, D] rows (as [R, 1, D]).
    expect(planOnePass(geometryOf([4096, 1, 768], 'channelsLast', 1), GPU_BUDGET)).not.toBeNull();
    expect(planOnePass(geometryOf([2, 32, 32, 4], 'channelsLast', 1), GPU_BUDGET)).not.toBeNull();
    expect(planOnePass(geometryOf([4, 1, 4097], 'channelsLast', 1), GPU_BUDGET)).toBeNull();
    expect(planOnePass(geometryOf([2, 64, 4, 4], 'channelsFirst'), GPU_BUDGET)).not.toBeNull();
    const side = Math.sqrt(ONE_PASS_MAX_EXTENT);
    expect(planOnePass(geometryOf([1, 1, side, side], 'channelsFirst'), GPU_BUDGET)).not.toBeNull();
    expect(planOnePass(geometryOf([1, 1, side, side + 1], 'channelsFirst'), GPU_BUDGET)).toBeNull();
  });

  it('runs the gradient in one pass only when a group over all instances is small', () => {
    // The bench's small shapes: one dispatch each way.
    for (const [shape, format] of [
      [[16, 16, 16, 128], 'channelsLast'],
      [[1, 32, 32, 8], 'channelsLast'],
      [[2, 32, 64, 64], 'channelsFirst'],
    ] as const) {
      const plan = planOnePassGrad(geometryOf([...shape], format), GPU_BUDGET);
      expect(plan).withContext(`[${shape}]`).not.toBeNull();
      expect(plan?.dispatch[0]).toBe(format === 'channelsLast' ? shape[3] : shape[1]);
    }
    // One pass up to a limit of elements a group over all instances, `rows`
    // instances of `pixels` x C: ONE_PASS_GRAD_MAX_ELEMENTS, and
    // ONE_PASS_GRAD_MAX_SPARSE where channelsLast reads are sparse (32 groups
    // or more; 8x64x64x32 has 32768 elements a group).
    const limits = [
      [ONE_PASS_GRAD_MAX_ELEMENTS / 4096, [64, 64, 8]],
      [ONE_PASS_GRAD_MAX_SPARSE / 1024, [32, 32, 32]],
    ] as const;
    for (const [rows, pixels] of limits) {
      const at = planOnePassGrad(geometryOf([rows, ...pixels], 'channelsLast'), GPU_BUDGET);
      const past = planOnePassGrad(geometryOf([rows + 1, ...pixels], 'channelsLast'), GPU_BUDGET);
      expect(at).withContext(`[${rows}, ${pixels}]`).not.toBeNull();
      expect(past)
        .withContext(`[${rows + 1}, ${pixels}]`)
        .toBeNull();
    }
    const sparseRows = ONE_PASS_GRAD_MAX_SPARSE / 1024;
    expect(planOnePassGrad(geometryOf([8, 64, 64, 32], 'channelsLast'), GPU_BUDGET)).toBeNull();
    expect(planOnePass(geometryOf([8, 64, 64, 32], 'channelsLast'), GPU_BUDGET)).not.toBeNull();
    expect(
      planOnePassGrad(geometryOf([sparseRows + 1, 32, 32, 32], 'channelsFirst'), GPU_BUDGET),
    ).not.toBeNull();
    // Never where the forward takes three passes, nor on a CPU adapter.
    expect(planOnePassGrad(geometryOf([1, 256, 256, 16], 'channelsLast'), GPU_BUDGET)).toBeNull();
    expect(
      planOnePassGrad(geometryOf([2, 16, 16, 8], 'channelsLast'), budgetFor('software', 2)),
    ).toBeNull();
  });

  it('runs the bench shapes that miss one pass in two dispatches, or three where the fold would starve the reduction', () => {
    for (const [shape, format, groups, fused] of [
      // Instance norm, channelsLast: the fold share would cut S 8x to 32x.
      [[1, 256, 256, 16], 'channelsLast', undefined, false],
      [[2, 128, 128, 64], 'channelsLast', undefined, false],
      [[2, 64, 64, 320], 'channelsLast', undefined, false],
      [[4, 512, 512, 32], 'channelsLast', undefined, false],
      // Group norm keeps the fused pass; so do these channelsFirst rows (no cut).
      [[2, 64, 64, 320], 'channelsLast', 32, true],
      [[8, 32, 32, 64], 'channelsLast', 8, true],
      [[4, 32, 512, 512], 'channelsFirst', undefined, true],
      [[2, 32, 96, 96], 'channelsFirst', undefined, true],
    ] as const) {
      const geometry = geometryOf([...shape], format, groups);
      const name = `[${shape}] ${format} groups ${groups ?? 'C'}`;
      expect(planOnePass(geometry, GPU_BUDGET)).withContext(name).toBeNull();
      expect(planOnePassGrad(geometry, GPU_BUDGET)).withContext(name).toBeNull();
      for (const fields of [2, 3]) {
        const plan = planFused(geometry, GPU_BUDGET, fields);
        expect(plan.fused).withContext(name).toBe(fused);
        if (!plan.fused) {
          // Three passes: S is split as the reduction alone splits it.
          expect(plan.tiling).withContext(name).toEqual(planTiling(geometry, GPU_BUDGET));
          continue;
        }
        const {channelsPerGroup, channels, spatial} = geometry;
        const channelsLast = format === 'channelsLast';
        // What an item folds against what it normalizes: at most 1 / 8.
        const width = channelsLast ? plan.tileLoads * plan.vector : channelsPerGroup;
        const span = channelsLast
          ? Math.min(channels, width + 2 * (channelsPerGroup - 1))
          : channelsPerGroup;
        const elements = channelsLast
          ? (spatial / plan.segments) * width
          : (channelsPerGroup * spatial) / plan.segments;
        expect(fields * plan.splits * span * 8)
          .withContext(name)
          .toBeLessThanOrEqual(elements);
        expect(plan.segments).toBeLessThanOrEqual(plan.splits);
        expect(plan.items).withContext(name).toBeGreaterThanOrEqual(48);
        expect(plan.foldSlots * plan.foldMembers).toBe(plan.lanes);
        expect(plan.tileLoads).toBeLessThanOrEqual(64);
      }
    }
  });

  it("merges a group norm's moments per group where a tile holds whole groups", () => {
    // Instance norm has nothing to merge; 65 channels a group fit no tile of 64 scalar loads.
    expect(canMergeGroups(geometryOf([2, 4, 4, 320], 'channelsLast'))).toBeFalse();
    expect(canMergeGroups(geometryOf([2, 4, 4, 130], 'channelsLast', 2))).toBeFalse();
    expect(canMergeGroups(geometryOf([2, 4, 4, 130], 'channelsFirst', 2))).toBeTrue();
    // Stable Diffusion's 32 groups of 10: tiles of 60 loads (240 channels, 24 groups), and
    // the per-group partials let the fold pass take S split as far as the reduction wants.
    const sd = geometryOf([2, 64, 64, 320], 'channelsLast', 32);
    const plan = planFused(sd, GPU_BUDGET, 2, true);
    expect(plan.fused).toBeFalse();
    expect(mergesGroups(plan.tiling)).toBeTrue();
    expect(plan.tiling.slots).toBe(60);
    expect(plan.tiling.tiles).toBe(2);
    expect(plan.tiling.splits).toBe(planTiling(sd, GPU_BUDGET).splits);
    expect(plan.tiling.partials).toEqual({
      partialColumns: 32,
      partialsPerGroup: 1,
      partialChunk: plan.tiling.chunk * 10,
      partialExtent: 4096 * 10,
    });
    // A whole line in one tile; per-channel partials keep every channel.
    const small = planTiling(geometryOf([8, 32, 32, 64], 'channelsLast', 8), GPU_BUDGET, 8, true);
    expect([small.slots, small.partials.partialColumns]).toEqual([16, 8]);
    const perChannel = planTiling(geometryOf([8, 32, 32, 64], 'channelsLast', 8), GPU_BUDGET);
    expect(perChannel.partials).toEqual({
      partialColumns: 64,
      partialsPerGroup: 8,
      partialChunk: perChannel.chunk,
      partialExtent: 1024,
    });
    // channelsFirst reads the groups' rows: their chunks count elements of an extent.
    const rows = planTiling(geometryOf([2, 12, 40, 40], 'channelsFirst', 3), GPU_BUDGET, 8, true);
    expect(mergesGroups(rows)).toBeFalse();
    expect([rows.geometry.channels, rows.geometry.spatial]).toEqual([3, 6400]);
    expect(rows.partials).toEqual({
      partialColumns: 3,
      partialsPerGroup: 1,
      partialChunk: rows.chunk,
      partialExtent: 6400,
    });
    expect(() =>
      planTiling(geometryOf([2, 4, 4, 8], 'channelsLast'), GPU_BUDGET, 8, true),
    ).toThrow();
  });

  it('leaves S as the reduction alone splits it where the fold is not fused', () => {
    const cpu = budgetFor('software', 2);
    const geometry = geometryOf([1, 256, 256, 16], 'channelsLast');
    expect(planFused(geometry, cpu, 3).splits).toBe(planTiling(geometry, cpu).splits);
  });

  it('dispatches in two dimensions past 65535 workgroups', () => {
    expect(dispatchOf(65535)).toEqual([65535, 1, 1]);
    expect(dispatchOf(65536)).toEqual([65535, 2, 1]);
  });

  it('declares each uniform list once for both WGSL and values', () => {
    const list = [...fields('i32', 'batch', 'spatial'), ...fields('f32', 'epsilon')];
    expect(uniformStruct(list)).toBe(
      'struct Uniforms { batch : i32, spatial : i32, epsilon : f32, };',
    );
    expect(uniformValues(list, {epsilon: 0.5, batch: 2, spatial: 3, other: 'ignored'})).toEqual([
      {type: 'int32', data: [2]},
      {type: 'int32', data: [3]},
      {type: 'float32', data: [0.5]},
    ]);
    expect(() => uniformValues(list, {batch: 2})).toThrowError(/spatial/);
  });
});
