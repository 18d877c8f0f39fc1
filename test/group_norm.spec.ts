/**
 * groupNorm: forward and gradient against the float64 reference for groups 1,
 * 2, a middle value and C, both layouts, ranks 2 to 5, an offset of 1e4 and a
 * constant group; Keras' published expectations on `[N, C]` features; the
 * errors for a bad `groups`.
 */
import {groupNorm, instanceNorm} from '../src/index';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

import {Case, caseData, CaseData, describeCase, makeCase} from './cases';
import {referenceForward, referenceGradient} from './reference';
import {
  backendDataIds,
  describeEachBackend,
  expectClose,
  FALLBACK,
  DataFormat,
  tf,
  withoutKernelLeakCheck,
} from './setup';

interface GroupCase extends Case {
  groups: number;
  /** Index of a group whose channels all hold one constant value. */
  constantGroup?: number;
}

function groupCase(
  shape: number[],
  format: DataFormat,
  groups: number,
  more: Partial<GroupCase> = {},
) {
  const c: GroupCase = {...makeCase(`groups ${groups}`, shape, format), groups, ...more};
  return c;
}

const SHAPES: Record<DataFormat, number[][]> = {
  channelsLast: [
    [3, 6],
    [2, 7, 6],
    [2, 5, 3, 6],
    [2, 2, 3, 2, 6],
  ],
  channelsFirst: [
    [3, 6],
    [2, 6, 7],
    [2, 6, 5, 3],
    [2, 6, 2, 3, 2],
  ],
};

const GROUP_CASES: GroupCase[] = [];
for (const format of ['channelsLast', 'channelsFirst'] as const) {
  for (const shape of SHAPES[format]) {
    for (const groups of [1, 2, 3, 6]) GROUP_CASES.push(groupCase(shape, format, groups));
  }
  const wide = format === 'channelsLast' ? [2, 4, 4, 64] : [2, 64, 4, 4];
  GROUP_CASES.push(
    groupCase(wide, format, 32, {name: '32 groups of 2'}),
    groupCase(wide, format, 4, {name: 'offset 1e4, groups 4', offset: 1e4}),
    groupCase(SHAPES[format][2], format, 2, {name: 'a constant group', constantGroup: 1}),
    groupCase(SHAPES[format][2], format, 3, {
      name: 'no gamma, no beta, groups 3',
      withGamma: false,
      withBeta: false,
    }),
  );
}

function groupCaseData(c: GroupCase): CaseData {
  const d = caseData(c, 23);
  if (c.constantGroup != null) {
    const spatial = d.x.length / (c.shape[0] * d.channels);
    const perGroup = d.channels / c.groups;
    for (let i = 0; i < d.x.length; i++) {
      const ch =
        c.format === 'channelsLast' ? i % d.channels : Math.floor(i / spatial) % d.channels;
      if (Math.floor(ch / perGroup) === c.constantGroup) d.x[i] = -1.75;
    }
  }
  return d;
}

/** The tensors of a case: gamma and beta null where the case has none. */
function caseTensors(c: GroupCase, d: CaseData) {
  return {
    x: tf.tensor(d.x, c.shape),
    gamma: d.gamma && tf.tensor1d(d.gamma),
    beta: d.beta && tf.tensor1d(d.beta),
    dy: tf.tensor(d.dy, c.shape),
  };
}

