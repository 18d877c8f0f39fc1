/**
 * Group norm through the webgl kernels (the `groups` attribute of
 * InstanceNorm / InstanceNormGrad), packed, unpacked and with float16
 * textures, under both chunking plans (SwiftShader's and a real GPU's),
 * against the float64 reference.
 */
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';
import {PLAN_FLAG} from '../kernels/common/device_class';

import {referenceForward, referenceGradient} from './reference';
import {
  describeEachBackend,
  expectClose,
  DataFormat,
  randomValues,
  TestEnv,
  tf,
  toFloat16,
  WEBGL_F16,
} from './setup';

interface GroupCase {
  shape: number[];
  format: DataFormat;
  groups: number;
  offset?: number;
  scale?: number;
  /** Makes group 0 of instance 0 constant. */
  constantGroup?: boolean;
}

const CASES: GroupCase[] = [
  {shape: [2, 5, 7, 12], format: 'channelsLast', groups: 1},
  {shape: [2, 5, 7, 12], format: 'channelsLast', groups: 4}, // 3 channels a group: pairs straddle
  {shape: [2, 5, 7, 12], format: 'channelsLast', groups: 12},
  {shape: [2, 12, 5, 7], format: 'channelsFirst', groups: 2},
  {shape: [2, 12, 5, 7], format: 'channelsFirst', groups: 4},
  {shape: [3, 9, 6], format: 'channelsLast', groups: 2},
  {shape: [2, 6, 31], format: 'channelsFirst', groups: 3},
  {shape: [1, 3, 4, 5, 6], format: 'channelsLast', groups: 2},
  {shape: [2, 6, 2, 3, 5], format: 'channelsFirst', groups: 6},
  // Odd lines whose last texel is half padding, chunks across slabs.
  {shape: [1, 23, 41, 3], format: 'channelsLast', groups: 1},
  {shape: [1, 3, 41, 23], format: 'channelsFirst', groups: 3},
  {shape: [1, 2, 3, 9, 7], format: 'channelsFirst', groups: 1},
  {shape: [2, 8, 8, 8], format: 'channelsLast', groups: 2, offset: 1e4},
  {shape: [2, 8, 8, 8], format: 'channelsFirst', groups: 4, offset: 1e4},
  {shape: [2, 6, 6, 6], format: 'channelsLast', groups: 2, constantGroup: true},
  {shape: [2, 6, 6, 6], format: 'channelsFirst', groups: 3, constantGroup: true},
];

function inputs(c: GroupCase, f16: boolean) {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const spatial = size / (c.shape[0] * channels);
  // float16 holds 1e4 in steps of 8: a wider spread keeps the data random.
  const scale = (c.scale ?? 1) * (f16 && c.offset ? 100 : 1);
  const x = randomValues(size, 31, scale, c.offset ?? 0);
  if (c.constantGroup) {
    const perGroup = channels / c.groups;
    for (let i = 0; i < size / c.shape[0]; i++) {
      const channel = c.format === 'channelsLast' ? i % channels : Math.floor(i / spatial);
      if (channel < perGroup) x[i] = 3.25;
    }
  }
  const round = (values: Float32Array) => (f16 ? toFloat16(values) : values);
  return {
    x: round(x),
    dy: round(randomValues(size, 32)),
    gamma: round(randomValues(channels, 33, 1, 1)),
    beta: round(randomValues(channels, 34)),
  };
}

function describeCase(c: GroupCase): string {
  const more = c.offset ? `, offset ${c.offset}` : c.constantGroup ? ', a constant group' : '';
  return `[${c.shape}] ${c.format}, ${c.groups} groups${more}`;
}

async function check(c: GroupCase, env: TestEnv): Promise<void> {
  const f16 = env.name === WEBGL_F16;
  const d = inputs(c, f16);
  const x = tf.tensor(d.x, c.shape);
  const dy = tf.tensor(d.dy, c.shape);
  const gamma = tf.tensor1d(d.gamma);
  const beta = tf.tensor1d(d.beta);
  const epsilon = 1e-5;
  const {format: dataFormat, groups} = c;
  const outputs = tf.engine().runKernel(
    InstanceNorm,
    {x, gamma, beta},
    {
      epsilon,
      dataFormat,
      groups,
    },
  ) as tf.Tensor[];
  const [y, mean, invStd] = outputs;
  const grads = tf
    .engine()
    .runKernel(InstanceNormGrad, {dy, x, gamma, mean, invStd}, {dataFormat, groups}) as tf.Tensor[];
  expect(mean.shape).toEqual([c.shape[0], groups]);
  const fwd = referenceForward(d.x, c.shape, d.gamma, d.beta, epsilon, c.format, groups);
  const grad = referenceGradient(d.dy, d.x, c.shape, d.gamma, epsilon, c.format, groups);
  const {atol, rtol} = env.tolerance;
  const largestInvStd = Math.max(...fwd.invStd);
  expectClose(await y.data(), fwd.y, atol, rtol, 'y');
  expectClose(await mean.data(), fwd.mean, atol, rtol, 'mean');
  expectClose(await invStd.data(), fwd.invStd, atol, rtol, 'invStd');
  const [dx, dgamma, dbeta] = await Promise.all(grads.map(t => t.data()));
  expectClose(dx, grad.dx, atol * largestInvStd, rtol, 'dx');
  expectClose(dgamma, grad.dgamma, atol * 10, rtol, 'dgamma');
  expectClose(dbeta, grad.dbeta, atol * 10, rtol, 'dbeta');
  tf.dispose([...outputs, ...grads, x, dy, gamma, beta]);
}

describeEachBackend(
  'group norm through the webgl kernels',
  env => {
    for (const plan of ['software', 'gpu']) {
      describe(`planned for a ${plan} renderer`, () => {
        let saved: string;
        beforeAll(() => {
          saved = tf.env().get(PLAN_FLAG) as string;
          tf.env().set(PLAN_FLAG, plan);
        });
        afterAll(() => tf.env().set(PLAN_FLAG, saved));
        for (const c of CASES) {
          it(`forward and gradient match the float64 reference — ${describeCase(c)}`, () =>
            check(c, env));
        }
      });
    }

    it('rejects groups that do not divide C, naming the attribute', () => {
      const x = tf.zeros([1, 4, 4, 6]);
      expect(() =>
        tf
          .engine()
          .runKernel(InstanceNorm, {x}, {epsilon: 1e-5, dataFormat: 'channelsLast', groups: 4}),
      ).toThrowError(/groups/);
      x.dispose();
    });
  },
  {envs: ['webgl', 'webgl-unpacked', WEBGL_F16]},
);
