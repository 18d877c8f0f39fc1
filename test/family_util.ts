/**
 * What the batch-norm and layer-norm specs share: one case (an op on one
 * shape, with its float64 reference), the check of its forward, statistics
 * and gradient against the reference, and the second-order check against
 * central differences of the float64 loss.
 */
import type {FamilyGradient, FamilySettings} from './family_reference';
import {
  backendDataIds,
  ErrorFigure,
  expectClose,
  randomValues,
  tf,
  TestEnv,
  withoutKernelLeakCheck,
} from './setup';

/** An op on one shape and its float64 reference (gamma/beta null: absent). */
export interface FamilyCase {
  name: string;
  shape: number[];
  parameterShape: number[];
  withGamma: boolean;
  withBeta: boolean;
  settings: FamilySettings;
  /** Scale and offset of the random x. */
  scale?: number;
  offset?: number;
  run(
    x: tf.Tensor,
    gamma: tf.Tensor | null,
    beta: tf.Tensor | null,
  ): {y: tf.Tensor; mean?: tf.Tensor; variance?: tf.Tensor};
  reference(
    x: ArrayLike<number>,
    gamma: ArrayLike<number> | null,
    beta: ArrayLike<number> | null,
  ): {y: Float64Array; mean: Float64Array; variance: Float64Array};
  referenceGradient(
    dy: ArrayLike<number>,
    x: ArrayLike<number>,
    gamma: ArrayLike<number> | null,
    beta: ArrayLike<number> | null,
  ): FamilyGradient;
}

export interface FamilyData {
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  dy: Float32Array;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function familyData(c: FamilyCase, seed = 11): FamilyData {
  const parameters = size(c.parameterShape);
  return {
    x: randomValues(size(c.shape), seed, c.scale ?? 1, c.offset ?? 0),
    gamma: c.withGamma ? randomValues(parameters, seed + 1, 0.5, 1) : null,
    beta: c.withBeta ? randomValues(parameters, seed + 2, 1) : null,
    dy: randomValues(size(c.shape), seed + 3, 1),
  };
}

/** Worst errors per quantity over a suite's cases, scaled by max(1, max |expected|). */
export class WorstErrors {
  readonly worst: Record<string, number> = {};

  record(what: string, figure: ErrorFigure): void {
    this.worst[what] = Math.max(this.worst[what] ?? 0, figure.scaled);
  }

