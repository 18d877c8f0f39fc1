/**
 * WebGPU-specific checks of the fused kernels: the backend is the real one,
 * how many programs a call dispatches, the two shapes that stress the tiling
 * (few instances with a large image, many instances with a small one), vec4
 * and scalar layouts, and GPU buffers after forward and gradient.
 */
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {instanceNorm} from '../src/index';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';
import {PLAN_FLAG} from '../kernels/common/device_class';
import {TARGET_WORKGROUPS_FLAG} from '../kernels/webgpu/budget';
import {BIND_GROUPS_PER_LAYOUT} from '../kernels/webgpu/dispatch';
import {planTiling} from '../kernels/webgpu/plan';
import {normGeometry} from '../src/geometry';

import {
  Case,
  CASES,
  caseData,
  caseTensors,
  describeCase,
  makeCase,
  runForwardKernel,
  runGradientKernel,
} from './cases';
import {referenceForward, referenceGradient} from './reference';
import {
  describeEachBackend,
  backendDataIds,
  expectClose,
  DataFormat,
  tf,
  tolerance,
  withoutKernelLeakCheck,
} from './setup';

const BACKEND = 'webgpu';
const TWO_PASSES = ['InstanceNormMoments', 'InstanceNormFusedNormalize'];
const TWO_GRAD_PASSES = ['InstanceNormGradSums', 'InstanceNormFusedInputGrad'];
const THREE_PASSES = ['InstanceNormMoments', 'InstanceNormStatistics', 'InstanceNormNormalize'];
const THREE_GRAD_PASSES = [
  'InstanceNormGradSums',
  'InstanceNormParamGrad',
  'InstanceNormInputGrad',
];
const ONE_PASS = ['InstanceNormOnePass'];
const ONE_GRAD_PASS = ['InstanceNormGradOnePass'];

/**
 * The labels of the pipelines `fn` dispatches, in order (the package's
 * programs label their pipelines with their names; tfjs' have none).
 */
function recordPrograms<T>(fn: () => T): {result: T; programs: string[]} {
  const encoder = GPUComputePassEncoder.prototype;
  const original = encoder.setPipeline;
  const programs: string[] = [];
  encoder.setPipeline = function (this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
    programs.push(pipeline.label);
    original.call(this, pipeline);
  };
  try {
    return {result: fn(), programs};
  } finally {
    encoder.setPipeline = original;
  }
}

/** Forward and gradient kernels on one case against the float64 reference. */
async function checkKernelsAgainstReference(c: Case): Promise<void> {
  const {atol, rtol} = tolerance(BACKEND);
  const d = caseData(c, 3);
  const expected = referenceForward(d.x, c.shape, d.gamma, d.beta, c.epsilon, c.format);
  const expectedGrad = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
  const inputs = caseTensors(c, d);
  const {x, dy, gamma, beta} = inputs;

  const [y, mean, invStd] = runForwardKernel(x, gamma, beta, c.epsilon, c.format);
  expectClose(await y.data(), expected.y, atol, rtol, 'y');
  expectClose(await mean.data(), expected.mean, atol, rtol, 'mean');
  expectClose(await invStd.data(), expected.invStd, atol, rtol, 'invStd');
  const [dx, dgamma, dbeta] = runGradientKernel(dy, x, gamma, mean, invStd, c.format);
  // As in gradient.spec: dx scales with invStd; dgamma and dbeta sum N * S
  // terms of size 1.
  const dxScale = c.constantChannel != null ? 1 / Math.sqrt(c.epsilon) : 1 / c.scale;
  expectClose(await dx.data(), expectedGrad.dx, atol * Math.max(1, dxScale), rtol, 'dx');
  expectClose(await dgamma.data(), expectedGrad.dgamma, atol * 10, rtol, 'dgamma');
  expectClose(await dbeta.data(), expectedGrad.dbeta, atol * 10, rtol, 'dbeta');
  tf.dispose([...inputs.all, y, mean, invStd, dx, dgamma, dbeta]);
}

