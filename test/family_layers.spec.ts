/**
 * The fused BatchNormalization and LayerNormalization layers against
 * tfjs-layers' own: config and weights, training forward, gradients and
 * moving statistics, inference, fitting side by side; the configurations
 * where tfjs-layers' layer cannot train, against float64; Keras' published
 * expectations; the kernels that run; useFusedNormalizationLayers and a
 * converted Keras CNN fine-tuned fused and loaded back by stock tfjs.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  BatchNormalization,
  batchNormalization,
  InstanceNorm,
  InstanceNormGrad,
  LayerNormalization,
  layerNormalization,
  useFusedNormalizationLayers,
} from '../src/index';

import {
  referenceBatchNorm,
  referenceBatchNormGradient,
  referenceLayerNormGradient,
} from './family_reference';
import {WorstErrors} from './family_util';
import {expectFitsLikeReference, saveToMemory} from './layer_util';
import {
  backendDataIds,
  describeEachBackend,
  expectClose,
  randomValues,
  skipWithoutKernels,
  tf,
  withoutKernelLeakCheck,
} from './setup';

const FIXTURES = '/base/test/fixtures/keras';

type AnyLayer = tfl.layers.Layer;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Builds `layer` on `shape` and sets each weight to seeded values (variances positive). */
function buildWithWeights(layer: AnyLayer, shape: number[], seed: number): void {
  tf.tidy(() => layer.apply(tf.zeros(shape)) as tf.Tensor);
  const values = layer.weights.map((w, i) =>
    tf.tensor(randomValues(size(w.shape as number[]), seed + i, 0.5, 1), w.shape as number[]),
  );
  layer.setWeights(values);
  tf.dispose(values);
}

/** y, and the gradients of sum(y * dy) with respect to x and the trainable weights. */
async function trainingStep(
  layer: AnyLayer,
  x: tf.Tensor,
  dy: tf.Tensor,
): Promise<{y: Float32Array; grads: Float32Array[]; weights: Float32Array[]}> {
  return withoutKernelLeakCheck(async () => {
    const loss = (v: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(v, {training: true}) as tf.Tensor, dy)) as tf.Scalar;
    const y = layer.apply(x, {training: true}) as tf.Tensor;
    const dx = tf.grad(loss)(x);
    const variables = layer.trainableWeights.map(w => w.read() as tf.Variable);
    // variableGrads wants at least one variable; a training call either way.
    const {value, grads} =
      variables.length > 0
        ? tf.variableGrads(() => loss(x), variables)
        : {value: loss(x), grads: {} as tf.NamedTensorMap};
    const result = {
      y: (await y.data()) as Float32Array,
      grads: [
        (await dx.data()) as Float32Array,
        ...(await Promise.all(variables.map(v => grads[v.name].data() as Promise<Float32Array>))),
      ],
      weights: await Promise.all(layer.weights.map(w => w.read().data() as Promise<Float32Array>)),
    };
    tf.dispose([y, dx, value, ...Object.values(grads)]);
    return result;
  });
}

/**
 * The kernels of one training forward and gradient (with respect to x and
 * the trainable weights) through `layer`, built first.
 */
async function kernelsOfStep(layer: AnyLayer, x: tf.Tensor): Promise<string[]> {
  tf.tidy(() => layer.apply(x) as tf.Tensor);
  const input = tf.variable(x);
  const variables = [input, ...layer.trainableWeights.map(w => w.read() as tf.Variable)];
  const profile = await withoutKernelLeakCheck(() =>
    tf.profile(() => {
      const {value, grads} = tf.variableGrads(
        () => tf.sum(tf.square(layer.apply(input, {training: true}) as tf.Tensor)) as tf.Scalar,
        variables,
      );
      tf.dispose([value, ...Object.values(grads)]);
    }),
  );
  input.dispose();
  return profile.kernels.map(k => k.name);
}

