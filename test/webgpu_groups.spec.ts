/**
 * Group norm through the webgpu kernels' `groups` attribute, against the
 * float64 reference: groups 1, 2, a middle value and C; both layouts; ranks
 * 3-5; an offset of 1e4 and a constant group; forward and gradient; with
 * the adapter's tiling and with S split as far as it goes.
 */
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';
import {PLAN_FLAG} from '../kernels/common/device_class';
import {TARGET_WORKGROUPS_FLAG} from '../kernels/webgpu/budget';

import {referenceForward, referenceGradient} from './reference';
import {describeEachBackend, expectClose, DataFormat, randomValues, TestEnv, tf} from './setup';

interface GroupCase {
  shape: number[];
  format: DataFormat;
  groups: number;
  offset: number;
  /** Sets group 0 of instance 0 to one value. */
  constantGroup: boolean;
}

/** Flat indices of the elements of (instance 0, group 0). */
function firstGroupIndices(shape: number[], format: DataFormat, groups: number): number[] {
  const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const spatialDims = format === 'channelsLast' ? shape.slice(1, -1) : shape.slice(2);
  const spatial = spatialDims.reduce((a, b) => a * b, 1);
  const groupChannels = channels / groups;
  const indices: number[] = [];
  for (let c = 0; c < groupChannels; c++) {
    for (let s = 0; s < spatial; s++) {
      indices.push(format === 'channelsLast' ? s * channels + c : c * spatial + s);
    }
  }
  return indices;
}

async function checkGroupCase(c: GroupCase, env: TestEnv): Promise<void> {
  const {atol, rtol} = env.tolerance;
  const size = c.shape.reduce((a, b) => a * b, 1);
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const x = randomValues(size, 11, 1, c.offset);
  if (c.constantGroup) {
    for (const i of firstGroupIndices(c.shape, c.format, c.groups)) x[i] = c.offset + 0.5;
  }
  const dy = randomValues(size, 12);
  const gamma = randomValues(channels, 13, 0.5, 1);
  const beta = randomValues(channels, 14);
  const epsilon = 1e-5;
  const expected = referenceForward(x, c.shape, gamma, beta, epsilon, c.format, c.groups);
  const expectedGrad = referenceGradient(dy, x, c.shape, gamma, epsilon, c.format, c.groups);
  const tensors = {
    x: tf.tensor(x, c.shape),
    dy: tf.tensor(dy, c.shape),
    gamma: tf.tensor1d(gamma),
    beta: tf.tensor1d(beta),
  };
  const attrs = {dataFormat: c.format, groups: c.groups};
  const forwardInputs = {x: tensors.x, gamma: tensors.gamma, beta: tensors.beta};
  const forward = tf.engine().runKernel(InstanceNorm, forwardInputs, {...attrs, epsilon});
  const [y, mean, invStd] = forward as tf.Tensor[];
  expect(mean.shape).toEqual([c.shape[0], c.groups]);
  const gradInputs = {dy: tensors.dy, x: tensors.x, gamma: tensors.gamma, mean, invStd};
  const [dx, dgamma, dbeta] = tf
    .engine()
    .runKernel(InstanceNormGrad, gradInputs, attrs) as tf.Tensor[];
  // dx scales with invStd (1 / sqrt(epsilon) on a constant group); dgamma and
  // dbeta sum many terms of size 1.
  const dxScale = c.constantGroup ? 1 / Math.sqrt(epsilon) : 1;
  const checks: Array<[string, tf.Tensor, ArrayLike<number>, number]> = [
    ['y', y, expected.y, atol],
    ['mean', mean, expected.mean, atol],
    ['invStd', invStd, expected.invStd, atol],
    ['dx', dx, expectedGrad.dx, atol * dxScale],
    ['dgamma', dgamma, expectedGrad.dgamma, atol * 10],
    ['dbeta', dbeta, expectedGrad.dbeta, atol * 10],
  ];
  for (const [name, actual, wanted, absolute] of checks) {
    expectClose(await actual.data(), wanted, absolute, rtol, name);
  }
  tf.dispose([y, mean, invStd, dx, dgamma, dbeta, ...Object.values(tensors)]);
}

