/**
 * Reliability: 1000 optimizer.minimize steps of a small model with the op
 * (conv -> instanceNorm -> relu -> conv, Adam) hold tensors, bytes, backend
 * data and GPU textures / buffers at their step-10 figures, and train. Prints
 * the figures (RELIABILITY lines).
 */
import {instanceNorm} from '../src/index';

import {backendDataIds, describeEachBackendAndF16, randomValues, tf, WEBGL_F16} from './setup';
import {gpuResources, printFigure} from './reliability_util';

const STEPS = 1000;
const CHECKPOINT = 10;

interface Snapshot {
  numTensors: number;
  numBytes: number;
  dataIds: number;
  gpu: {used: number, free: number}|null;
}

function snapshot(): Snapshot {
  const {numTensors, numBytes} = tf.memory();
  return {numTensors, numBytes, dataIds: backendDataIds(), gpu: gpuResources()};
}

describeEachBackendAndF16('reliability: memory', backend => {
  // The tape keeps the op's saved state between forward and backward, which
  // the engine's per-kernel check counts as a leak (see
  // withoutKernelLeakCheck): this spec counts tensors, bytes and buffers itself.
  beforeAll(() => tf.env().set('IS_TEST', false));

  it(`holds memory flat over ${STEPS} optimizer.minimize steps`, async () => {
    const tensorsBefore = tf.memory().numTensors;
    const shape = [2, 4, 4, 3];
    const x = tf.tensor(randomValues(2 * 4 * 4 * 3, 5), shape);
    const target = tf.tensor(randomValues(2 * 4 * 4 * 3, 6, 0.5), shape);
    // tidy frees the initial values; the variables survive it.
    const [kernel1, kernel2, gamma, beta] = tf.tidy(() => [
      tf.variable(tf.tensor4d(randomValues(27 * 3, 7, 0.3), [3, 3, 3, 3])),
      tf.variable(tf.tensor4d(randomValues(27 * 3, 8, 0.3), [3, 3, 3, 3])),
      tf.variable(tf.ones([3])),
      tf.variable(tf.zeros([3])),
    ]);
    // On float16 textures tfjs 4.22's webgl backend reports floatPrecision()
    // 32 (its underflow probe runs on the cpu-forwarded scalar), so Adam's
    // default epsilon is 1e-7, below float16's resolution: Adam goes NaN at
    // step 2 with no instance norm in the model at all. Give it float16's
    // epsilon there.
    const optimizer = tf.train.adam(0.01, 0.9, 0.999, backend === WEBGL_F16 ? 1e-4 : undefined);
    const loss = () => tf.tidy(() => {
      const h = tf.conv2d(x as tf.Tensor4D, kernel1 as tf.Tensor4D, 1, 'same');
      const n = tf.relu(instanceNorm(h, gamma, beta));
      const out = tf.conv2d(n, kernel2 as tf.Tensor4D, 1, 'same');
      return tf.losses.meanSquaredError(target, out) as tf.Scalar;
    });

    const started = performance.now();
    let firstLoss = NaN;
    let lastLoss = NaN;
    let atCheckpoint: Snapshot|null = null;
    for (let step = 1; step <= STEPS; step++) {
      const read = step === 1 || step === CHECKPOINT || step === STEPS || step % 100 === 0;
      const cost = optimizer.minimize(loss, read);
      if (cost) {
        // Reading the loss waits for the GPU, so deferred frees have landed.
        const value = (await cost.data())[0];
        cost.dispose();
        if (step === 1) firstLoss = value;
        lastLoss = value;
        expect(Number.isFinite(value)).withContext(`loss at step ${step}`).toBe(true);
      }
      if (step === CHECKPOINT) atCheckpoint = snapshot();
    }
    const seconds = (performance.now() - started) / 1000;
    const atEnd = snapshot();

    expect(atEnd.numTensors).withContext('numTensors').toBe(atCheckpoint!.numTensors);
    expect(atEnd.numBytes).withContext('numBytes').toBe(atCheckpoint!.numBytes);
    expect(atEnd.dataIds).withContext('backend data ids').toBe(atCheckpoint!.dataIds);
    if (atEnd.gpu) {
      expect(atEnd.gpu.used).withContext('GPU textures/buffers in use').toBe(atCheckpoint!.gpu!.used);
      expect(atEnd.gpu.used + atEnd.gpu.free).withContext('GPU textures/buffers held')
          .toBeLessThanOrEqual(atCheckpoint!.gpu!.used + atCheckpoint!.gpu!.free);
    }
    expect(lastLoss).withContext('the model trains').toBeLessThan(firstLoss * 0.5);
    printFigure('memory', backend, {
      steps: STEPS, seconds: Number(seconds.toFixed(1)),
      firstLoss: Number(firstLoss.toPrecision(3)), lastLoss: Number(lastLoss.toPrecision(3)),
      [`after step ${CHECKPOINT}`]: atCheckpoint, [`after step ${STEPS}`]: atEnd,
    });

    optimizer.dispose();
    tf.dispose([x, target, kernel1, kernel2, gamma, beta]);
    expect(tf.memory().numTensors).withContext('tensors left after the run').toBe(tensorsBefore);
  });
});
