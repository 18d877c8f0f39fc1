/**
 * Memory: forward and gradient calls leave tensors and backend data as they
 * found them, and 1000 optimizer.minimize steps of a small model with the op
 * hold tensors, bytes, backend data and GPU textures / buffers at their
 * step-10 figures, and train. Prints the figures (RELIABILITY lines).
 *
 * The model optimizes an image through the op, as style transfer does:
 * loss = mse(target, instanceNorm(image, gamma, beta)) with image, gamma and
 * beta variables, Adam — so the forward kernel, the gradient kernel (dx,
 * dgamma, dbeta) and the optimizer's updates all run every step. No conv:
 * tfjs' conv2d and its gradients cost ~150 ms a step on SwiftShader's WebGPU,
 * which would make 1000 steps take minutes without testing the op any more.
 */
import {instanceNorm} from '../src/index';

import {backendDataIds, describeEachBackend, randomValues, TestEnv, tf, WEBGL_F16} from './setup';
import {gpuResources, Report} from './reliability_util';

const STEPS = 1000;
const CHECKPOINT = 10;
/** GPU pools warm up (their high-water mark of pending buffers) in the first steps. */
const POOL_SETTLED = 100;

interface Snapshot {
  numTensors: number;
  numBytes: number;
  dataIds: number;
  /** GPU bytes held by live tensors (webgl / webgpu), else null. */
  numBytesInGPU: number | null;
  gpu: {used: number; free: number} | null;
}

function snapshot(): Snapshot {
  const memory = tf.memory() as tf.MemoryInfo & {numBytesInGPU?: number};
  return {
    numTensors: memory.numTensors,
    numBytes: memory.numBytes,
    dataIds: backendDataIds(),
    numBytesInGPU: memory.numBytesInGPU ?? null,
    gpu: gpuResources(),
  };
}

describeEachBackend('memory', memorySpecs, {f16: true});