/** Runs fn with the reduction spread over `target` workgroups (0: the adapter's choice). */
async function withTarget(target: number, fn: () => Promise<void>): Promise<void> {
  const previous = tf.env().getNumber(TARGET_WORKGROUPS_FLAG);
  tf.env().set(TARGET_WORKGROUPS_FLAG, target);
  try {
    await fn();
  } finally {
    tf.env().set(TARGET_WORKGROUPS_FLAG, previous);
  }
}

describeEachBackend(
  'webgpu kernels',
  () => {
    it('runs on the real webgpu backend with a GPU device', () => {
      const backend = tf.backend() as WebGPUBackend;
      expect(tf.getBackend()).toBe(BACKEND);
      expect(backend.device instanceof GPUDevice).toBe(true);
      expect(tf.getKernel(InstanceNorm, BACKEND)).toBeDefined();
      expect(tf.getKernel(InstanceNormGrad, BACKEND)).toBeDefined();
    });

    // Planned for a GPU, an (n, c) extent of at most ONE_PASS_MAX_EXTENT takes
    // the one-pass forward, and the one-pass gradient too while the group over
    // all instances holds at most ONE_PASS_GRAD_MAX_ELEMENTS (ONE_PASS_GRAD_MAX_SPARSE
    // with 32 channelsLast groups or more); larger ones
    // take two passes each way, except an instance norm whose reduction the
    // fused pass would cut too far (C = 256 here: three passes each way); a
    // CPU-emulated adapter always takes three.
    const dispatchCases: Array<[DataFormat, number[], string, string[], string[]]> = [
      ['channelsLast', [2, 16, 16, 8], 'gpu', ONE_PASS, ONE_GRAD_PASS],
      ['channelsFirst', [2, 8, 16, 16], 'gpu', ONE_PASS, ONE_GRAD_PASS],
      ['channelsLast', [16, 16, 16, 8], 'gpu', ONE_PASS, ONE_GRAD_PASS],
      ['channelsLast', [16, 64, 64, 8], 'gpu', ONE_PASS, TWO_GRAD_PASSES],
      ['channelsLast', [9, 32, 32, 32], 'gpu', ONE_PASS, TWO_GRAD_PASSES],
      ['channelsLast', [2, 16, 16, 8], 'software', THREE_PASSES, THREE_GRAD_PASSES],
      ['channelsFirst', [2, 8, 16, 16], 'software', THREE_PASSES, THREE_GRAD_PASSES],
      ['channelsLast', [1, 72, 64, 8], 'gpu', TWO_PASSES, TWO_GRAD_PASSES],
      ['channelsFirst', [1, 8, 72, 64], 'gpu', TWO_PASSES, TWO_GRAD_PASSES],
      ['channelsLast', [1, 24, 24, 256], 'gpu', THREE_PASSES, THREE_GRAD_PASSES],
    ];
    let savedPlan: string;
    beforeEach(() => (savedPlan = tf.env().get(PLAN_FLAG) as string));
    afterEach(() => tf.env().set(PLAN_FLAG, savedPlan));
    for (const [format, shape, plan, forwardPrograms, gradientPrograms] of dispatchCases) {
      const count = forwardPrograms.length;
      const gradCount = gradientPrograms.length;
      it(`dispatches ${count} programs per forward and ${gradCount} per gradient — [${shape}] ${format}, ${plan} plan`, async () => {
        tf.env().set(PLAN_FLAG, plan);
        const x = tf.randomNormal(shape);
        const dy = tf.randomNormal(shape);
        const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
        const gamma = tf.ones([channels]);
        const beta = tf.zeros([channels]);
        const attrs = {epsilon: 1e-5, dataFormat: format};
        const forward = recordPrograms(
          () => tf.engine().runKernel(InstanceNorm, {x, gamma, beta}, attrs) as tf.Tensor[],
        );
        expect(forward.programs).toEqual(forwardPrograms);
        const [y, mean, invStd] = forward.result;
        const backward = recordPrograms(
          () =>
            tf
              .engine()
              .runKernel(
                InstanceNormGrad,
                {dy, x, gamma, mean, invStd},
                {dataFormat: format},
              ) as tf.Tensor[],
        );
        expect(backward.programs).toEqual(gradientPrograms);
        await Promise.all(backward.result.map(t => t.data()));

        // Through the op: the forward adds no dispatch of its own, and a
        // gradient with a given dy is exactly forward + gradient kernels.
        const op = recordPrograms(() => instanceNorm(x, gamma, beta, 1e-5, format));
        expect(op.programs.length).toBe(count);
        const grads = await withoutKernelLeakCheck(() =>
          recordPrograms(() =>
            tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
              instanceNorm(a, g, b, 1e-5, format),
            )([x, gamma, beta], dy),
          ),
        );
        expect(grads.programs.length).toBe(count + gradCount);
        tf.dispose([
          x,
          dy,
          gamma,
          beta,
          y,
          mean,
          invStd,
          op.result,
          ...backward.result,
          ...grads.result,
        ]);
      });
    }

    // The shapes of the benchmark, checked in full against float64, with the
    // adapter's tiling and with 256 workgroups wanted (many chunks).
    const shapes: Array<[string, number[], DataFormat, number]> = [
      ['few instances, large image, offset 1e4', [1, 256, 256, 16], 'channelsLast', 1e4],
      ['few instances, large image', [1, 16, 256, 256], 'channelsFirst', 0],
      ['many instances, small image', [16, 16, 16, 128], 'channelsLast', 0],
      ['many instances, small image, offset 1e4', [16, 128, 16, 16], 'channelsFirst', 1e4],
      ['long chunks per lane, offset 1e4', [1, 512, 512, 4], 'channelsLast', 1e4],
      ['uneven chunks of S', [1, 37, 41, 4], 'channelsLast', 0],
      ['uneven chunks of S', [1, 3, 37, 41], 'channelsFirst', 0],
    ];
    for (const target of [0, 256, 5]) {
      for (const [name, shape, format, offset] of shapes) {
        it(
          `forward and gradient match float64 — ${name}: [${shape}] ${format}, ` +
            `target ${target || 'of the adapter'}`,
          async () => {
            await withTarget(target, () =>
              checkKernelsAgainstReference(makeCase('', shape, format, {offset})),
            );
          },
        );
      }
    }

    // Every case of the suite with S cut into as many chunks as it allows
    // (the merge of partials runs on small shapes too), and with 3 workgroups
    // looping over the items (an uneven number each, in most cases).
    for (const c of CASES) {
      for (const target of [1 << 20, 3]) {
        it(`matches float64 with ${target} workgroups wanted — ${describeCase(c)}`, async () => {
          await withTarget(target, () => checkKernelsAgainstReference(c));
        });
      }
    }

    // vec4 loads need C % 4 == 0 (channelsLast) or S % 4 == 0 (channelsFirst);
    // every other size takes the scalar path, and C > 4 * 64 needs several
    // channel tiles.
    const layouts: Array<[string, number[], DataFormat]> = [
      ['vec4 channels', [2, 9, 9, 8], 'channelsLast'],
      ['scalar channels (C = 6)', [2, 9, 9, 6], 'channelsLast'],
      ['scalar channels (C = 1)', [2, 9, 9, 1], 'channelsLast'],
      ['vec4 channels over two tiles (C = 260)', [2, 3, 3, 260], 'channelsLast'],
      ['scalar channels over two tiles (C = 70)', [2, 3, 3, 70], 'channelsLast'],
      ['vec4 pixels', [2, 6, 8, 8], 'channelsFirst'],
      ['scalar pixels (S = 81)', [2, 8, 9, 9], 'channelsFirst'],
      ['rank 5, vec4 channels', [2, 3, 4, 5, 12], 'channelsLast'],
      ['rank 3, scalar pixels', [3, 5, 7], 'channelsFirst'],
    ];
    for (const [name, shape, format] of layouts) {
      it(`${name}: [${shape}] ${format}`, async () => {
        const tiling = planTiling(normGeometry(shape, format, undefined, InstanceNorm));
        const contiguous =
          format === 'channelsLast'
            ? shape[shape.length - 1]
            : shape.slice(2).reduce((a, b) => a * b, 1);
        expect(tiling.vector).toBe(contiguous % 4 === 0 ? 4 : 1);
        await checkKernelsAgainstReference(makeCase('', shape, format));
      });
    }

    it('frees its intermediate buffers: same buffers and GPU bytes after forward + gradient', async () => {
      const backend = tf.backend() as WebGPUBackend;
      const shape = [1, 64, 64, 8];
      const x = tf.randomNormal(shape);
      const dy = tf.randomNormal(shape);
      const gamma = tf.ones([8]);
      // Upload the inputs first: they count in the GPU bytes.
      const warm = runForwardKernel(x, gamma, null, 1e-5, 'channelsLast');
      const warmGrads = runGradientKernel(dy, x, gamma, warm[1], warm[2], 'channelsLast');
      await Promise.all(warmGrads.map(t => t.data()));
      tf.dispose([...warm, ...warmGrads]);
      const before = {
        tensors: tf.memory().numTensors,
        ids: backendDataIds(),
        bytes: backend.memory().numBytesInGPU,
      };
      for (let i = 0; i < 3; i++) {
        const outputs = runForwardKernel(x, gamma, null, 1e-5, 'channelsLast');
        // Exactly the three outputs are new; the partials are gone.
        expect(backendDataIds()).toBe(before.ids + 3);
        const [y, mean, invStd] = outputs;
        const grads = runGradientKernel(dy, x, gamma, mean, invStd, 'channelsLast');
        expect(backendDataIds()).toBe(before.ids + 6);
        await Promise.all(grads.map(t => t.data()));
        tf.dispose([y, mean, invStd, ...grads]);
        expect(tf.memory().numTensors).toBe(before.tensors);
        expect(backendDataIds()).toBe(before.ids);
        expect(backend.memory().numBytesInGPU).toBe(before.bytes);
      }
      tf.dispose([x, dy, gamma]);
    });

    it('creates a bind group once per set of buffers, and stays exact past its cache size', async () => {
      const device = (tf.backend() as WebGPUBackend).device;
      const shape = [2, 5, 7, 4];
      const created = spyOn(device, 'createBindGroup').and.callThrough();
      const x = tf.randomNormal(shape);
      const forward = async (input: tf.Tensor): Promise<Float32Array> => {
        const outputs = runForwardKernel(input, null, null, 1e-5, 'channelsLast');
        const y = (await outputs[0].data()) as Float32Array;
        tf.dispose(outputs);
        return y;
      };
      const first = await forward(x);
      for (let i = 0; i < 10; i++) await forward(x);
      // The same input again: tfjs' pool hands back the same buffers, so the
      // bind groups of every pass come from the cache, and y is the same.
      const warm = created.calls.count();
      for (let i = 0; i < 10; i++) expect(await forward(x)).toEqual(first);
      expect(created.calls.count()).toBe(warm);

      // More distinct inputs than the cache keeps per layout (each evicts an
      // older bind group), then the first ones again: every y still matches
      // float64.
      const inputs = Array.from({length: BIND_GROUPS_PER_LAYOUT + 6}, () => tf.randomNormal(shape));
      const {atol, rtol} = tolerance(BACKEND);
      for (const input of [...inputs, ...inputs.slice(0, 6)]) {
        const expected = referenceForward(
          await input.data(),
          shape,
          null,
          null,
          1e-5,
          'channelsLast',
        );
        expectClose(await forward(input), expected.y, atol, rtol);
      }
      expect(created.calls.count()).toBeGreaterThan(warm);
      tf.dispose([x, ...inputs]);
    });
  },
  {envs: [BACKEND]},
);
