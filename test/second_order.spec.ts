/**
 * Second order: the gradient of a gradient penalty through instanceNorm and
 * groupNorm, with respect to x, gamma and beta, against central differences
 * of the same loss computed in float64 from test/reference.ts.
 */
import {groupNorm, instanceNorm} from '../src/index';

import {referenceForward, referenceGradient} from './reference';
import {
  backendDataIds,
  describeEachBackend,
  expectClose,
  DataFormat,
  randomValues,
  tf,
  withoutKernelLeakCheck,
} from './setup';

interface SecondOrderCase {
  shape: number[];
  format: DataFormat;
  /** null: instanceNorm; a number: groupNorm with that many groups. */
  groups: number | null;
}

const EPSILON = 1e-3;

const CASES: SecondOrderCase[] = [
  {shape: [2, 3, 3, 4], format: 'channelsLast', groups: null},
  // One instance: the composite's shift is a slice that shares x's texture on webgl.
  {shape: [1, 3, 3, 4], format: 'channelsLast', groups: null},
  {shape: [2, 4, 3, 3], format: 'channelsFirst', groups: null},
  {shape: [2, 3, 3, 4], format: 'channelsLast', groups: 1},
  {shape: [2, 4, 3, 3], format: 'channelsFirst', groups: 2},
  {shape: [2, 3, 3, 4], format: 'channelsLast', groups: 2},
  {shape: [2, 5, 6], format: 'channelsLast', groups: 3},
  {shape: [1, 6, 2, 2, 3], format: 'channelsFirst', groups: 3},
];

function channelsOf(c: SecondOrderCase): number {
  return c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
}

interface Data {
  x: Float64Array;
  gamma: Float64Array;
  beta: Float64Array;
  /** Weights of y inside the penalty (w) and outside it (v). */
  w: Float32Array;
  v: Float32Array;
}

/**
 * The loss, in float64: with (dx, dgamma) the gradient of sum(y * w),
 * L = sum(dx^2) + sum(dgamma^2) + sum(y * v).
 */
function referenceLoss(c: SecondOrderCase, d: Data): number {
  const groups = c.groups ?? channelsOf(c);
  const inner = referenceGradient(d.w, d.x, c.shape, d.gamma, EPSILON, c.format, groups);
  const {y} = referenceForward(d.x, c.shape, d.gamma, d.beta, EPSILON, c.format, groups);
  let loss = 0;
  for (const value of inner.dx) loss += value * value;
  for (const value of inner.dgamma) loss += value * value;
  for (let i = 0; i < y.length; i++) loss += y[i] * d.v[i];
  return loss;
}

/** Central differences of referenceLoss in float64, for x, gamma and beta. */
function referenceLossGradient(c: SecondOrderCase, d: Data): Float64Array[] {
  const h = 1e-5;
  return (['x', 'gamma', 'beta'] as const).map(key => {
    const values = d[key];
    const gradient = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + h;
      const plus = referenceLoss(c, d);
      values[i] = saved - h;
      const minus = referenceLoss(c, d);
      values[i] = saved;
      gradient[i] = (plus - minus) / (2 * h);
    }
    return gradient;
  });
}

/** The same loss with the op under test and tf.grad inside tf.grads. */
function loss(c: SecondOrderCase, w: tf.Tensor, v: tf.Tensor) {
  const norm = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
    c.groups == null
      ? instanceNorm(x, gamma, beta, EPSILON, c.format)
      : groupNorm(x, c.groups, gamma, beta, EPSILON, c.format);
  return (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Scalar => {
    const [dx, dgamma] = tf.grads((xi: tf.Tensor, gi: tf.Tensor) =>
      tf.sum(tf.mul(norm(xi, gi, beta), w)),
    )([x, gamma]);
    const penalty = tf.add(tf.sum(tf.square(dx)), tf.sum(tf.square(dgamma)));
    return tf.add(penalty, tf.sum(tf.mul(norm(x, gamma, beta), v)));
  };
}

/** max |actual - expected| / max |expected|. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let size = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    size = Math.max(size, Math.abs(expected[i]));
  }
  return diff / Math.max(size, 1e-30);
}

describeEachBackend('second order', env => {
  const {rtol} = env.tolerance;
  // Worst relative error per op, printed for the record.
  const worst: Record<string, number> = {instanceNorm: 0, groupNorm: 0};
  afterAll(() => {
    const errors = Object.entries(worst).map(([op, e]) => `${op} ${e.toExponential(2)}`);
    console.log(`second order [${env.name}]: worst relative error ${errors.join(', ')}`);
  });

  for (const c of CASES) {
    const op = c.groups == null ? 'instanceNorm' : `groupNorm(groups ${c.groups})`;
    it(`the gradient of a gradient penalty matches float64 — ${op} [${c.shape}] ${c.format}`, async () => {
      const size = c.shape.reduce((a, b) => a * b, 1);
      const channels = channelsOf(c);
      const d: Data = {
        x: Float64Array.from(randomValues(size, 31, 1)),
        gamma: Float64Array.from(randomValues(channels, 32, 0.5, 1)),
        beta: Float64Array.from(randomValues(channels, 33, 1)),
        w: randomValues(size, 34, 1),
        v: randomValues(size, 35, 1),
      };
      // The float64 loss sees the float32 inputs the op sees.
      const expected = referenceLossGradient(c, d);
      const x = tf.tensor(Float32Array.from(d.x), c.shape);
      const gamma = tf.tensor1d(Float32Array.from(d.gamma));
      const beta = tf.tensor1d(Float32Array.from(d.beta));
      const w = tf.tensor(d.w, c.shape);
      const v = tf.tensor(d.v, c.shape);
      const before = tf.memory().numTensors;
      const dataBefore = backendDataIds();

      const {value, grads} = await withoutKernelLeakCheck(() =>
        tf.valueAndGrads(loss(c, w, v))([x, gamma, beta]),
      );
      expectClose(await value.data(), [referenceLoss(c, d)], 0, rtol * 10, 'loss');
      for (const [k, name] of ['dx', 'dgamma', 'dbeta'].entries()) {
        const actual = await grads[k].data();
        const error = relativeError(actual, expected[k]);
        const opName = c.groups == null ? 'instanceNorm' : 'groupNorm';
        worst[opName] = Math.max(worst[opName], error);
        // Second derivatives of the normalization: relative to the largest.
        const scale = Math.max(...expected[k].map(Math.abs));
        expectClose(actual, expected[k], rtol * 10 * scale, rtol * 10, name);
      }
      tf.dispose([value, ...grads]);
      expect(tf.memory().numTensors).toBe(before);
      expect(backendDataIds()).toBe(dataBefore);
      tf.dispose([x, gamma, beta, w, v]);
    });
  }

  it('differentiates twice through the op inside tf.grad of tf.grad (no "gradient function not found")', async () => {
    const x = tf.randomNormal([1, 3, 3, 4], 0, 1, 'float32', 5);
    const w = tf.randomNormal([1, 3, 3, 4], 0, 1, 'float32', 6);
    const before = tf.memory().numTensors;
    const second = await withoutKernelLeakCheck(() =>
      tf.grad(xo => tf.sum(tf.square(tf.grad(xi => tf.sum(tf.mul(groupNorm(xi, 2), w)))(xo))))(x),
    );
    expect(second.shape).toEqual(x.shape);
    expect(Array.from(await second.data()).every(Number.isFinite)).toBe(true);
    second.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
