/**
 * batchNormTraining: y, the batch mean and variance and the gradient against
 * the float64 reference on ranks 2 to 5, both layouts, odd sizes, one pixel,
 * one channel, every activation and epsilon mode; second order; published
 * expectations (Keras' normalize_batch_in_training as tfjs-layers' tests
 * print it, PyTorch's F.batch_norm(training=True)); the fused kernels run;
 * no leaks; errors.
 */
import {batchNormTraining, InstanceNorm, InstanceNormGrad} from '../src/index';
import {ACTIVATIONS} from '../src/kernel_names';

import {referenceBatchNorm, referenceBatchNormGradient} from './family_reference';
import type {FamilySettings} from './family_reference';
import {
  expectMatchesReference,
  expectSecondOrderMatches,
  FamilyCase,
  WorstErrors,
} from './family_util';
import {
  backendDataIds,
  DataFormat,
  describeEachBackend,
  expectClose,
  tf,
  WEBGL_F16,
  withoutKernelLeakCheck,
} from './setup';

function batchCase(
  name: string,
  shape: number[],
  format: DataFormat,
  more: Partial<FamilyCase> = {},
  settings: Partial<FamilySettings> = {},
): FamilyCase {
  const channelAxis = format === 'channelsLast' || shape.length === 2 ? shape.length - 1 : 1;
  const s: FamilySettings = {epsilon: 1e-3, ...settings};
  const options = {
    activation: s.activation ?? 'linear',
    alpha: s.alpha ?? 0.2,
    epsilonMode: s.epsilonMode ?? 'variance',
  };
  return {
    name: `${name}: [${shape}] ${format}`,
    shape,
    parameterShape: [shape[channelAxis]],
    withGamma: true,
    withBeta: true,
    settings: s,
    run: (x, gamma, beta) => batchNormTraining(x, gamma, beta, s.epsilon, format, options),
    reference: (x, gamma, beta) => referenceBatchNorm(x, shape, channelAxis, gamma, beta, s),
    referenceGradient: (dy, x, gamma, beta) =>
      referenceBatchNormGradient(dy, x, shape, channelAxis, gamma, beta, s),
    ...more,
  };
}

const CASES: FamilyCase[] = [
  batchCase('features', [5, 3], 'channelsLast'),
  batchCase('features', [7, 4], 'channelsFirst'),
  batchCase('rank 3', [3, 7, 5], 'channelsLast'),
  batchCase('rank 3', [3, 5, 7], 'channelsFirst'),
  batchCase('odd sizes', [3, 5, 7, 3], 'channelsLast'),
  batchCase('odd sizes', [3, 6, 5, 7], 'channelsFirst'),
  batchCase('one pixel', [4, 1, 1, 5], 'channelsLast'),
  batchCase('one pixel', [4, 5, 1, 1], 'channelsFirst'),
  batchCase('one instance, one pixel', [1, 1, 1, 3], 'channelsLast'),
  batchCase('one channel', [2, 6, 5, 1], 'channelsLast'),
  batchCase('one channel', [2, 1, 6, 5], 'channelsFirst'),
  batchCase('67 channels', [3, 3, 5, 67], 'channelsLast'),
  batchCase('67 channels', [3, 67, 3, 5], 'channelsFirst'),
  batchCase('rank 5', [2, 3, 4, 5, 6], 'channelsLast'),
  batchCase('rank 5', [2, 6, 3, 4, 5], 'channelsFirst'),
  batchCase('no gamma, no beta', [3, 4, 6, 3], 'channelsLast', {withGamma: false, withBeta: false}),
  batchCase('gamma only', [3, 3, 4, 6], 'channelsFirst', {withBeta: false}),
  batchCase('beta only', [3, 4, 6, 3], 'channelsLast', {withGamma: false}),
  batchCase('a larger batch', [16, 9, 9, 8], 'channelsLast'),
  batchCase('a larger batch', [16, 8, 9, 9], 'channelsFirst'),
  batchCase('offset 1e3', [4, 6, 6, 3], 'channelsLast', {offset: 1e3}),
  batchCase('scale 1e2', [4, 3, 6, 6], 'channelsFirst', {scale: 1e2}),
  batchCase('epsilon 1e-5', [3, 5, 5, 4], 'channelsLast', {}, {epsilon: 1e-5}),
  batchCase('epsilonMode stddev', [3, 5, 5, 4], 'channelsLast', {}, {epsilonMode: 'stddev'}),
  batchCase('epsilonMode stddev', [3, 4, 5, 5], 'channelsFirst', {}, {epsilonMode: 'stddev'}),
  ...ACTIVATIONS.filter(a => a !== 'linear').map(activation =>
    batchCase(
      activation,
      [3, 4, 5, 6],
      activation.length % 2 ? 'channelsFirst' : 'channelsLast',
      {},
      {activation},
    ),
  ),
  batchCase(
    'leakyRelu alpha 0.05',
    [3, 4, 5, 6],
    'channelsLast',
    {},
    {
      activation: 'leakyRelu',
      alpha: 0.05,
    },
  ),
];