/** Shapes with C = 12, 6, 8 or 40: vec4 and scalar loads on both layouts, ranks 3-5. */
const SHAPES: Array<[number[], DataFormat]> = [
  [[2, 5, 6, 12], 'channelsLast'],
  [[2, 12, 20], 'channelsFirst'],
  [[2, 3, 3, 3, 6], 'channelsLast'],
  [[2, 6, 3, 3, 3], 'channelsFirst'],
  [[3, 7, 8], 'channelsLast'],
  [[2, 8, 6, 6], 'channelsFirst'],
  // C past 32 floats with an extent past 256: one group's extent is contiguous.
  [[3, 8, 40], 'channelsLast'],
];

/**
 * Group norms whose moments the reduction merges per group: channelsLast
 * lines past one workgroup's 64 loads (tiles cut on group boundaries:
 * C = 320 with 10 channels a group, tiles of 240; C = 66, scalar loads;
 * 2 channels a group, more groups than lanes in a tile) and channelsFirst
 * groups of several rows (scalar and vec4 loads of the extent), each
 * large enough for the reduction passes.
 */
const MERGED_GROUPS: Array<[number[], DataFormat, number]> = [
  [[2, 9, 9, 320], 'channelsLast', 32],
  [[2, 12, 13, 320], 'channelsLast', 160],
  [[2, 6, 11, 260], 'channelsLast', 26],
  [[3, 12, 13, 66], 'channelsLast', 33],
  [[2, 10, 21, 21, 2], 'channelsFirst', 2],
  [[2, 12, 40, 40], 'channelsFirst', 3],
];

function groupCounts(channels: number): number[] {
  // 4 groups of 3 (or 2) channels cut across the vec4 loads of channelsLast.
  const middle = [4, 3].find(g => channels % g === 0 && g < channels) ?? 2;
  return [...new Set([1, 2, middle, channels])];
}

describeEachBackend(
  'group norm through the groups attribute',
  env => {
    // The adapter's own plan (three passes on a CPU-emulated adapter), the
    // GPU plan (one-pass kernels for small extents) and 3 looping workgroups
    // of the GPU plan without one-pass kernels (the fused two passes), forced
    // on whatever adapter runs the suite.
    const plans: Array<[string, string, number]> = [
      ['for this adapter', 'auto', 0],
      ['for a GPU', 'gpu', 0],
      ['in two passes over 3 workgroups', 'auto', 3],
    ];
    for (const [label, plan, target] of plans) {
      describe(`planned ${label}`, () => {
        let saved: [string, number];
        beforeAll(() => {
          saved = [tf.env().get(PLAN_FLAG) as string, tf.env().getNumber(TARGET_WORKGROUPS_FLAG)];
          tf.env().set(PLAN_FLAG, plan);
          tf.env().set(TARGET_WORKGROUPS_FLAG, target);
        });
        afterAll(() => {
          tf.env().set(PLAN_FLAG, saved[0]);
          tf.env().set(TARGET_WORKGROUPS_FLAG, saved[1]);
        });
        for (const [shape, format] of SHAPES) {
          const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
          for (const groups of groupCounts(channels)) {
            const name = `[${shape}] ${format}, groups ${groups}`;
            const plain = {shape, format, groups, offset: 0, constantGroup: false};
            it(`forward and gradient match float64 — ${name}`, () => checkGroupCase(plain, env));
            const shifted = {...plain, offset: 1e4, constantGroup: true};
            it(`at offset 1e4 with a constant group — ${name}`, () => checkGroupCase(shifted, env));
          }
        }
        for (const [shape, format, groups] of MERGED_GROUPS) {
          const name = `[${shape}] ${format}, groups ${groups}`;
          const plain = {shape, format, groups, offset: 0, constantGroup: false};
          it(`merged per group, matches float64 — ${name}`, () => checkGroupCase(plain, env));
          const shifted = {...plain, offset: 1e4, constantGroup: true};
          it(`merged per group, at offset 1e4 with a constant group — ${name}`, () =>
            checkGroupCase(shifted, env));
        }
      });
    }
    it('merges many chunks of S per group (S split as far as it goes)', async () => {
      const previous = tf.env().getNumber(TARGET_WORKGROUPS_FLAG);
      tf.env().set(TARGET_WORKGROUPS_FLAG, 1 << 20);
      try {
        for (const [shape, format] of SHAPES) {
          const groups = format === 'channelsLast' ? 2 : 1;
          await checkGroupCase({shape, format, groups, offset: 1e4, constantGroup: false}, env);
        }
      } finally {
        tf.env().set(TARGET_WORKGROUPS_FLAG, previous);
      }
    });
  },
  {envs: ['webgpu']},
);
