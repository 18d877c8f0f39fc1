/**
 * Reliability: concurrency and scopes. Interleaved async calls, calls inside
 * tf.tidy and engine scopes, and gradient calls whose inputs are disposed in
 * between give the right answer or a clear Error — never a stale or wrong
 * buffer — and leave no tensor behind. On every backend and in the float16
 * WebGL mode.
 */
import {instanceNorm} from '../src/index';

import {describeEachBackend, DataFormat, randomValues, TestEnv, tf} from './setup';
import {asStored, Report} from './reliability_util';
import {referenceForward, referenceGradient} from './reference';

const SUITE = 'scopes';

interface Problem {
  shape: number[];
  format: DataFormat;
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
}

function problem(shape: number[], seed: number, format: DataFormat = 'channelsLast'): Problem {
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  return {
    shape,
    format,
    x: randomValues(size, seed, 2, seed % 5),
    gamma: randomValues(channels, seed + 100, 0.5, 1),
    beta: randomValues(channels, seed + 200, 1),
  };
}

function expectedY(env: TestEnv, p: Problem, xScale = 1): Float64Array {
  const x = asStored(env.name, p.x).map(v => v * xScale);
  return referenceForward(
    x,
    p.shape,
    asStored(env.name, p.gamma),
    asStored(env.name, p.beta),
    1e-5,
    p.format,
  ).y;
}

/** The gradient of sum(dy * instanceNorm(x)) with respect to x. */
function expectedDx(env: TestEnv, p: Problem, dy: Float32Array): Float64Array {
  return referenceGradient(
    asStored(env.name, dy),
    asStored(env.name, p.x),
    p.shape,
    asStored(env.name, p.gamma),
    1e-5,
    p.format,
  ).dx;
}

function tensors(p: Problem) {
  return {
    x: tf.tensor(p.x, p.shape),
    gamma: tf.tensor1d(p.gamma),
    beta: tf.tensor1d(p.beta),
  };
}

/**
 * Two problems of one shape that share gamma and beta (seeds seed and
 * seed + 1), a dy (seed + 2), and gamma, beta and dy as tensors.
 */
function twoInputs(shape: number[], seed: number) {
  const p1 = problem(shape, seed);
  const p2 = {...problem(shape, seed + 1), gamma: p1.gamma, beta: p1.beta};
  const dyValues = randomValues(p1.x.length, seed + 2);
  const dy = tf.tensor(dyValues, p1.shape);
  return {p1, p2, dyValues, dy, gamma: tf.tensor1d(p1.gamma), beta: tf.tensor1d(p1.beta)};
}

/**
 * Runs fn; it must either return normally (its own checks then ran) or throw
 * an Error whose message says what is wrong (matches clearError).
 */
async function rightAnswerOrClearError(
  fn: () => Promise<void>,
  clearError: RegExp,
): Promise<'answer' | 'error'> {
  try {
    await fn();
    return 'answer';
  } catch (e) {
    expect(e instanceof Error)
      .withContext('an Error')
      .toBe(true);
    expect((e as Error).message).toMatch(clearError);
    return 'error';
  }
}

describeEachBackend('reliability: concurrency and scopes', scopesSpecs, {f16: true});

