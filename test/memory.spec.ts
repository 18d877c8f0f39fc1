import {instanceNorm} from '../src/index';

import {backendDataIds, describeEachBackend, randomValues, tf} from './setup';

describeEachBackend('memory', () => {
  // Tape-recording code runs without the engine's per-kernel check (see
  // withoutKernelLeakCheck); these specs count tensors and backend data.
  beforeEach(() => tf.env().set('IS_TEST', false));
  afterEach(() => tf.env().set('IS_TEST', true));

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

  it('keeps the tensor count across 100 optimizer.minimize steps and trains', async () => {
    const x = tf.tensor(randomValues(2 * 4 * 4 * 3, 2), [2, 4, 4, 3]);
    const target = tf.tensor(randomValues(2 * 4 * 4 * 3, 3), [2, 4, 4, 3]);
    const gamma = tf.variable(tf.ones([3]));
    const beta = tf.variable(tf.zeros([3]));
    const optimizer = tf.train.sgd(0.1);
    const loss = () =>
      tf.losses.meanSquaredError(target, instanceNorm(x, gamma, beta)) as tf.Scalar;
    const first = optimizer.minimize(loss, true)!;
    const firstLoss = (await first.data())[0];
    first.dispose();
    const before = tf.memory().numTensors;
    let lastLoss = firstLoss;
    for (let step = 0; step < 100; step++) {
      const cost = optimizer.minimize(loss, step === 99);
      if (cost) {
        lastLoss = (await cost.data())[0];
        cost.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(lastLoss).toBeLessThan(firstLoss * 0.5);
    const {value, grads} = tf.variableGrads(loss, [gamma, beta]);
    expect(Object.keys(grads).sort()).toEqual([beta.name, gamma.name].sort());
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    tf.dispose([x, target, gamma, beta]);
  });
});
