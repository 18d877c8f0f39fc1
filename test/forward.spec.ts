import {instanceNorm} from '../src/index';

import {CASES, caseData, caseTensors, describeCase, runForwardKernel} from './cases';
import {referenceForward} from './reference';
import {describeEachBackend, expectClose, tf} from './setup';
import {InstanceNorm} from '../src/kernel_names';

describeEachBackend('forward', env => {
  const {atol, rtol} = env.tolerance;

  for (const c of CASES) {
    it(`y, mean and invStd match the float64 reference — ${describeCase(c)}`, async () => {
      const d = caseData(c);
      const inputs = caseTensors(c, d);
      const {x, gamma, beta} = inputs;
      const expected = referenceForward(d.x, c.shape, d.gamma, d.beta, c.epsilon, c.format);
      const before = tf.memory().numTensors;

      const y = instanceNorm(x, gamma, beta, c.epsilon, c.format);
      expect(y.shape).toEqual(c.shape);
      expectClose(await y.data(), expected.y, atol, rtol, 'y');
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);

      if (env.fused) {
        // The saved state of the forward pass, straight from the kernel.
        const outputs = runForwardKernel(x, gamma, beta, c.epsilon, c.format);
        expect(outputs.length).toBe(3);
        expect(outputs[1].shape).toEqual([c.shape[0], d.channels]);
        expect(outputs[2].shape).toEqual([c.shape[0], d.channels]);
        expectClose(await outputs[0].data(), expected.y, atol, rtol, 'y (kernel)');
        expectClose(await outputs[1].data(), expected.mean, atol, rtol, 'mean');
        // invStd of a constant channel is 1/sqrt(epsilon): compare relatively.
        expectClose(await outputs[2].data(), expected.invStd, atol, rtol, 'invStd');
        tf.dispose(outputs);
      }
      tf.dispose(inputs.all);
    });
  }

  it('uses the fused kernel on backends that have it, the composite elsewhere', async () => {
    const x = tf.randomNormal([1, 4, 4, 2]);
    const profile = await tf.profile(() => instanceNorm(x));
    const names = profile.kernels.map(k => k.name);
    expect(names.includes(InstanceNorm)).toBe(env.fused);
    tf.dispose(profile.result as tf.Tensor);
    x.dispose();
  });

  it('accepts TensorLike inputs', async () => {
    const y = instanceNorm(
      [
        [[1], [2]],
        [[3], [5]],
      ],
      [2],
      [1],
    );
    const expected = referenceForward([1, 2, 3, 5], [2, 2, 1], [2], [1], 1e-5, 'channelsLast');
    expectClose(await y.data(), expected.y, atol, rtol, 'y');
    y.dispose();
  });

  it('returns a zero-size y for a zero-size x', async () => {
    for (const shape of [
      [0, 4, 4, 3],
      [2, 0, 4, 3],
      [2, 4, 4, 0],
    ]) {
      const x = tf.zeros(shape);
      const before = tf.memory().numTensors;
      const y = instanceNorm(x, null, null);
      expect(y.shape).toEqual(shape);
      expect((await y.data()).length).toBe(0);
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    }
  });
});