  summary(): string {
    return Object.entries(this.worst)
      .map(([what, e]) => `${what} ${e.toExponential(2)}`)
      .join(', ');
  }
}

/**
 * Runs the op forward (y and the statistics it returns) and through
 * tf.grads (dx, dgamma, dbeta of sum(y * dy)), and compares each with the
 * float64 reference, relative to max(1, max |expected|). Checks that no
 * tensor or backend data stays behind.
 */
export async function expectMatchesReference(
  c: FamilyCase,
  env: TestEnv,
  worst: WorstErrors,
): Promise<void> {
  const {atol, rtol} = env.tolerance;
  const d = familyData(c);
  const x = tf.tensor(d.x, c.shape);
  const dy = tf.tensor(d.dy, c.shape);
  const gamma = d.gamma && tf.tensor(d.gamma, c.parameterShape);
  const beta = d.beta && tf.tensor(d.beta, c.parameterShape);
  const before = tf.memory().numTensors;
  const dataBefore = backendDataIds();

  const expected = c.reference(d.x, d.gamma, d.beta);
  const out = await withoutKernelLeakCheck(() => c.run(x, gamma, beta));
  expect(out.y.shape).toEqual(c.shape);
  worst.record('y', expectClose(await out.y.data(), expected.y, atol, rtol, 'y', 1));
  if (out.mean != null && out.variance != null) {
    worst.record('mean', expectClose(await out.mean.data(), expected.mean, atol, rtol, 'mean', 1));
    // The variance, relative to variance + epsilon (what the kernels keep).
    const varianceFloor = 1 + c.settings.epsilon;
    worst.record(
      'variance',
      expectClose(
        await out.variance.data(),
        expected.variance,
        atol,
        rtol,
        'variance',
        varianceFloor,
      ),
    );
  }
  tf.dispose([out.y, out.mean, out.variance].filter((t): t is tf.Tensor => t != null));

  const inputs = [x, gamma, beta].filter((t): t is tf.Tensor => t != null);
  const grads = await withoutKernelLeakCheck(() =>
    tf.grads((...args: tf.Tensor[]) => {
      const [gi, bi] = [gamma ? args[1] : null, beta ? args[gamma ? 2 : 1] : null];
      const {y, mean, variance} = c.run(args[0], gi, bi);
      tf.dispose([mean, variance].filter((t): t is tf.Tensor => t != null));
      return tf.sum(tf.mul(y, dy));
    })(inputs),
  );
  const expectedGradient = c.referenceGradient(d.dy, d.x, d.gamma, d.beta);
  worst.record('dx', expectClose(await grads[0].data(), expectedGradient.dx, atol, rtol, 'dx', 1));
  let k = 1;
  for (const name of ['dgamma', 'dbeta'] as const) {
    if ((name === 'dgamma' ? gamma : beta) == null) continue;
    expect(grads[k].shape).toEqual(c.parameterShape);
    const figure = expectClose(await grads[k].data(), expectedGradient[name], atol, rtol, name, 1);
    worst.record(name, figure);
    k++;
  }
  tf.dispose(grads);
  expect(tf.memory().numTensors).toBe(before);
  expect(backendDataIds()).toBe(dataBefore);
  tf.dispose([x, dy, ...inputs.slice(1)]);
}

/**
 * The loss of a gradient penalty, in float64: with (dx, dgamma) the gradient
 * of sum(y * w), L = sum(dx^2) + sum(dgamma^2) + sum(y * v).
 */
function referencePenalty(
  c: FamilyCase,
  x: Float64Array,
  gamma: Float64Array,
  beta: Float64Array,
  w: ArrayLike<number>,
  v: ArrayLike<number>,
): number {
  const inner = c.referenceGradient(w, x, gamma, beta);
  const {y} = c.reference(x, gamma, beta);
  let loss = 0;
  for (const value of inner.dx) loss += value * value;
  for (const value of inner.dgamma) loss += value * value;
  for (let i = 0; i < y.length; i++) loss += y[i] * v[i];
  return loss;
}

/**
 * The gradient of that penalty with respect to x, gamma and beta: the op
 * under tf.grad inside tf.grads, against central differences of the float64
 * loss. Returns the worst error relative to the largest second derivative.
 */
export async function expectSecondOrderMatches(c: FamilyCase, env: TestEnv): Promise<number> {
  const {rtol} = env.tolerance;
  const d = familyData(c, 31);
  const values = {
    x: Float64Array.from(d.x),
    gamma: Float64Array.from(d.gamma ?? []),
    beta: Float64Array.from(d.beta ?? []),
  };
  const w = randomValues(size(c.shape), 34, 1);
  const v = randomValues(size(c.shape), 35, 1);
  const h = 1e-5;
  const expected = (['x', 'gamma', 'beta'] as const).map(key => {
    const array = values[key];
    const gradient = new Float64Array(array.length);
    for (let i = 0; i < array.length; i++) {
      const saved = array[i];
      array[i] = saved + h;
      const plus = referencePenalty(c, values.x, values.gamma, values.beta, w, v);
      array[i] = saved - h;
      const minus = referencePenalty(c, values.x, values.gamma, values.beta, w, v);
      array[i] = saved;
      gradient[i] = (plus - minus) / (2 * h);
    }
    return gradient;
  });
  const x = tf.tensor(d.x, c.shape);
  const gamma = tf.tensor(d.gamma as Float32Array, c.parameterShape);
  const beta = tf.tensor(d.beta as Float32Array, c.parameterShape);
  const wt = tf.tensor(w, c.shape);
  const vt = tf.tensor(v, c.shape);
  const before = tf.memory().numTensors;
  const yOf = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
    const {y, mean, variance} = c.run(xi, gi, bi);
    tf.dispose([mean, variance].filter((t): t is tf.Tensor => t != null));
    return y;
  };
  const penalty = (xo: tf.Tensor, go: tf.Tensor, bo: tf.Tensor): tf.Scalar => {
    const [dx, dgamma] = tf.grads((xi: tf.Tensor, gi: tf.Tensor) =>
      tf.sum(tf.mul(yOf(xi, gi, bo), wt)),
    )([xo, go]);
    return tf.add(
      tf.add(tf.sum(tf.square(dx)), tf.sum(tf.square(dgamma))),
      tf.sum(tf.mul(yOf(xo, go, bo), vt)),
    );
  };
  const grads = await withoutKernelLeakCheck(() => tf.grads(penalty)([x, gamma, beta]));
  let worst = 0;
  for (const [k, name] of ['dx', 'dgamma', 'dbeta'].entries()) {
    const actual = await grads[k].data();
    const scale = Math.max(1e-30, ...expected[k].map(Math.abs));
    const figure = expectClose(actual, expected[k], rtol * 10 * scale, rtol * 10, name);
    worst = Math.max(worst, figure.maxAbs / scale);
  }
  tf.dispose(grads);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, gamma, beta, wt, vt]);
  return worst;
}