// The engine's per-kernel leak check (IS_TEST) counts the mean and variance
// that leave batchNormTraining's customGrad as leaked, as it does the
// tensors a customGrad saves: the specs run the op through
// withoutKernelLeakCheck and count tensors and backend data themselves.
describeEachBackend(
  'batchNormTraining',
  env => {
    const worst = new WorstErrors();
    let secondOrder = 0;
    afterAll(() => {
      console.log(
        `batchNormTraining [${env.name}]: worst error against float64 (scaled by max(1, |expected|)) ` +
          `${worst.summary()}, second order ${secondOrder.toExponential(2)}`,
      );
    });

    for (const c of CASES) {
      // float16 textures hold 11 significant bits: large offsets lose the data itself.
      const f16Unfit = env.name === WEBGL_F16 && (c.offset != null || c.scale != null);
      it(`matches the float64 reference: y, mean, variance, dx, dgamma, dbeta — ${c.name}`, async () => {
        if (f16Unfit) pending('float16 textures cannot hold this data');
        await expectMatchesReference(c, env, worst);
      });
    }

    for (const c of [
      batchCase('second order', [3, 3, 2, 4], 'channelsLast'),
      batchCase('second order', [3, 4, 2, 3], 'channelsFirst'),
      batchCase('second order, swish', [4, 3], 'channelsLast', {}, {activation: 'swish'}),
    ]) {
      it(`is twice differentiable: a gradient penalty matches float64 — ${c.name}`, async () => {
        if (env.name === WEBGL_F16) pending('central differences need float32 storage');
        secondOrder = Math.max(secondOrder, await expectSecondOrderMatches(c, env));
      });
    }

    // Keras' normalize_batch_in_training (epsilon 1e-3), as printed in
    // tfjs-layers' normalization_test.ts ('2D, no broadcasting' and
    // '3D, no broadcasting').
    it('gives the published Keras values on [3, 4] and [3, 2, 2]', () =>
      withoutKernelLeakCheck(async () => {
        const x2 = tf.tensor2d([1, 2, 3, 4, 2, 4, 6, 8, 12, 11, 10, 9], [3, 4]);
        const r2 = batchNormTraining(x2, tf.ones([4]), tf.zeros([4]), 1e-3);
        const tol = env.tolerance.atol * 10;
        expectClose(
          await r2.y.data(),
          [
            -0.805371, -0.9502233, -1.1624058, -1.3885813, -0.6040282, -0.4319197, -0.11624074,
            0.46286058, 1.4093992, 1.3821429, 1.2786462, 0.92572117,
          ],
          tol,
        );
        expectClose(await r2.mean.data(), [5.0, 5.6666665, 6.3333335, 7.0], tol);
        expectClose(
          await r2.variance.data(),
          [24.666666, 14.888889, 8.222222, 4.6666665],
          tol * 30,
        );
        const x3 = tf.tensor3d([1, 2, 3, 4, 2, 4, 6, 8, 12, 11, 10, 9], [3, 2, 2]);
        const r3 = batchNormTraining(x3, null, null, 1e-3);
        expectClose(
          await r3.y.data(),
          [
            -1.1355163, -1.3552775, -0.6488664, -0.7297648, -0.8921913, -0.7297648, 0.08110833,
            0.5212605, 1.5410578, 1.4595294, 1.0544081, 0.8340168,
          ],
          tol,
        );
        expectClose(await r3.mean.data(), [5.6666665, 6.3333335], tol);
        expectClose(await r3.variance.data(), [16.88889, 10.222222], tol * 20);
        tf.dispose([x2, x3, r2.y, r2.mean, r2.variance, r3.y, r3.mean, r3.variance]);
      }));

    // PyTorch's F.batch_norm(x, None, None, training=True, eps=1e-5): the
    // biased variance normalizes (torch.var(unbiased=False)). Channel 0 of
    // [[1, 10], [3, 20], [5, 60]] (NC) is 1, 3, 5: mean 3, variance 8/3;
    // channel 1: mean 30, variance 1400 / 3.
    it("follows PyTorch's F.batch_norm(training=True) on [3, 2] (NC)", () =>
      withoutKernelLeakCheck(async () => {
        const x = tf.tensor2d([1, 10, 3, 20, 5, 60], [3, 2]);
        const {y, mean, variance} = batchNormTraining(x, null, null, 1e-5, 'channelsFirst');
        const s0 = Math.sqrt(8 / 3 + 1e-5);
        const s1 = Math.sqrt(1400 / 3 + 1e-5);
        const tol = env.tolerance.atol * 10;
        expectClose(await y.data(), [-2 / s0, -20 / s1, 0, -10 / s1, 2 / s0, 30 / s1], tol);
        expectClose(await mean.data(), [3, 30], tol);
        expectClose(await variance.data(), [8 / 3, 1400 / 3], tol, env.tolerance.rtol * 10);
        tf.dispose([x, y, mean, variance]);
      }));

    it('runs the fused kernels forward and backward where they exist', async () => {
      const x = tf.randomNormal([3, 4, 4, 5], 0, 1, 'float32', 3);
      const before = tf.memory().numTensors;
      for (const format of ['channelsLast', 'channelsFirst'] as const) {
        const profile = await withoutKernelLeakCheck(() =>
          tf.profile(() =>
            tf.grad(v => {
              const {y, mean, variance} = batchNormTraining(v, null, null, 1e-3, format);
              tf.dispose([mean, variance]);
              return tf.sum(tf.square(y));
            })(x),
          ),
        );
        const names = profile.kernels.map(k => k.name);
        expect(names.includes(InstanceNorm)).toBe(env.fused);
        expect(names.includes(InstanceNormGrad)).toBe(env.fused);
        console.log(
          `batchNormTraining [${env.name}] ${format}: ${names.length} kernels for one ` +
            `forward+gradient: ${names.join(', ')}`,
        );
        tf.dispose(profile.result as tf.Tensor);
      }
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

    it('leaves no tensor behind over a training loop, and mean/variance carry no gradient', async () => {
      const x = tf.randomNormal([4, 3, 3, 2], 1, 2, 'float32', 9);
      // Made in a tidy, so that no initial value holds data besides the variables'.
      const [gamma, beta] = tf.tidy(() => [tf.variable(tf.ones([2])), tf.variable(tf.zeros([2]))]);
      const optimizer = tf.train.sgd(0.1);
      const before = tf.memory().numTensors;
      const dataBefore = backendDataIds();
      await withoutKernelLeakCheck(() => {
        for (let step = 0; step < 5; step++) {
          optimizer.minimize(() => {
            const {y, mean, variance} = batchNormTraining(x, gamma, beta, 1e-3, 'channelsLast', {
              activation: 'relu',
            });
            // mean and variance in the loss add nothing to the gradient.
            return tf.add(tf.mean(tf.square(tf.sub(y, 1))), tf.sum(tf.add(mean, variance)));
          });
        }
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(backendDataIds()).toBe(dataBefore);
      const [dx] = await withoutKernelLeakCheck(() =>
        tf.grads((v: tf.Tensor) => {
          const {y, mean, variance} = batchNormTraining(v);
          return tf.add(tf.mul(tf.sum(y), 0), tf.sum(tf.add(mean, variance)));
        })([x]),
      );
      expect(Array.from(await dx.data()).every(v => v === 0)).toBe(true);
      tf.dispose([dx, x, gamma, beta]);
      optimizer.dispose();
    });

    it("keeps mean and variance valid after y is disposed, and in the caller's tidy", () =>
      withoutKernelLeakCheck(async () => {
        const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
        const before = tf.memory().numTensors;
        const kept = tf.tidy(() => {
          const {y, mean, variance} = batchNormTraining(x);
          y.dispose();
          return {mean, variance: tf.mul(variance, 1)};
        });
        expectClose(await kept.mean.data(), [2, 3], 1e-6);
        expectClose(await kept.variance.data(), [1, 1], 1e-4);
        tf.dispose([kept.mean, kept.variance]);
        // Results not returned from a tidy are disposed with it.
        tf.tidy(() => {
          batchNormTraining(x);
        });
        expect(tf.memory().numTensors).toBe(before);
        x.dispose();
      }));

    it('accepts TensorLike inputs and an empty batch', () =>
      withoutKernelLeakCheck(async () => {
        const {y, mean, variance} = batchNormTraining(
          [
            [1, 2],
            [3, 6],
          ],
          [1, 1],
          [0, 0],
        );
        expectClose(await y.data(), [-1, -1, 1, 1], env.tolerance.atol * 10);
        const empty = batchNormTraining(tf.zeros([0, 3]));
        expect(empty.y.shape).toEqual([0, 3]);
        expect(empty.mean.shape).toEqual([3]);
        tf.dispose([y, mean, variance, empty.y, empty.mean, empty.variance]);
      }));

    it('throws errors that name the argument', () => {
      const x = tf.zeros([2, 3, 3, 4]);
      const [rank1, rank6, ints] = [
        tf.zeros([4]),
        tf.zeros([2, 2, 2, 2, 2, 2]),
        tf.zeros([2, 3], 'int32'),
      ];
      const [ones3, ones4, ones24] = [tf.ones([3]), tf.ones([4]), tf.ones([2, 4])];
      const before = tf.memory().numTensors;
      expect(() => batchNormTraining(rank1)).toThrowError(
        /argument 'x' must be of rank 2, 3, 4 or 5/,
      );
      expect(() => batchNormTraining(rank6)).toThrowError(/argument 'x'.*rank 6/);
      expect(() => batchNormTraining(ints)).toThrowError(
        /argument 'x' must be a float32 tensor, but got dtype int32/,
      );
      expect(() => batchNormTraining(x, ones3)).toThrowError(
        /argument 'gamma' must be of shape \[C\] = \[4\].*got shape \[3\]/,
      );
      expect(() => batchNormTraining(x, null, ones24)).toThrowError(
        /argument 'beta' must be of shape \[C\] = \[4\]/,
      );
      expect(() => batchNormTraining(x, ones4, null, 1e-3, 'channelsFirst')).toThrowError(
        /argument 'gamma' must be of shape \[C\] = \[3\].*channelsFirst/,
      );
      expect(() => batchNormTraining(x, [1, 2], null)).toThrowError(/argument 'gamma'/);
      expect(() => batchNormTraining(x, null, null, 0)).toThrowError(/argument 'epsilon'/);
      expect(() =>
        batchNormTraining(x, null, null, 1e-3, 'NHWC' as unknown as DataFormat),
      ).toThrowError(/argument 'dataFormat'/);
      expect(() =>
        batchNormTraining(x, null, null, 1e-3, 'channelsLast', {activation: 'softmax' as never}),
      ).toThrowError(/option 'activation'/);
      expect(() =>
        batchNormTraining(x, null, null, 1e-3, 'channelsLast', {axis: 1} as never),
      ).toThrowError(/unknown key 'axis'/);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, rank1, rank6, ints, ones3, ones4, ones24]);
    });
  },
  {f16: true},
);