/**
 * Kernel counts of the fused and the tfjs-layers step: all, and without
 * Identity (the tape's saved copies) and Reshape, which move no data on the
 * GPU backends.
 */
function kernelCounts(fused: string[], layers: string[]): string {
  const computing = (names: string[]) =>
    names.filter(n => n !== 'Identity' && n !== 'Reshape').length;
  return (
    `fused ${fused.length} kernels (${computing(fused)} without Identity/Reshape), ` +
    `tfjs-layers ${layers.length} (${computing(layers)})`
  );
}

function configKeys(layer: AnyLayer): string[] {
  return Object.keys(layer.getConfig()).sort();
}

describeEachBackend('fused normalization layers', env => {
  const againstLayers = new WorstErrors();
  const againstFloat64 = new WorstErrors();
  afterAll(() => {
    console.log(
      `fused normalization layers [${env.name}]: worst error against tfjs-layers ` +
        `${againstLayers.summary()}; against float64 ${againstFloat64.summary()}`,
    );
  });
  const {atol, rtol} = env.tolerance;

  describe('BatchNormalization', () => {
    it("has tfjs-layers' config keys, defaults, weights and class name", () => {
      const args = {
        axis: 1,
        momentum: 0.9,
        epsilon: 1e-2,
        center: true,
        scale: false,
        betaInitializer: 'ones' as const,
        movingVarianceInitializer: 'zeros' as const,
        betaRegularizer: tfl.regularizers.l2({l2: 0.01}),
      };
      for (const config of [{}, args]) {
        const ours = batchNormalization(config);
        const theirs = tfl.layers.batchNormalization(config);
        expect(ours).toBeInstanceOf(BatchNormalization);
        expect(ours.getClassName()).toBe('BatchNormalization');
        for (const layer of [ours, theirs])
          tf.tidy(() => layer.apply(tf.zeros([2, 3, 4, 5])) as tf.Tensor);
        expect(configKeys(ours)).toEqual(configKeys(theirs));
        const {name: _ours, ...oursConfig} = ours.getConfig();
        const {name: _theirs, ...theirsConfig} = theirs.getConfig();
        expect(oursConfig).toEqual(theirsConfig);
        const describeWeights = (layer: AnyLayer) =>
          layer.weights.map(w => [w.originalName.split('/').pop(), w.shape, w.trainable]);
        expect(describeWeights(ours)).toEqual(describeWeights(theirs));
        ours.dispose();
        theirs.dispose();
      }
      const defaults = batchNormalization().getConfig();
      expect([defaults.axis, defaults.momentum, defaults.epsilon]).toEqual([-1, 0.99, 1e-3]);
    });

    for (const shape of [
      [6, 5],
      [4, 7, 3],
      [3, 5, 4, 6],
    ]) {
      it(`trains like tfjs-layers' layer: y, gradients, moving statistics — [${shape}] axis -1`, async () => {
        const ours = batchNormalization({momentum: 0.8});
        const theirs = tfl.layers.batchNormalization({momentum: 0.8});
        buildWithWeights(ours, shape, 5);
        buildWithWeights(theirs, shape, 5);
        const x = tf.tensor(randomValues(size(shape), 6, 2, 0.5), shape);
        const dy = tf.tensor(randomValues(size(shape), 7), shape);
        const before = tf.memory().numTensors;
        const dataBefore = backendDataIds();
        const [a, b] = [await trainingStep(ours, x, dy), await trainingStep(theirs, x, dy)];
        againstLayers.record('BN y', expectClose(a.y, b.y, atol, rtol, 'y', 1));
        const names = ['dx', 'dgamma', 'dbeta'];
        a.grads.forEach((g, i) =>
          againstLayers.record(
            `BN ${names[i]}`,
            expectClose(g, b.grads[i], atol, rtol, names[i], 1),
          ),
        );
        // gamma, beta, moving_mean, moving_variance after three training calls.
        a.weights.forEach((w, i) =>
          againstLayers.record(
            'BN moving',
            expectClose(w, b.weights[i], atol, rtol, `weight ${i}`, 1),
          ),
        );
        // Inference reads the moving statistics, as tfjs-layers does.
        const [ya, yb] = [ours.apply(x) as tf.Tensor, theirs.apply(x) as tf.Tensor];
        againstLayers.record(
          'BN inference',
          expectClose(await ya.data(), await yb.data(), atol, rtol, 'inference', 1),
        );
        tf.dispose([ya, yb]);
        expect(tf.memory().numTensors).toBe(before);
        expect(backendDataIds()).toBe(dataBefore);
        tf.dispose([x, dy]);
        ours.dispose();
        theirs.dispose();
      });
    }

    // tfjs-layers' layer throws in its gradient with axis 1 ("Size(360) must
    // match the product of shape 1,6,1,1") and reads an absent gamma with
    // scale: false; these are checked against float64.
    for (const [what, args, shape] of [
      ['channels first, axis 1', {axis: 1}, [3, 6, 4, 5]],
      ['channels first, rank 5', {axis: 1}, [2, 3, 2, 3, 4]],
      ['axis 2 of rank 4', {axis: 2}, [2, 3, 5, 4]],
      ['scale: false, center: false', {scale: false, center: false}, [4, 3, 3, 2]],
      ['scale: false, axis 1', {scale: false, axis: 1}, [4, 3, 3, 2]],
    ] as const) {
      it(`trains where tfjs-layers' layer cannot: ${what}, against float64`, async () => {
        const layer = batchNormalization({...args, momentum: 0.5});
        buildWithWeights(layer, [...shape], 9);
        const axis = args.axis ?? -1;
        const channelAxis = axis < 0 ? axis + shape.length : axis;
        const x = tf.tensor(randomValues(size(shape), 10, 2, 0.5), [...shape]);
        const dy = tf.tensor(randomValues(size(shape), 11), [...shape]);
        const initial = await Promise.all(layer.weights.map(w => w.read().data()));
        const named = Object.fromEntries(
          layer.weights.map((w, i) => [w.originalName.split('/').pop() as string, initial[i]]),
        );
        const [gamma, beta] = [named['gamma'] ?? null, named['beta'] ?? null];
        const xs = await x.data();
        const s = {epsilon: 1e-3};
        const expected = referenceBatchNorm(xs, shape, channelAxis, gamma, beta, s);
        const expectedGradient = referenceBatchNormGradient(
          await dy.data(),
          xs,
          shape,
          channelAxis,
          gamma,
          beta,
          s,
        );
        const step = await trainingStep(layer, x, dy);
        againstFloat64.record('BN y', expectClose(step.y, expected.y, atol, rtol, 'y', 1));
        const expectedGrads = [
          expectedGradient.dx,
          ...(gamma ? [expectedGradient.dgamma] : []),
          ...(beta ? [expectedGradient.dbeta] : []),
        ];
        step.grads.forEach((g, i) =>
          againstFloat64.record(
            'BN grads',
            expectClose(g, expectedGrads[i], atol, rtol, `grad ${i}`, 1),
          ),
        );
        // Three training calls at momentum 0.5 on the same batch.
        const moving = (start: ArrayLike<number>, batch: Float64Array) =>
          Array.from(start, (m, c) => batch[c] + (m - batch[c]) * 0.5 ** 3);
        const k = layer.weights.length - 2;
        expectClose(
          step.weights[k],
          moving(initial[k], expected.mean),
          atol,
          rtol,
          'moving_mean',
          1,
        );
        expectClose(
          step.weights[k + 1],
          moving(initial[k + 1], expected.variance),
          atol,
          rtol,
          'moving_variance',
          1,
        );
        // Inference: the moving statistics along the channel axis.
        const [g, b, m, v] = [
          gamma ? step.weights[0] : null,
          beta ? step.weights[gamma ? 1 : 0] : null,
          step.weights[k],
          step.weights[k + 1],
        ];
        const channels = shape[channelAxis];
        const stride = size(shape.slice(channelAxis + 1));
        const expectedInference = Array.from(xs, (value, i) => {
          const c = Math.floor(i / stride) % channels;
          const normed = (value - m[c]) / Math.sqrt(v[c] + 1e-3);
          return normed * (g ? g[c] : 1) + (b ? b[c] : 0);
        });
        const inferred = layer.apply(x) as tf.Tensor;
        againstFloat64.record(
          'BN inference',
          expectClose(await inferred.data(), expectedInference, atol, rtol, 'inference', 1),
        );
        tf.dispose([x, dy, inferred]);
        layer.dispose();
      });
    }

    it('shows the tfjs-layers failures it replaces (tfjs-layers 4.22)', async () => {
      const x = tf.randomNormal([3, 6, 4, 5], 0, 1, 'float32', 1);
      const theirs = tfl.layers.batchNormalization({axis: 1});
      await withoutKernelLeakCheck(() => {
        expect(() =>
          tf.tidy(() => tf.grad(v => tf.sum(theirs.apply(v, {training: true}) as tf.Tensor))(x)),
        ).toThrowError(/must match the product of shape/);
      });
      theirs.dispose();
      x.dispose();
    });

    // tfjs-layers' normalization_test.ts 'Fit: 2D, BatchNorm Layer Only', whose
    // expected values come from Keras (sgd, mean squared error, 2 epochs).
    it("fits to Keras' published weights and moving statistics", async () => {
      const model = tfl.sequential({layers: [batchNormalization({inputShape: [4]})]});
      model.compile({loss: 'meanSquaredError', optimizer: 'sgd'});
      const xs = tf.tensor2d([1, 2, 3, 4, 2, 4, 6, 8, 12, 11, 10, 9], [3, 4]);
      const ys = tf.zeros([3, 4]);
      const history = await withoutKernelLeakCheck(() =>
        model.fit(xs, ys, {epochs: 2, batchSize: 3, verbose: 0}),
      );
      const tol = 10 * atol;
      expectClose(
        history.history['loss'] as number[],
        [0.9998891353607178, 0.9899163246154785],
        tol,
      );
      const [gamma, beta, movingMean, movingVariance] = await Promise.all(
        model.getWeights().map(w => w.data()),
      );
      expectClose(gamma, [0.9900254, 0.9900257, 0.9900262, 0.9900271], tol);
      expectClose(beta, [0, 0, 0, 0], tol);
      expectClose(movingMean, [0.09949999, 0.11276666, 0.12603334, 0.13929999], tol);
      expectClose(movingVariance, [1.4709667, 1.2763889, 1.1437222, 1.0729666], tol);
      tf.dispose([xs, ys]);
      model.dispose();
    });

    // Keras' batch_normalization_test.py test_masked_broadcast_normalization
    // (without the mask): ones in, momentum 0, epsilon 1e-3.
    it("gives Keras' published result on a constant input", async () => {
      const layer = batchNormalization({axis: -1, momentum: 0, epsilon: 1e-3});
      const x = tf.ones([1, 2, 3, 4]);
      const y = await withoutKernelLeakCheck(() => layer.apply(x, {training: true}) as tf.Tensor);
      expectClose(await y.data(), new Array(24).fill(0), 1e-6);
      const [, , movingMean, movingVariance] = await Promise.all(
        layer.getWeights().map(w => w.data()),
      );
      expectClose(movingMean, [1, 1, 1, 1], 1e-6);
      expectClose(movingVariance, [0, 0, 0, 0], 1e-6);
      tf.dispose([x, y]);
      layer.dispose();
    });

    it('fits a conv net like tfjs-layers, step by step, with no leak', async () => {
      skipWithoutKernels('Conv2DBackpropFilter');
      const tolerance = {atol: 10 * atol, rtol: 10 * rtol};
      await expectFitsLikeReference(
        'channelsLast',
        batchNormalization(),
        tfl.layers.batchNormalization(),
        tolerance,
      );
    });

    it('runs the fused kernels in training; counts kernels against tfjs-layers', async () => {
      const x = tf.randomNormal([4, 6, 6, 8], 0, 1, 'float32', 2);
      const [ours, theirs] = [batchNormalization(), tfl.layers.batchNormalization()];
      const [a, b] = [await kernelsOfStep(ours, x), await kernelsOfStep(theirs, x)];
      expect(a.includes(InstanceNorm)).toBe(env.fused);
      expect(a.includes(InstanceNormGrad)).toBe(env.fused);
      console.log(
        `BatchNormalization [${env.name}] one training forward+gradient: ${kernelCounts(a, b)}`,
      );
      x.dispose();
      ours.dispose();
      theirs.dispose();
    });
  });

  describe('LayerNormalization', () => {
    it("has tfjs-layers' config keys, defaults, weights and class name", () => {
      for (const config of [
        {},
        {axis: [1, 2], epsilon: 1e-5, center: false, gammaInitializer: 'zeros' as const},
      ]) {
        const ours = layerNormalization(config);
        const theirs = tfl.layers.layerNormalization(config);
        expect(ours).toBeInstanceOf(LayerNormalization);
        expect(ours.getClassName()).toBe('LayerNormalization');
        for (const layer of [ours, theirs])
          tf.tidy(() => layer.apply(tf.zeros([2, 3, 4])) as tf.Tensor);
        expect(configKeys(ours)).toEqual(configKeys(theirs));
        const {name: _ours, ...oursConfig} = ours.getConfig();
        const {name: _theirs, ...theirsConfig} = theirs.getConfig();
        expect(oursConfig).toEqual(theirsConfig);
        const describeWeights = (layer: AnyLayer) =>
          layer.weights.map(w => [w.originalName.split('/').pop(), w.shape, w.trainable]);
        expect(describeWeights(ours)).toEqual(describeWeights(theirs));
        ours.dispose();
        theirs.dispose();
      }
      const defaults = layerNormalization().getConfig();
      expect([defaults.axis, defaults.epsilon]).toEqual([-1, 1e-3]);
    });

    for (const [shape, axis] of [
      [[6, 10], -1],
      [[3, 7, 12], -1],
      [
        [2, 3, 4, 5],
        [-2, -1],
      ],
      [
        [2, 3, 4],
        [-1, -2],
      ],
      [[3, 5, 4], 1],
      [
        [2, 3, 4, 5],
        [1, 3],
      ],
    ] as const) {
      it(`computes and differentiates like tfjs-layers' layer — [${shape}] axis ${JSON.stringify(axis)}`, async () => {
        const config = {axis: Array.isArray(axis) ? [...axis] : (axis as number)};
        const ours = layerNormalization(config);
        const theirs = tfl.layers.layerNormalization(config);
        buildWithWeights(ours, [...shape], 5);
        buildWithWeights(theirs, [...shape], 5);
        const x = tf.tensor(randomValues(size(shape), 6, 2, 0.5), [...shape]);
        const dy = tf.tensor(randomValues(size(shape), 7), [...shape]);
        const before = tf.memory().numTensors;
        const [a, b] = [await trainingStep(ours, x, dy), await trainingStep(theirs, x, dy)];
        againstLayers.record('LN y', expectClose(a.y, b.y, atol, rtol, 'y', 1));
        const names = ['dx', 'dgamma', 'dbeta'];
        a.grads.forEach((g, i) =>
          againstLayers.record(
            `LN ${names[i]}`,
            expectClose(g, b.grads[i], atol, rtol, names[i], 1),
          ),
        );
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, dy]);
        ours.dispose();
        theirs.dispose();
      });
    }

    // tfjs-layers' layer throws "Cannot read properties of undefined
    // (reading 'dataId')" in its gradient here; checked against float64.
    it('differentiates with center: false, scale: false, against float64', async () => {
      const shape = [3, 4, 6];
      const layer = layerNormalization({center: false, scale: false, axis: [1, 2]});
      const x = tf.tensor(randomValues(size(shape), 12, 2, 0.5), shape);
      const dy = tf.tensor(randomValues(size(shape), 13), shape);
      const step = await trainingStep(layer, x, dy);
      expect(layer.weights.length).toBe(0);
      const expected = referenceLayerNormGradient(
        await dy.data(),
        await x.data(),
        shape,
        [1, 2],
        null,
        null,
        {
          epsilon: 1e-3,
        },
      );
      againstFloat64.record('LN dx', expectClose(step.grads[0], expected.dx, atol, rtol, 'dx', 1));
      const theirs = tfl.layers.layerNormalization({center: false, scale: false});
      await withoutKernelLeakCheck(() => {
        expect(() =>
          tf.tidy(() => tf.grad(v => tf.sum(theirs.apply(v) as tf.Tensor))(x)),
        ).toThrowError();
      });
      tf.dispose([x, dy]);
      layer.dispose();
      theirs.dispose();
    });

    // Keras' layer_normalization_test.py test_output: arange(5), gamma and
    // beta initialized to ones; and test_unsorted_axis.
    it("gives Keras' published output and ignores the axis order", async () => {
      const layer = layerNormalization({gammaInitializer: 'ones', betaInitializer: 'ones'});
      const x = tf.tensor2d([[0, 1, 2, 3, 4]]);
      const y = layer.apply(x) as tf.Tensor;
      expectClose(await y.data(), [-0.41386, 0.29307, 1.0, 1.70693, 2.41386], 1e-5 + atol);
      const x3 = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 3);
      const [sorted, unsorted] = [
        [-2, -1],
        [-1, -2],
      ].map(axis => layerNormalization({axis}).apply(x3) as tf.Tensor);
      expectClose(await unsorted.data(), await sorted.data(), atol);
      tf.dispose([x, y, x3, sorted, unsorted]);
      layer.dispose();
    });

    it('fits a conv net like tfjs-layers, step by step, with no leak', async () => {
      skipWithoutKernels('Conv2DBackpropFilter');
      const tolerance = {atol: 10 * atol, rtol: 10 * rtol};
      await expectFitsLikeReference(
        'channelsLast',
        layerNormalization(),
        tfl.layers.layerNormalization(),
        tolerance,
      );
    });

    it('runs the fused kernels; counts kernels against tfjs-layers', async () => {
      const x = tf.randomNormal([8, 16, 32], 0, 1, 'float32', 2);
      const [ours, theirs] = [layerNormalization(), tfl.layers.layerNormalization()];
      const [a, b] = [await kernelsOfStep(ours, x), await kernelsOfStep(theirs, x)];
      expect(a.includes(InstanceNorm)).toBe(env.fused);
      expect(a.includes(InstanceNormGrad)).toBe(env.fused);
      console.log(`LayerNormalization [${env.name}] one forward+gradient: ${kernelCounts(a, b)}`);
      x.dispose();
      ours.dispose();
      theirs.dispose();
    });
  });

  describe('useFusedNormalizationLayers', () => {
    it("makes deserialization build the fused classes, and gives tfjs-layers' back", async () => {
      const classOf = (name: string) =>
        tf.serialization.SerializationMap.getMap().classNameMap[name][0];
      const stock = [classOf('BatchNormalization'), classOf('LayerNormalization')];
      expect(stock[0]).not.toBe(BatchNormalization as never);
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({inputShape: [5], units: 4}),
          tfl.layers.batchNormalization(),
          tfl.layers.layerNormalization(),
        ],
      });
      const json = model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'];
      const restore = useFusedNormalizationLayers();
      try {
        expect(classOf('BatchNormalization')).toBe(BatchNormalization as never);
        const fused = await tfl.models.modelFromJSON({modelTopology: json} as never);
        expect(fused.layers[1]).toBeInstanceOf(BatchNormalization);
        expect(fused.layers[2]).toBeInstanceOf(LayerNormalization);
        fused.dispose();
      } finally {
        restore();
      }
      expect([classOf('BatchNormalization'), classOf('LayerNormalization')]).toEqual(stock);
      const plain = await tfl.models.modelFromJSON({modelTopology: json} as never);
      expect(plain.layers[1]).not.toBeInstanceOf(BatchNormalization);
      plain.dispose();
      model.dispose();
    });

    it('fine-tunes a converted Keras CNN fused; stock tfjs loads the saved model with the same predictions', async () => {
      skipWithoutKernels('Conv2DBackpropFilter');
      const name = 'keras_bn_cnn';
      const expected = (await (await fetch(`${FIXTURES}/${name}/expected.json`)).json()) as {
        input: Array<{shape: number[]; values: number[]}>;
        output: {shape: number[]; values: number[]};
      };
      const input = tf.tensor(expected.input[0].values, expected.input[0].shape);
      const start = tf.memory().numTensors;
      const restore = useFusedNormalizationLayers();
      let artifacts: tf.io.ModelArtifacts;
      let finetuned: Float32Array;
      try {
        const model = await tfl.loadLayersModel(`${FIXTURES}/${name}/model.json`);
        const norms = model.layers.filter(l => /Normalization$/.test(l.getClassName()));
        expect(norms.length).toBe(3);
        for (const layer of norms) {
          expect(layer instanceof BatchNormalization || layer instanceof LayerNormalization).toBe(
            true,
          );
        }
        // Inference with the converted moving statistics: the float64 expectation.
        const predicted = model.predict(input) as tf.Tensor;
        againstFloat64.record(
          'converted model',
          expectClose(await predicted.data(), expected.output.values, atol, rtol, 'prediction', 1),
        );
        predicted.dispose();
        const target = tf.tensor(
          randomValues(size(expected.output.shape), 3),
          expected.output.shape,
        );
        const optimizer = tf.train.sgd(0.05);
        model.compile({optimizer, loss: 'meanSquaredError'});
        const profile = await withoutKernelLeakCheck(() =>
          tf.profile(
            () => model.fit(input, target, {epochs: 3, batchSize: 2, verbose: 0}) as never,
          ),
        );
        expect(profile.kernelNames.includes(InstanceNorm)).toBe(env.fused);
        expect(profile.kernelNames.includes(InstanceNormGrad)).toBe(env.fused);
        const after = model.predict(input) as tf.Tensor;
        finetuned = (await after.data()) as Float32Array;
        // The moving statistics moved: fine-tuning changed the predictions.
        expect(
          Array.from(finetuned).some((v, i) => Math.abs(v - expected.output.values[i]) > 1e-3),
        ).toBe(true);
        artifacts = await saveToMemory(model);
        tf.dispose([after, target]);
        model.dispose();
        optimizer.dispose();
      } finally {
        restore();
      }
      const topology = JSON.stringify(artifacts.modelTopology);
      expect(topology).toContain('"class_name":"BatchNormalization"');
      expect(topology).toContain('"class_name":"LayerNormalization"');
      const stock = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
      expect(
        stock.layers.some(l => l instanceof BatchNormalization || l instanceof LayerNormalization),
      ).toBe(false);
      const reloaded = stock.predict(input) as tf.Tensor;
      againstLayers.record(
        'saved, stock tfjs',
        expectClose(await reloaded.data(), finetuned, atol, rtol, 'stock prediction', 1),
      );
      reloaded.dispose();
      stock.dispose();
      expect(tf.memory().numTensors).toBe(start);
      input.dispose();
    });
  });
});