function memorySpecs(env: TestEnv): void {
  // The tape keeps the op's saved state between forward and backward, which
  // the engine's per-kernel check counts as a leak (see
  // withoutKernelLeakCheck): this spec counts tensors, bytes and buffers itself.
  beforeAll(() => tf.env().set('IS_TEST', false));

  it('keeps the tensor count across forward and gradient calls', async () => {
    const x = tf.tensor(randomValues(2 * 5 * 5 * 3, 1), [2, 5, 5, 3]);
    const gamma = tf.ones([3]);
    const beta = tf.zeros([3]);
    const before = tf.memory().numTensors;
    const dataBefore = backendDataIds();
    for (let i = 0; i < 3; i++) {
      const y = instanceNorm(x, gamma, beta);
      await y.data();
      y.dispose();
      const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(instanceNorm(a, g, b)),
      )([x, gamma, beta]);
      await Promise.all(grads.map(t => t.data()));
      tf.dispose(grads);
      // Gradient with respect to x only: the unused dgamma/dbeta are freed.
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.square(instanceNorm(a))))(x);
      await dx.data();
      dx.dispose();
      expect(tf.memory().numTensors).withContext(`after call ${i}`).toBe(before);
      expect(backendDataIds()).withContext(`backend data after call ${i}`).toBe(dataBefore);
    }
    tf.dispose([x, gamma, beta]);
  });

  it(`holds memory flat over ${STEPS} optimizer.minimize steps`, async () => {
    const tensorsBefore = tf.memory().numTensors;
    const shape = [2, 4, 4, 3];
    const target = tf.tensor(randomValues(2 * 4 * 4 * 3, 6, 0.5), shape);
    // tidy frees the initial values; the variables survive it.
    const [image, gamma, beta] = tf.tidy(() => [
      tf.variable(tf.tensor(randomValues(2 * 4 * 4 * 3, 5), shape)),
      tf.variable(tf.ones([3])),
      tf.variable(tf.zeros([3])),
    ]);
    // On float16 textures tfjs 4.22's webgl backend reports floatPrecision()
    // 32 (its underflow probe runs on the cpu-forwarded scalar), so Adam's
    // default epsilon is 1e-7, below float16's resolution: Adam goes NaN at
    // step 2 with no instance norm in the model at all. Give it float16's
    // epsilon there.
    const optimizer = tf.train.adam(0.01, 0.9, 0.999, env.name === WEBGL_F16 ? 1e-4 : undefined);
    const loss = () =>
      tf.tidy(
        () => tf.losses.meanSquaredError(target, instanceNorm(image, gamma, beta)) as tf.Scalar,
      );

    const started = performance.now();
    let firstLoss = NaN;
    let lastLoss = NaN;
    let atCheckpoint: Snapshot | null = null;
    let settledPool = 0;
    const trajectory: string[] = [];
    for (let step = 1; step <= STEPS; step++) {
      const read = step === 1 || step === CHECKPOINT || step % 100 === 0;
      const cost = optimizer.minimize(loss, read);
      if (cost) {
        // Reading the loss waits for the GPU, so deferred frees have landed.
        const value = (await cost.data())[0];
        cost.dispose();
        if (step === 1) firstLoss = value;
        lastLoss = value;
        expect(Number.isFinite(value)).withContext(`loss at step ${step}`).toBe(true);
        const gpu = gpuResources();
        const at = ((performance.now() - started) / 1000).toFixed(1);
        trajectory.push(gpu ? `${step}:${gpu.used}+${gpu.free}@${at}s` : `${step}@${at}s`);
        if (step === POOL_SETTLED && gpu) settledPool = gpu.used + gpu.free;
      }
      if (step === CHECKPOINT) atCheckpoint = snapshot();
    }
    const seconds = (performance.now() - started) / 1000;
    const atEnd = snapshot();
    const first = atCheckpoint!;

    expect(atEnd.numTensors).withContext('numTensors').toBe(first.numTensors);
    expect(atEnd.numBytes).withContext('numBytes').toBe(first.numBytes);
    expect(atEnd.dataIds).withContext('backend data ids').toBe(first.dataIds);
    expect(atEnd.numBytesInGPU).withContext('bytes in GPU').toBe(first.numBytesInGPU);
    if (atEnd.gpu) {
      expect(atEnd.gpu.used).withContext('GPU textures/buffers in use').toBe(first.gpu!.used);
      // Free textures/buffers are tfjs' reuse pool: it may take one more
      // while it warms up (webgpu's staging and uniform buffers do in the
      // first 100 steps), then must stay flat: a leak would grow it every step.
      expect(atEnd.gpu.used + atEnd.gpu.free)
        .withContext(`GPU textures/buffers held, step ${POOL_SETTLED} to ${STEPS}`)
        .toBe(settledPool);
    }
    expect(lastLoss)
      .withContext('the model trains')
      .toBeLessThan(firstLoss * 0.5);
    new Report('memory', env).figures({
      steps: STEPS,
      seconds: Number(seconds.toFixed(1)),
      firstLoss: Number(firstLoss.toPrecision(3)),
      lastLoss: Number(lastLoss.toPrecision(3)),
      [`after step ${CHECKPOINT}`]: first,
      [`after step ${STEPS}`]: atEnd,
      'step:GPU used+free@seconds': trajectory.join(' '),
    });

    // Gradients of the variables alone, outside the optimizer, leak nothing.
    const tensorsTrained = tf.memory().numTensors;
    const {value, grads} = tf.variableGrads(loss, [gamma, beta]);
    expect(Object.keys(grads).sort()).toEqual([beta.name, gamma.name].sort());
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).withContext('after variableGrads').toBe(tensorsTrained);

    optimizer.dispose();
    tf.dispose([image, target, gamma, beta]);
    expect(tf.memory().numTensors).withContext('tensors left after the run').toBe(tensorsBefore);
  });
}