describeEachBackend('groupNorm', env => {
  const {atol, rtol} = env.tolerance;
  // Worst absolute error of y and of each gradient over the cases (a constant
  // group's dx, ~316 times larger, left out), printed for the record.
  const worst: Record<string, number> = {y: 0, dx: 0, dgamma: 0, dbeta: 0};
  const record = (what: string, actual: ArrayLike<number>, expected: ArrayLike<number>) => {
    const errors = Array.from(expected, (v, i) => Math.abs(actual[i] - v));
    worst[what] = Math.max(worst[what], ...errors);
  };
  afterAll(() => {
    const errors = Object.entries(worst).map(([what, e]) => `${what} ${e.toExponential(2)}`);
    console.log(`groupNorm [${env.name}]: worst absolute error ${errors.join(', ')}`);
  });

  for (const c of GROUP_CASES) {
    const what = `${describeCase(c)}, groups ${c.groups}`;

    it(`matches the float64 reference — ${what}`, async () => {
      const d = groupCaseData(c);
      const {x, gamma, beta, dy} = caseTensors(c, d);
      const {groups, epsilon, format} = c;
      const expected = referenceForward(d.x, c.shape, d.gamma, d.beta, epsilon, format, groups);
      const before = tf.memory().numTensors;
      const y = groupNorm(x, groups, gamma, beta, epsilon, format);
      expect(y.shape).toEqual(c.shape);
      const values = await y.data();
      expectClose(values, expected.y, atol, rtol, 'y');
      record('y', values, expected.y);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);

      if (env.name !== FALLBACK) {
        // The forward kernel alone: statistics of shape [N, groups].
        const params = {...(gamma ? {gamma} : {}), ...(beta ? {beta} : {})};
        const attrs = {epsilon, dataFormat: format, groups};
        const outputs = tf.engine().runKernel(InstanceNorm, {x, ...params}, attrs) as tf.Tensor[];
        const statsShape = [c.shape[0], groups];
        expect(outputs.map(t => t.shape)).toEqual([c.shape, statsShape, statsShape]);
        for (const [k, name] of (['y', 'mean', 'invStd'] as const).entries()) {
          expectClose(await outputs[k].data(), expected[name], atol, rtol, `${name} (kernel)`);
        }
        tf.dispose(outputs);
      }
      tf.dispose([x, gamma, beta, dy].filter(t => t != null));
    });

    it(`has the float64 reference gradient — ${what}`, async () => {
      const d = groupCaseData(c);
      const tensors = caseTensors(c, d);
      const {groups, epsilon, format} = c;
      const expected = referenceGradient(d.dy, d.x, c.shape, d.gamma, epsilon, format, groups);
      const names = (['x', 'gamma', 'beta'] as const).filter(k => tensors[k] != null);
      const before = tf.memory().numTensors;
      const dataBefore = backendDataIds();
      const grads = await withoutKernelLeakCheck(() =>
        tf.grads((...args: tf.Tensor[]) => {
          const arg = (name: 'gamma' | 'beta') =>
            names.includes(name) ? args[names.indexOf(name)] : null;
          const y = groupNorm(args[0], groups, arg('gamma'), arg('beta'), epsilon, format);
          return tf.sum(tf.mul(y, tensors.dy));
        })(names.map(k => tensors[k]!)),
      );
      // dx scales with invStd: 1 / sqrt(epsilon) for a constant group; the
      // per-channel sums with the number of elements summed.
      const dxAtol = atol * (c.constantGroup != null ? 1 / Math.sqrt(epsilon) : 1);
      for (const [k, name] of names.entries()) {
        const tol = name === 'x' ? dxAtol : atol * 10;
        const values = await grads[k].data();
        expectClose(values, expected[`d${name}`], tol, rtol, `d${name}`);
        if (c.constantGroup == null) record(`d${name}`, values, expected[`d${name}`]);
      }
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      expect(backendDataIds()).toBe(dataBefore);
      tf.dispose(Object.values(tensors).filter(t => t != null));
    });
  }

  it("holds Keras' GroupNormalization expectations on [N, C] features (groups 1 and 2)", async () => {
    // keras/src/layers/normalization/group_normalization_test.py, epsilon 1e-3.
    const x = tf.tensor2d([[-1, -1, 1, 1, 2, 2, 0, -2]]);
    const one = groupNorm(x, 1, null, null, 1e-3);
    const two = groupNorm(x, 2, null, null, 1e-3, 'channelsFirst');
    const {atol: a} = env.tolerance;
    expectClose(
      await one.data(),
      [-0.898, -0.898, 0.539, 0.539, 1.257, 1.257, -0.18, -1.616],
      Math.max(a, 1e-3),
      0,
      'groups 1',
    );
    expectClose(
      await two.data(),
      [-1.0, -1.0, 1.0, 1.0, 0.904, 0.904, -0.301, -1.507],
      Math.max(a, 1e-3),
      0,
      'groups 2',
    );
    tf.dispose([x, one, two]);
  });

  it('equals instanceNorm with groups = C', async () => {
    const x = tf.randomNormal([2, 4, 5, 6], 0, 1, 'float32', 3);
    const gamma = tf.randomNormal([6], 1, 0.3, 'float32', 4);
    const a = instanceNorm(x, gamma, null, 1e-3);
    const b = groupNorm(x, 6, gamma, null, 1e-3);
    expectClose(await b.data(), await a.data(), 0, 0, 'groupNorm(C) vs instanceNorm');
    tf.dispose([x, gamma, a, b]);
  });

  it('runs the fused kernels with the groups attribute on backends that have them', async () => {
    const x = tf.randomNormal([1, 4, 4, 8]);
    const profile = await withoutKernelLeakCheck(() =>
      tf.profile(() => tf.grad(v => tf.sum(groupNorm(v, 2)))(x)),
    );
    const names = profile.kernels.map(k => k.name);
    expect(names.includes(InstanceNorm)).toBe(env.name !== FALLBACK);
    expect(names.includes(InstanceNormGrad)).toBe(env.name !== FALLBACK);
    tf.dispose(profile.result as tf.Tensor);
    x.dispose();
  });

  describe('errors', () => {
    const x = () => tf.zeros([1, 3, 3, 6]);
    for (const [groups, why] of [
      [0, 'zero'],
      [-2, 'negative'],
      [2.5, 'not an integer'],
      [NaN, 'NaN'],
      ['2', 'a string'],
      [4, 'not a divisor of C = 6'],
      [12, 'larger than C'],
    ] as const) {
      it(`rejects groups ${String(groups)} (${why}), naming 'groups'`, () => {
        const input = x();
        const before = tf.memory().numTensors;
        expect(() => groupNorm(input, groups as number)).toThrowError(
          Error,
          /groupNorm: argument 'groups' must .*(positive integer|divide C = 6)/,
        );
        expect(tf.memory().numTensors).toBe(before);
        input.dispose();
      });
    }

    it('names groupNorm, not instanceNorm, in its other errors', () => {
      const input = x();
      expect(() => groupNorm(input, 2, [1, 2])).toThrowError(/^groupNorm: argument 'gamma'/);
      expect(() => groupNorm(input, 2, null, null, 0)).toThrowError(
        /^groupNorm: argument 'epsilon'/,
      );
      input.dispose();
    });
  });
});
