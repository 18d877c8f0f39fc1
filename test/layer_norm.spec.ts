/**
 * layerNorm: y and the gradient against the float64 reference over the last
 * axis, several trailing axes, non-trailing and unsorted axis lists, ranks 1
 * to 5, odd sizes, one feature, every activation and epsilon mode; second
 * order; published expectations (Keras' LayerNormalization test, PyTorch's
 * nn.LayerNorm); the fused kernels run; no leaks; errors.
 */
import {InstanceNorm, InstanceNormGrad, layerNorm} from '../src/index';
import type {LayerNormOptions} from '../src/index';
import {ACTIVATIONS} from '../src/kernel_names';

import {referenceLayerNorm, referenceLayerNormGradient} from './family_reference';
import type {FamilySettings} from './family_reference';
import {
  expectMatchesReference,
  expectSecondOrderMatches,
  FamilyCase,
  WorstErrors,
} from './family_util';
import {
  backendDataIds,
  describeEachBackend,
  expectClose,
  tf,
  WEBGL_F16,
  withoutKernelLeakCheck,
} from './setup';

function layerCase(
  name: string,
  shape: number[],
  axis: number | number[] = -1,
  more: Partial<FamilyCase> = {},
  settings: Partial<FamilySettings> = {},
): FamilyCase {
  const axes = (Array.isArray(axis) ? axis : [axis]).map(a => (a < 0 ? a + shape.length : a));
  const s: FamilySettings = {epsilon: 1e-3, ...settings};
  const options: LayerNormOptions = {
    axis,
    activation: s.activation ?? 'linear',
    alpha: s.alpha ?? 0.2,
    epsilonMode: s.epsilonMode ?? 'variance',
  };
  return {
    name: `${name}: [${shape}] axis ${JSON.stringify(axis)}`,
    shape,
    parameterShape: axes.map(a => shape[a]),
    withGamma: true,
    withBeta: true,
    settings: s,
    run: (x, gamma, beta) => ({y: layerNorm(x, gamma, beta, s.epsilon, options)}),
    reference: (x, gamma, beta) => referenceLayerNorm(x, shape, axes, gamma, beta, s),
    referenceGradient: (dy, x, gamma, beta) =>
      referenceLayerNormGradient(dy, x, shape, axes, gamma, beta, s),
    ...more,
  };
}

const CASES: FamilyCase[] = [
  layerCase('rank 1', [7]),
  layerCase('features', [5, 8]),
  layerCase('odd features', [3, 37]),
  layerCase('one feature', [4, 1]),
  layerCase('one row', [1, 33]),
  layerCase('tokens', [2, 7, 12]),
  layerCase('many rows', [3, 65, 5]),
  layerCase('wide rows', [2, 3, 700]),
  layerCase('rank 4', [2, 3, 4, 5]),
  layerCase('rank 5', [2, 3, 2, 3, 4]),
  layerCase('two trailing axes', [2, 7, 6], [-2, -1]),
  layerCase('three trailing axes', [2, 4, 4, 3], [1, 2, 3]),
  layerCase('unsorted trailing axes', [2, 3, 4], [-1, -2]),
  layerCase('a middle axis', [2, 5, 3], 1),
  layerCase('the batch axis', [4, 3], 0),
  layerCase('two axes around one', [3, 2, 4, 5], [1, 3]),
  layerCase('unsorted non-trailing axes', [3, 4, 2, 5], [2, 1]),
  layerCase('no gamma, no beta', [3, 10], -1, {withGamma: false, withBeta: false}),
  layerCase('gamma only', [3, 2, 6], [1, 2], {withBeta: false}),
  layerCase('beta only', [3, 6, 2], 1, {withGamma: false}),
  layerCase('offset 1e3', [4, 24], -1, {offset: 1e3}),
  layerCase('scale 1e2', [4, 24], -1, {scale: 1e2}),
  layerCase('epsilon 1e-5', [4, 24], -1, {}, {epsilon: 1e-5}),
  layerCase('epsilonMode stddev', [4, 3, 8], [-2, -1], {}, {epsilonMode: 'stddev'}),
  ...ACTIVATIONS.filter(a => a !== 'linear').map(activation =>
    layerCase(activation, [3, 4, 10], activation.length % 2 ? -1 : [1, 2], {}, {activation}),
  ),
  layerCase('leakyRelu alpha 0.05', [3, 16], -1, {}, {activation: 'leakyRelu', alpha: 0.05}),
];

