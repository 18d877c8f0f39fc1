import {instanceNorm} from '../src/index';
import {InstanceNormGrad} from '../src/kernel_names';

import {CASES, caseData, caseTensors, describeCase, runGradientKernel} from './cases';
import {
  backendDataIds,
  type DataFormat,
  describeEachBackend,
  expectClose,
  randomValues,
  tf,
  withoutKernelLeakCheck,
} from './setup';
import {referenceForward, referenceGradient} from './reference';

function referenceStats(
  x: Float32Array,
  c: {shape: number[]; epsilon: number; format: DataFormat},
) {
  const {mean, invStd} = referenceForward(x, c.shape, null, null, c.epsilon, c.format);
  return {mean: Float32Array.from(mean), invStd: Float32Array.from(invStd)};
}

describeEachBackend('gradient', env => {
  const {atol, rtol} = env.tolerance;

  for (const c of CASES) {
    it(`dx, dgamma and dbeta match the float64 reference — ${describeCase(c)}`, async () => {
      const d = caseData(c);
      const expected = referenceGradient(d.dy, d.x, c.shape, d.gamma, c.epsilon, c.format);
      const tensors = caseTensors(c, d);
      const {x, dy, gamma, beta} = tensors;
      const inputs = [x, gamma, beta].filter((t): t is tf.Tensor => t != null);
      const before = tf.memory().numTensors;
      const dataBefore = backendDataIds();

      const grads = await withoutKernelLeakCheck(() =>
        tf.grads((...args: tf.Tensor[]) => {
          const g = gamma ? args[1] : null;
          const b = beta ? args[args.length - 1] : null;
          return tf.sum(tf.mul(instanceNorm(args[0], g, b, c.epsilon, c.format), dy));
        })(inputs),
      );
      expect(grads.length).toBe(inputs.length);
      // dx is a difference of terms of the size of dy * invStd: scale the
      // absolute tolerance by the largest invStd (a constant channel has 316).
      const dxScale = c.constantChannel != null ? 1 / Math.sqrt(c.epsilon) : 1 / c.scale;
      expectClose(await grads[0].data(), expected.dx, atol * Math.max(1, dxScale), rtol, 'dx');
      if (gamma) {
        expectClose(await grads[1].data(), expected.dgamma, atol * 10, rtol, 'dgamma');
      }
      if (beta) {
        expectClose(await grads[grads.length - 1].data(), expected.dbeta, atol * 10, rtol, 'dbeta');
      }
      tf.dispose(grads);
      expect(tf.memory().numTensors).toBe(before);
      expect(backendDataIds()).toBe(dataBefore);

      if (env.fused) {
        // The gradient kernel alone, with the engine's leak check on.
        const stats = referenceStats(d.x, c);
        const mean = tf.tensor2d(stats.mean, [c.shape[0], d.channels]);
        const invStd = tf.tensor2d(stats.invStd, [c.shape[0], d.channels]);
        const outputs = runGradientKernel(dy, x, gamma, mean, invStd, c.format);
        expect(outputs.map(t => t.shape)).toEqual([c.shape, [d.channels], [d.channels]]);
        expectClose(
          await outputs[0].data(),
          expected.dx,
          atol * Math.max(1, dxScale),
          rtol,
          'dx (kernel)',
        );
        expectClose(await outputs[1].data(), expected.dgamma, atol * 10, rtol, 'dgamma (kernel)');
        expectClose(await outputs[2].data(), expected.dbeta, atol * 10, rtol, 'dbeta (kernel)');
        tf.dispose([...outputs, mean, invStd]);
      }
      tf.dispose(tensors.all);
    });
  }

  it('runs the fused gradient kernel on backends that have it', async () => {
    const x = tf.randomNormal([1, 4, 4, 2]);
    const profile = await withoutKernelLeakCheck(() =>
      tf.profile(() => tf.grad(v => tf.sum(instanceNorm(v)))(x)),
    );
    const names = profile.kernels.map(k => k.name);
    expect(names.includes(InstanceNormGrad)).toBe(env.fused);
    tf.dispose(profile.result as tf.Tensor);
    x.dispose();
  });

  // Central differences of the op itself, independent of any closed form.
  for (const format of ['channelsLast', 'channelsFirst'] as const) {
    it(`agrees with finite differences — ${format}`, async () => {
      const shape = format === 'channelsLast' ? [2, 3, 2, 2] : [2, 2, 3, 2];
      const xs = randomValues(24, 11, 1);
      const gs = randomValues(2, 12, 0.5, 1);
      const bs = randomValues(2, 13, 1);
      const weights = tf.tensor(randomValues(24, 14, 1), shape);
      const loss = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(instanceNorm(x, g, b, 1e-3, format), weights));
      const x = tf.tensor(xs, shape);
      const g = tf.tensor1d(gs);
      const b = tf.tensor1d(bs);
      const analyticGrads = await withoutKernelLeakCheck(() => tf.grads(loss)([x, g, b]));
      const analytic = await Promise.all(
        analyticGrads.map(async t => {
          const v = await t.data();
          t.dispose();
          return v;
        }),
      );
      const h = 1e-2;
      const numeric = [new Float32Array(24), new Float32Array(2), new Float32Array(2)];
      const values = [xs, gs, bs];
      for (let k = 0; k < 3; k++) {
        for (let i = 0; i < values[k].length; i++) {
          const at = async (delta: number) => {
            const v = values.map(a => a.slice());
            v[k][i] += delta;
            const l = tf.tidy(() =>
              loss(tf.tensor(v[0], shape), tf.tensor1d(v[1]), tf.tensor1d(v[2])),
            );
            const value = (await l.data())[0];
            l.dispose();
            return value;
          };
          numeric[k][i] = ((await at(h)) - (await at(-h))) / (2 * h);
        }
      }
      expectClose(analytic[0], numeric[0], 2e-2, 2e-2, 'dx');
      expectClose(analytic[1], numeric[1], 2e-2, 2e-2, 'dgamma');
      expectClose(analytic[2], numeric[2], 2e-2, 2e-2, 'dbeta');
      tf.dispose([x, g, b, weights]);
    });
  }
});