function scopesSpecs(env: TestEnv): void {
  const report = new Report(SUITE, env);
  // Tape-recording code: the engine's per-kernel check would count the op's
  // saved state as leaked (see withoutKernelLeakCheck); the specs count tensors.
  beforeAll(() => tf.env().set('IS_TEST', false));
  afterAll(() => report.print());
  let before = 0;
  beforeEach(() => (before = tf.memory().numTensors));
  afterEach(() => expect(tf.memory().numTensors).withContext('tensors left').toBe(before));

  it('interleaved async calls each read their own result', async () => {
    const problems = [
      problem([2, 5, 5, 3], 1),
      problem([2, 5, 5, 3], 2),
      problem([2, 5, 5, 3], 3),
      problem([1, 7, 7, 2], 4),
      problem([3, 4, 6, 6], 5, 'channelsFirst'),
      problem([2, 5, 5, 3], 6),
    ];
    // Workers that interleave at every await: upload, run, dispose the input
    // before reading (its buffer goes back to the pool and is reused by the
    // next worker's upload), read.
    const worker = async (p: Problem, k: number) => {
      const {x, gamma, beta} = tensors(p);
      await new Promise(resolve => setTimeout(resolve, (k * 7) % 5));
      const y = instanceNorm(x, gamma, beta, 1e-5, p.format);
      tf.dispose([x, gamma, beta]);
      await new Promise(resolve => setTimeout(resolve, (k * 3) % 4));
      const values = await y.data();
      y.dispose();
      report.check(`interleaved worker ${k}`, 'y', values, expectedY(env, p));
    };
    await Promise.all(problems.map(worker));

    // All forwards issued first, inputs disposed at once, results read in
    // reverse order while new work of the same shape reuses the buffers.
    const inputs = problems.map(tensors);
    const outputs = problems.map((p, k) =>
      instanceNorm(inputs[k].x, inputs[k].gamma, inputs[k].beta, 1e-5, p.format),
    );
    const reads = outputs.map(y => y.data());
    inputs.forEach(t => tf.dispose([t.x, t.gamma, t.beta]));
    const extra = tensors(problems[0]);
    const extraY = instanceNorm(extra.x, extra.gamma, extra.beta);
    for (let k = problems.length - 1; k >= 0; k--) {
      report.check(`issued together, read ${k}`, 'y', await reads[k], expectedY(env, problems[k]));
    }
    report.check(
      'reusing the freed buffers',
      'y',
      await extraY.data(),
      expectedY(env, problems[0]),
    );
    tf.dispose([extra.x, extra.gamma, extra.beta, extraY, ...outputs]);
  });

  it('interleaved async gradient calls each read their own gradient', async () => {
    const problems = [
      problem([2, 4, 4, 3], 11),
      problem([2, 4, 4, 3], 12),
      problem([1, 3, 5, 5], 13, 'channelsFirst'),
    ];
    await Promise.all(
      problems.map(async (p, k) => {
        const {x, gamma, beta} = tensors(p);
        const dyValues = randomValues(p.x.length, 50 + k);
        const dy = tf.tensor(dyValues, p.shape);
        await new Promise(resolve => setTimeout(resolve, k));
        const [dx] = tf.grads((a: tf.Tensor) => instanceNorm(a, gamma, beta, 1e-5, p.format))(
          [x],
          dy,
        );
        tf.dispose([x, gamma, beta, dy]);
        await new Promise(resolve => setTimeout(resolve, 3 - k));
        const values = await dx.data();
        dx.dispose();
        report.check(`interleaved gradient ${k}`, 'dx', values, expectedDx(env, p, dyValues));
      }),
    );
  });

  it('inside tf.tidy: keeps only the returned tensors, values right', async () => {
    const p = problem([2, 5, 5, 3], 21);
    const {x, gamma, beta} = tensors(p);
    const dyValues = randomValues(p.x.length, 22);
    const dy = tf.tensor(dyValues, p.shape);
    const countIn = tf.memory().numTensors;
    const y = tf.tidy(() => instanceNorm(tf.mul(x, 2), gamma, beta));
    const grads = tf.tidy(() => tf.grads((a: tf.Tensor) => instanceNorm(a, gamma, beta))([x], dy));
    expect(tf.memory().numTensors)
      .withContext('tidy keeps only its results')
      .toBe(countIn + 2);
    report.check('in tf.tidy', 'y', await y.data(), expectedY(env, p, 2));
    report.check('in tf.tidy', 'dx', await grads[0].data(), expectedDx(env, p, dyValues));
    tf.dispose([x, gamma, beta, dy, y, ...grads]);
  });

  it('inside engine scopes: startScope/endScope free what is not kept', async () => {
    const p = problem([2, 5, 5, 3], 31);
    const {x, gamma, beta} = tensors(p);
    const countIn = tf.memory().numTensors;
    tf.engine().startScope();
    const dropped = instanceNorm(x, gamma, beta);
    const kept = tf.keep(instanceNorm(tf.mul(x, 2), gamma, beta));
    tf.engine().startScope();
    const returned = instanceNorm(x, gamma, beta);
    tf.engine().endScope(returned);
    tf.engine().endScope();
    expect(dropped.isDisposed).withContext('unkept result freed').toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(returned.isDisposed)
      .withContext('returned from the inner scope, freed by the outer')
      .toBe(true);
    expect(tf.memory().numTensors).toBe(countIn + 1);
    report.check('in engine scopes', 'y', await kept.data(), expectedY(env, p, 2));
    tf.dispose([x, gamma, beta, kept]);
  });

  it('a gradient function reused after its inputs were disposed sees the new inputs', async () => {
    const {p1, p2, dyValues, dy, gamma, beta} = twoInputs([2, 5, 5, 3], 41);
    const gradient = tf.grads((a: tf.Tensor) => instanceNorm(a, gamma, beta));
    const x1 = tf.tensor(p1.x, p1.shape);
    const [dx1] = gradient([x1], dy);
    const first = await dx1.data();
    tf.dispose([x1, dx1]);
    // Same shape: the new upload takes the freed buffer.
    const x2 = tf.tensor(p2.x, p2.shape);
    const [dx2] = gradient([x2], dy);
    const name = 'reused gradient function';
    report.check(name, 'dx (first input)', first, expectedDx(env, p1, dyValues));
    report.check(name, 'dx (second input)', await dx2.data(), expectedDx(env, p2, dyValues));
    tf.dispose([x2, dx2, dy, gamma, beta]);
  });

  it('a variable assigned between gradient calls gives the gradient at its new value', async () => {
    const {p1, p2, dyValues, dy, gamma, beta} = twoInputs([1, 6, 6, 2], 51);
    const initial = tf.tensor(p1.x, p1.shape);
    const v = tf.variable(initial);
    initial.dispose();
    const loss = () => tf.sum(tf.mul(instanceNorm(v, gamma, beta), dy)) as tf.Scalar;
    const g1 = tf.variableGrads(loss, [v]);
    const first = await g1.grads[v.name].data();
    tf.dispose([g1.value, ...Object.values(g1.grads)]);
    const next = tf.tensor(p2.x, p2.shape);
    v.assign(next);
    next.dispose();
    const g2 = tf.variableGrads(loss, [v]);
    const after = await g2.grads[v.name].data();
    report.check('assigned variable', 'dx (before assign)', first, expectedDx(env, p1, dyValues));
    report.check('assigned variable', 'dx (after assign)', after, expectedDx(env, p2, dyValues));
    tf.dispose([g2.value, ...Object.values(g2.grads), v, dy, gamma, beta]);
  });

  it('an input disposed between the forward and the backward pass: right gradient or a clear Error', async () => {
    const p = problem([2, 4, 4, 3], 61);
    const {x, gamma, beta} = tensors(p);
    const dyValues = randomValues(p.x.length, 62);
    const dy = tf.tensor(dyValues, p.shape);
    // The op's input a is disposed inside f, after the forward and before
    // tf.grads runs the backward pass: the saved copy must be used.
    const outcome = await rightAnswerOrClearError(async () => {
      const [dx] = tf.grads((v: tf.Tensor) => {
        const a = tf.mul(v, 1.5);
        const y = instanceNorm(a, gamma, beta);
        a.dispose();
        return y;
      })([x], dy);
      const values = await dx.data();
      dx.dispose();
      // d/dx of f(1.5 x) = 1.5 f'(1.5 x).
      const scaled = {...p, x: asStored(env.name, p.x).map(v => v * 1.5)};
      const want = expectedDx(env, scaled, dyValues).map(v => v * 1.5);
      report.check('input disposed before backward', 'dx', values, want);
    }, /disposed/);
    // gamma disposed inside f: its gradient either comes from the saved copy
    // or the call fails clearly.
    const gammaCopy = tf.clone(gamma);
    const outcomeGamma = await rightAnswerOrClearError(async () => {
      const grads = tf.grads((v: tf.Tensor, g: tf.Tensor) => {
        const y = instanceNorm(v, g, beta);
        g.dispose();
        return y;
      })([x, gammaCopy], dy);
      const values = await grads[0].data();
      tf.dispose(grads);
      report.check('gamma disposed before backward', 'dx', values, expectedDx(env, p, dyValues));
    }, /disposed/);
    if (!gammaCopy.isDisposed) gammaCopy.dispose();
    // A disposed gamma passed to a gradient call fails clearly.
    const disposedGamma = tf.clone(gamma);
    disposedGamma.dispose();
    const countBefore = tf.memory().numTensors;
    expect(() =>
      tf.grads((v: tf.Tensor, g: tf.Tensor) => instanceNorm(v, g, beta))([x, disposedGamma], dy),
    ).toThrowError(/disposed/);
    expect(tf.memory().numTensors)
      .withContext('nothing leaked by the failed call')
      .toBe(countBefore);
    report.figures({
      'input disposed before backward': outcome,
      'gamma disposed before backward': outcomeGamma,
    });
    tf.dispose([x, gamma, beta, dy]);
  });
}