describeEachBackend(
  'layerNorm',
  env => {
    const worst = new WorstErrors();
    let secondOrder = 0;
    afterAll(() => {
      console.log(
        `layerNorm [${env.name}]: worst error against float64 (scaled by max(1, |expected|)) ` +
          `${worst.summary()}, second order ${secondOrder.toExponential(2)}`,
      );
    });

    for (const c of CASES) {
      const f16Unfit = env.name === WEBGL_F16 && (c.offset != null || c.scale != null);
      it(`matches the float64 reference: y, dx, dgamma, dbeta — ${c.name}`, async () => {
        if (f16Unfit) pending('float16 textures cannot hold this data');
        await expectMatchesReference(c, env, worst);
      });
    }

    for (const c of [
      layerCase('second order', [3, 6]),
      layerCase('second order', [2, 3, 4], [1, 2]),
      layerCase('second order', [3, 4, 2], 1),
      layerCase('second order, gelu', [3, 5], -1, {}, {activation: 'gelu'}),
    ]) {
      it(`is twice differentiable: a gradient penalty matches float64 — ${c.name}`, async () => {
        if (env.name === WEBGL_F16) pending('central differences need float32 storage');
        secondOrder = Math.max(secondOrder, await expectSecondOrderMatches(c, env));
      });
    }

    // Keras' layer_normalization_test.py `test_output`: arange(5) with gamma
    // and beta initialized to ones, epsilon 1e-3 (Keras' default).
    it("gives Keras' published output on arange(5)", async () => {
      const x = tf.tensor2d([[0, 1, 2, 3, 4]]);
      const y = layerNorm(x, tf.ones([5]), tf.ones([5]), 1e-3);
      expectClose(
        await y.data(),
        [-0.41386, 0.29307, 1.0, 1.70693, 2.41386],
        1e-5 + env.tolerance.atol,
      );
      tf.dispose([x, y]);
    });

    // PyTorch's nn.LayerNorm([3], elementwise_affine=False), eps 1e-5: the
    // biased variance (torch.var(unbiased=False)); [1, 2, 3] has mean 2 and
    // variance 2/3, [2, 2, 2] is constant (y = 0).
    // nn.LayerNorm([2, 2]) normalizes the last two axes together.
    it("follows PyTorch's nn.LayerNorm on [2, 3] and over the last two axes", async () => {
      const x = tf.tensor2d([1, 2, 3, 2, 2, 2], [2, 3]);
      const y = layerNorm(x, null, null, 1e-5);
      const s = Math.sqrt(2 / 3 + 1e-5);
      const tol = env.tolerance.atol * 10;
      expectClose(await y.data(), [-1 / s, 0, 1 / s, 0, 0, 0], tol);
      const x2 = tf.tensor3d([1, 2, 3, 4, -1, -1, 1, 1], [2, 2, 2]);
      const y2 = layerNorm(x2, null, null, 1e-5, {axis: [-2, -1]});
      const s2 = Math.sqrt(1.25 + 1e-5);
      const s3 = Math.sqrt(1 + 1e-5);
      expectClose(
        await y2.data(),
        [-1.5 / s2, -0.5 / s2, 0.5 / s2, 1.5 / s2, -1 / s3, -1 / s3, 1 / s3, 1 / s3],
        tol,
      );
      tf.dispose([x, y, x2, y2]);
    });

    it('runs the fused kernels forward and backward where they exist', async () => {
      const x = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 3);
      const before = tf.memory().numTensors;
      for (const axis of [-1, [1, 2], 1]) {
        const profile = await withoutKernelLeakCheck(() =>
          tf.profile(() =>
            tf.grad(v => tf.sum(tf.square(layerNorm(v, null, null, 1e-3, {axis}))))(x),
          ),
        );
        const names = profile.kernels.map(k => k.name);
        expect(names.includes(InstanceNorm)).toBe(env.fused);
        expect(names.includes(InstanceNormGrad)).toBe(env.fused);
        console.log(
          `layerNorm [${env.name}] axis ${JSON.stringify(axis)}: ${names.length} kernels for ` +
            `one forward+gradient: ${names.join(', ')}`,
        );
        tf.dispose(profile.result as tf.Tensor);
      }
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });

    it('leaves no tensor behind over a training loop', () =>
      withoutKernelLeakCheck(async () => {
        const x = tf.randomNormal([4, 3, 8], 1, 2, 'float32', 9);
        const [gamma, beta] = tf.tidy(() => [
          tf.variable(tf.ones([8])),
          tf.variable(tf.zeros([8])),
        ]);
        const optimizer = tf.train.adam(0.01);
        // The first step makes adam's slots.
        optimizer.minimize(() => tf.mean(layerNorm(x, gamma, beta)));
        const before = tf.memory().numTensors;
        const dataBefore = backendDataIds();
        for (let step = 0; step < 5; step++) {
          optimizer.minimize(() =>
            tf.mean(tf.square(tf.sub(layerNorm(x, gamma, beta, 1e-3, {activation: 'gelu'}), 1))),
          );
        }
        expect(tf.memory().numTensors).toBe(before);
        expect(backendDataIds()).toBe(dataBefore);
        tf.dispose([x, gamma, beta]);
        optimizer.dispose();
      }));

    it('accepts TensorLike inputs and no rows', async () => {
      const y = layerNorm(
        [
          [1, 3],
          [5, 5],
        ],
        [1, 1],
        [0, 0],
      );
      expectClose(await y.data(), [-1, 1, 0, 0], env.tolerance.atol * 10);
      const empty = layerNorm(tf.zeros([0, 4]));
      expect(empty.shape).toEqual([0, 4]);
      tf.dispose([y, empty]);
    });

    it('throws errors that name the argument', () => {
      const x = tf.zeros([2, 3, 4]);
      const scalar = tf.scalar(1);
      const ints = tf.zeros([2, 3], 'int32');
      const [ones3, ones34, ones43] = [[3], [3, 4], [4, 3]].map(s => tf.ones(s));
      const before = tf.memory().numTensors;
      expect(() => layerNorm(scalar)).toThrowError(/argument 'x' must be of rank 1 or more/);
      expect(() => layerNorm(ints)).toThrowError(/argument 'x' must be a float32 tensor/);
      expect(() => layerNorm(x, ones3)).toThrowError(
        /argument 'gamma' must be of the normalized shape \[4\].*got shape \[3\]/,
      );
      expect(() => layerNorm(x, null, ones43, 1e-3, {axis: [1, 2]})).toThrowError(
        /argument 'beta' must be of the normalized shape \[3,4\]/,
      );
      expect(() => layerNorm(x, ones34, null, 1e-3, {axis: [2, 1]})).toThrowError(
        /argument 'gamma' must be of the normalized shape \[4,3\]/,
      );
      expect(() => layerNorm(x, null, null, 1e-3, {axis: 3})).toThrowError(
        /option 'axis' must be .* in \[-3, 3\).*got 3/,
      );
      expect(() => layerNorm(x, null, null, 1e-3, {axis: [1, -2]})).toThrowError(
        /option 'axis' must be .*distinct/,
      );
      expect(() => layerNorm(x, null, null, 1e-3, {axis: []})).toThrowError(/option 'axis'/);
      expect(() => layerNorm(x, null, null, 1e-3, {axis: 1.5})).toThrowError(/option 'axis'/);
      expect(() => layerNorm(x, null, null, -1)).toThrowError(/argument 'epsilon'/);
      expect(() => layerNorm(x, null, null, 1e-3, {epsilonMode: 'std' as never})).toThrowError(
        /option 'epsilonMode'/,
      );
      expect(() => layerNorm(x, null, null, 1e-3, {groups: 2} as never)).toThrowError(
        /unknown key 'groups'/,
      );
      expect(() => layerNorm(x, null, null, 1e-3, 'last' as never)).toThrowError(
        /argument 'options' must be an object/,
      );
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, scalar, ints, ones3, ones34, ones43]);
    });
  },
  {f16: true},
);
