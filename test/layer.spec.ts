/**
 * The InstanceNormalization tf.layers layer: forward values, training against
 * a composite reference net, serialization, models converted from Keras
 * (keras-contrib and TensorFlow Addons), regularizers, constraints,
 * trainable=false, errors and memory.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  AddonsInstanceNormalization,
  instanceNormalization,
  InstanceNormalization,
} from '../src/index';
import type {InstanceNormalizationLayerArgs} from '../src/index';

import {CompositeNorm} from '../support';
import {
  convNet,
  convertedKerasModel,
  EPSILON,
  expectFitsLikeReference,
  expectRoundTrip,
  expectSameModel,
  fitSteps,
  functionalKerasModel,
  images,
  kerasLayerConfig,
  setWeights,
  weightValues,
} from './layer_util';
import {referenceForward, referenceNorm} from './reference';
import {describeEachBackend, expectClose, DataFormat, randomValues, tf} from './setup';

/** The config keras-contrib (keras 2.2.4) writes for InstanceNormalization. */
function kerasContribLayer(name: string, axis: number | null, batchInputShape?: number[]): object {
  const shape = batchInputShape ? {batch_input_shape: [null, ...batchInputShape.slice(1)]} : {};
  return {class_name: 'InstanceNormalization', config: kerasLayerConfig(name, {axis, ...shape})};
}

/** A tf.keras 2.x functional model around TensorFlow Addons' layer. */
function addonsModel(axis: number, groups: number, batchInputShape: number[]): object {
  return functionalKerasModel(
    'Addons>InstanceNormalization',
    'instance_normalization',
    {groups, axis, gamma_regularizer: {class_name: 'L2', config: {l2: 0.01}}},
    batchInputShape,
  );
}

/**
 * The model's prediction on random images of `shape` (seed, spread 4 around
 * offset), and their float64 instance norm with the given weights.
 */
async function predictImages(
  model: tfl.LayersModel,
  shape: number[],
  seed: number,
  offset: number,
  norm: {gamma: number[]; beta: number[]; format: DataFormat; epsilonMode?: 'variance' | 'stddev'},
): Promise<{x: tf.Tensor; y: tf.Tensor; normalized: Float64Array}> {
  const values = randomValues(
    shape.reduce((a, b) => a * b, 1),
    seed,
    4,
    offset,
  );
  const x = tf.tensor(values, shape);
  const y = model.predict(x) as tf.Tensor;
  const {gamma, beta, format, epsilonMode} = norm;
  const normalized = referenceNorm(values, shape, gamma, beta, {
    epsilon: EPSILON,
    format,
    epsilonMode,
  }).y;
  return {x, y, normalized};
}

describeEachBackend('layer', env => {
  const {atol, rtol} = env.tolerance;

  describe('config', () => {
    it('has the Keras defaults', () => {
      const config = new InstanceNormalization().getConfig();
      expect(config['axis']).toBe(-1);
      expect(config['epsilon']).toBe(1e-3);
      expect(config['center']).toBe(true);
      expect(config['scale']).toBe(true);
      expect(config['betaInitializer']).toEqual({className: 'Zeros', config: {}});
      expect(config['gammaInitializer']).toEqual({className: 'Ones', config: {}});
      for (const key of [
        'betaRegularizer',
        'gammaRegularizer',
        'betaConstraint',
        'gammaConstraint',
      ]) {
        expect(config[key]).withContext(key).toBeNull();
      }
    });

    it('round-trips every option through getConfig and fromConfig', () => {
      // The options getConfig gives back as they are.
      const plain = {name: 'norm', axis: 1, epsilon: 1e-4, center: false, scale: true};
      const layer = instanceNormalization({
        ...plain,
        trainable: false,
        inputShape: [3, 5, 5],
        dtype: 'float32',
        betaInitializer: 'randomNormal',
        gammaInitializer: tfl.initializers.constant({value: 2}),
        betaRegularizer: tfl.regularizers.l1({l1: 0.1}),
        gammaRegularizer: 'l1l2',
        betaConstraint: {className: 'MaxNorm', config: {maxValue: 3, axis: 0}},
        gammaConstraint: tfl.constraints.nonNeg(),
      });
      const config = layer.getConfig();
      expect(config).toEqual(
        jasmine.objectContaining({
          ...plain,
          trainable: false,
          batchInputShape: [null, 3, 5, 5],
          dtype: 'float32',
          gammaInitializer: {className: 'Constant', config: {value: 2}},
          betaRegularizer: {className: 'L1L2', config: {l1: 0.1, l2: 0}},
          gammaRegularizer: {className: 'L1L2', config: {l1: 0.01, l2: 0.01}},
          betaConstraint: {className: 'MaxNorm', config: {maxValue: 3, axis: 0}},
          gammaConstraint: {className: 'NonNeg', config: {}},
        }),
      );
      expect((config['betaInitializer'] as {className: string}).className).toBe('RandomNormal');
      const copy = tf.serialization.SerializationMap.getMap().classNameMap['InstanceNormalization'];
      const restored = copy[1](copy[0], config) as InstanceNormalization;
      expect(restored).toBeInstanceOf(InstanceNormalization);
      expect(restored.getConfig()).toEqual(config);
    });

    it('keeps axis null, and the Addons class keeps groups -1', () => {
      expect(new InstanceNormalization({axis: null}).getConfig()['axis']).toBeNull();
      const addons = new AddonsInstanceNormalization({groups: -1});
      expect(addons.getClassName()).toBe('Addons>InstanceNormalization');
      expect(addons.getConfig()['groups']).toBe(-1);
      expect(addons.name).toMatch(/^addons_instance_normalization_\d+$/);
    });

    it('writes snake_case keys and the class name in the model JSON', () => {
      const model = tfl.sequential({
        layers: [instanceNormalization({inputShape: [4, 4, 2], axis: null})],
      });
      const json = model.toJSON(null, false) as {
        config: {layers: Array<{class_name: string; config: object}>};
      };
      const layer = json.config.layers[0];
      expect(layer.class_name).toBe('InstanceNormalization');
      expect(Object.keys(layer.config)).toEqual(
        jasmine.arrayContaining([
          'axis',
          'epsilon',
          'beta_initializer',
          'gamma_initializer',
          'beta_regularizer',
          'gamma_regularizer',
          'beta_constraint',
          'gamma_constraint',
          'batch_input_shape',
        ]),
      );
      expect((layer.config as {axis: unknown}).axis).toBeNull();
      model.dispose();
    });
  });

  describe('forward', () => {
    // [input shape, axis, the channel layout the float64 reference reads]
    const cases: Array<[number[], number | null, string]> = [
      [[2, 5, 4, 3], -1, 'channels last'],
      [[2, 3, 5, 4], 1, 'channels first'],
      [[2, 7, 3], -1, 'rank 3'],
      [[2, 3, 4, 2, 3], 4, 'rank 5, axis 4'],
      [[2, 2, 3, 2, 2, 3], -1, 'rank 6'],
      [[2, 3, 2, 2, 2, 2], 1, 'rank 6, channels first'],
      [[2, 4, 3, 5], 2, 'a middle axis'],
      [[3, 4, 5, 2], null, 'axis null'],
      [[3, 6], null, 'axis null, rank 2'],
    ];
    for (const [shape, axis, what] of cases) {
      it(`matches the float64 reference: ${what} ${JSON.stringify(shape)}, axis ${axis}`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const rank = shape.length;
        const channelAxis = axis === null ? null : axis < 0 ? axis + rank : axis;
        const channels = channelAxis === null ? 1 : shape[channelAxis];
        const xValues = randomValues(size, 10 + rank, 3, 1);
        const gamma = Array.from(randomValues(channels, 20, 1, 1));
        const beta = Array.from(randomValues(channels, 21, 1, 0));
        const layer = instanceNormalization({axis});
        const x = tf.tensor(xValues, shape);
        (layer.apply(x) as tf.Tensor).dispose(); // builds
        setWeights(layer, [gamma, beta]);
        const before = tf.memory().numTensors;
        const y = layer.apply(x) as tf.Tensor;
        expect(y.shape).toEqual(shape);
        // The reference reads [N, S, C]: move the channel axis last (or view all
        // features as one channel), and move y the same way.
        let expectedShape: number[];
        let yLast: tf.Tensor;
        let xLast: tf.Tensor;
        if (channelAxis === null) {
          expectedShape = [shape[0], size / shape[0], 1];
          xLast = tf.reshape(x, expectedShape);
          yLast = tf.reshape(y, expectedShape);
        } else {
          const perm = [...shape.keys()].filter(i => i !== channelAxis).concat([channelAxis]);
          xLast = tf.transpose(x, perm);
          yLast = tf.transpose(y, perm);
          expectedShape = xLast.shape;
        }
        const expected = referenceForward(
          await xLast.data(),
          expectedShape,
          gamma,
          beta,
          EPSILON,
          'channelsLast',
        );
        expectClose(await yLast.data(), expected.y, atol, rtol, 'y');
        tf.dispose([y, xLast, yLast]);
        expect(tf.memory().numTensors).toBe(before);
        layer.dispose();
        x.dispose();
      });
    }

    it("predicts with each instance's own statistics, in training and inference alike", async () => {
      const model = tfl.sequential({layers: [instanceNormalization({inputShape: [4, 4, 3]})]});
      const x = tf.tensor4d(randomValues(3 * 4 * 4 * 3, 30, 2, 5), [3, 4, 4, 3]);
      const batch = model.predict(x) as tf.Tensor;
      const alone = model.predict(tf.slice(x, [1], [1])) as tf.Tensor;
      const training = model.layers[0].apply(x, {training: true}) as tf.Tensor;
      const expected = referenceForward(
        await x.data(),
        x.shape,
        null,
        null,
        EPSILON,
        'channelsLast',
      );
      expectClose(await batch.data(), expected.y, atol, rtol, 'predict');
      expectClose(await alone.data(), expected.y.slice(48, 96), atol, rtol, 'one instance');
      expect(await training.data()).toEqual(await batch.data());
      tf.dispose([x, batch, alone, training]);
      model.dispose();
    });
  });

  describe('training', () => {
    for (const format of ['channelsLast', 'channelsFirst'] as DataFormat[]) {
      it(`fits a conv net (${format}) step for step like the composite reference, without leaks`, async () => {
        const axis = format === 'channelsLast' ? -1 : 1;
        await expectFitsLikeReference(
          format,
          instanceNormalization({axis}),
          new CompositeNorm({dataFormat: format}),
          env.tolerance,
        );
      });
    }

    it('adds its regularizers to the loss', async () => {
      const gamma = [1, -2, 0.5, 3];
      const beta = [0.3, -0.1, 0.2, 0];
      const losses: number[] = [];
      for (const regularized of [false, true]) {
        const norm = instanceNormalization(
          regularized
            ? {
                gammaRegularizer: tfl.regularizers.l2({l2: 0.1}),
                betaRegularizer: tfl.regularizers.l1({l1: 0.2}),
              }
            : {},
        );
        const model = convNet('channelsLast', norm);
        setWeights(norm, [gamma, beta]);
        model.compile({optimizer: tf.train.sgd(0), loss: 'meanSquaredError'});
        const x = images('channelsLast', 50);
        const y = tf.zeros([4, 2]);
        losses.push((await fitSteps(model, x, y, 1))[0]);
        tf.dispose([x, y]);
        model.dispose();
      }
      const penalty =
        0.1 * gamma.reduce((a, g) => a + g * g, 0) +
        0.2 * beta.reduce((a, b) => a + Math.abs(b), 0);
      expectClose([losses[1] - losses[0]], [penalty], 1e-4, rtol, 'regularization loss');
    });

    it('applies its constraints after every optimizer step', async () => {
      // The target -xhat + 1 pulls gamma to -1 and beta to 1.
      const x = tf.tensor4d(randomValues(4 * 4 * 4 * 2, 60, 2, 1), [4, 4, 4, 2]);
      const xhat = referenceForward(await x.data(), x.shape, null, null, EPSILON, 'channelsLast').y;
      const target = tf.tensor4d(
        Float32Array.from(xhat, v => 1 - v),
        x.shape as [number, number, number, number],
      );
      const trained: Array<{gamma: Float32Array; beta: Float32Array}> = [];
      for (const constrained of [false, true]) {
        const norm = instanceNormalization(
          constrained
            ? {
                inputShape: [4, 4, 2],
                gammaConstraint: 'nonNeg',
                betaConstraint: tfl.constraints.maxNorm({maxValue: 0.1, axis: 0}),
              }
            : {inputShape: [4, 4, 2]},
        );
        const model = tfl.sequential({layers: [norm]});
        model.compile({optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError'});
        const losses = await fitSteps(model, x, target, 6);
        expect(losses[5]).toBeLessThan(losses[0]);
        const [gamma, beta] = await weightValues(model);
        trained.push({gamma, beta});
        model.dispose();
      }
      const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, b) => a + b * b, 0));
      // Unconstrained, the weights leave the feasible set ...
      expect(Math.min(...trained[0].gamma)).toBeLessThan(-0.1);
      expect(norm(trained[0].beta)).toBeGreaterThan(0.5);
      // ... constrained, they stay in it.
      expect(Math.min(...trained[1].gamma)).toBeGreaterThanOrEqual(0);
      expect(norm(trained[1].beta)).toBeLessThanOrEqual(0.1 + 1e-6);
      tf.dispose([x, target]);
    });

    it('keeps gamma and beta frozen with trainable: false', async () => {
      const norm = instanceNormalization({trainable: false});
      const model = convNet('channelsLast', norm);
      setWeights(norm, [
        [1.5, 0.5, 2, 1],
        [0.1, 0.2, -0.3, 0],
      ]);
      expect(norm.trainableWeights.length).toBe(0);
      expect(norm.nonTrainableWeights.map(w => w.originalName.split('/').pop())).toEqual([
        'gamma',
        'beta',
      ]);
      model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
      const values = (layer: tfl.layers.Layer) =>
        Promise.all(layer.getWeights().map(w => w.data()));
      const dense = model.layers[4];
      const [normBefore, denseBefore] = [await values(norm), await values(dense)];
      const x = images('channelsLast', 70);
      const y = tf.tensor2d(randomValues(8, 71), [4, 2]);
      await fitSteps(model, x, y, 3);
      expect(await values(norm)).toEqual(normBefore);
      expect(await values(dense)).not.toEqual(denseBefore);
      tf.dispose([x, y]);
      model.dispose();
    });
  });

  describe('save and load', () => {
    for (const [what, make] of [
      ['InstanceNormalization', (axis: number) => instanceNormalization({axis})],
      ['Addons>InstanceNormalization', (axis: number) => new AddonsInstanceNormalization({axis})],
    ] as Array<[string, (axis: number) => tfl.layers.Layer]>) {
      it(`round-trips a trained model through memory: ${what}`, async () => {
        await expectRoundTrip(what, make(1));
      });
    }

    it('round-trips through indexeddb://', async () => {
      const url = `indexeddb://tfjs-instance-norm-layer-${env.name}`;
      const model = convNet('channelsLast', instanceNormalization({axis: null, epsilon: 1e-2}));
      setWeights(model.layers[1], [[1.5], [-0.5]]);
      await model.save(url);
      const loaded = await tfl.loadLayersModel(url);
      const x = images('channelsLast', 90);
      await expectSameModel(model, loaded, x);
      await tf.io.removeModel(url);
      x.dispose();
      model.dispose();
      loaded.dispose();
    });
  });

  describe('models converted from Keras', () => {
    it('loads keras-contrib InstanceNormalization (axis -1 and axis null) and predicts (x - mean) / (std + epsilon)', async () => {
      const shape = [2, 4, 5, 3];
      const topology = {
        class_name: 'Sequential',
        keras_version: '2.2.4',
        backend: 'tensorflow',
        config: {
          name: 'sequential_1',
          layers: [
            kerasContribLayer('instance_normalization_1', -1, shape),
            kerasContribLayer('instance_normalization_2', null),
          ],
        },
      };
      const gamma1 = [0.5, 2, -1];
      const beta1 = [0.1, -0.2, 0.3];
      const model = await tfl.loadLayersModel(
        convertedKerasModel(topology, [
          {name: 'instance_normalization_1/gamma', values: gamma1},
          {name: 'instance_normalization_1/beta', values: beta1},
          {name: 'instance_normalization_2/gamma', values: [3]},
          {name: 'instance_normalization_2/beta', values: [-1]},
        ]),
      );
      expect(model.layers.map(l => l.constructor)).toEqual([
        InstanceNormalization,
        InstanceNormalization,
      ]);
      const {
        x,
        y,
        normalized: first,
      } = await predictImages(model, shape, 100, 2, {
        gamma: gamma1,
        beta: beta1,
        format: 'channelsLast',
        epsilonMode: 'stddev',
      });
      const expected = referenceNorm(first, [2, 60, 1], [3], [-1], {
        epsilon: EPSILON,
        format: 'channelsLast',
        epsilonMode: 'stddev',
      }).y;
      expectClose(await y.data(), expected, atol, rtol, 'y');
      tf.dispose([x, y]);
      model.dispose();
    });

    it('loads TensorFlow Addons InstanceNormalization (groups -1, channels first) and predicts', async () => {
      const shape = [2, 3, 4, 5];
      const gamma = [1.5, -0.5, 2];
      const beta = [0, 1, -1];
      const model = await tfl.loadLayersModel(
        convertedKerasModel(addonsModel(1, -1, shape), [
          {name: 'instance_normalization/gamma', values: gamma},
          {name: 'instance_normalization/beta', values: beta},
        ]),
      );
      const layer = model.getLayer('instance_normalization');
      expect(layer).toBeInstanceOf(AddonsInstanceNormalization);
      // Keras' L2 regularizer class loads as tfjs' L1L2.
      expect(layer.getConfig()['gammaRegularizer']).toEqual({
        className: 'L1L2',
        config: {l1: 0, l2: 0.01},
      });
      const {
        x,
        y,
        normalized: expected,
      } = await predictImages(model, shape, 110, -3, {
        gamma,
        beta,
        format: 'channelsFirst',
      });
      expectClose(await y.data(), expected, atol, rtol, 'y');
      tf.dispose([x, y]);
      model.dispose();
    });

    it('rejects group normalization and out-of-range axes, naming the layer', async () => {
      const weights = [
        {name: 'instance_normalization/gamma', values: [1, 1, 1]},
        {name: 'instance_normalization/beta', values: [0, 0, 0]},
      ];
      const before = tf.memory().numTensors;
      // Addons saves a built layer with groups = C: that loads.
      const built = await tfl.loadLayersModel(
        convertedKerasModel(addonsModel(-1, 3, [1, 4, 4, 3]), weights),
      );
      built.dispose();
      await expectAsync(
        tfl.loadLayersModel(convertedKerasModel(addonsModel(-1, 6, [1, 4, 4, 3]), weights)),
      ).toBeRejectedWithError(
        /'instance_normalization'.*groups must be -1 or the number of channels \(3.*got 6/,
      );
      await expectAsync(
        tfl.loadLayersModel(convertedKerasModel(addonsModel(4, -1, [1, 4, 4, 3]), weights)),
      ).toBeRejectedWithError(
        /'instance_normalization'.*axis 4 is out of range for inputs of rank 4/,
      );
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  describe('errors', () => {
    const cases: Array<[string, () => unknown, RegExp]> = [
      [
        'groups other than -1',
        () => instanceNormalization({name: 'n', groups: 2}),
        /layer 'n': groups must be -1/,
      ],
      [
        'axis 0',
        () => instanceNormalization({name: 'n', axis: 0}),
        /layer 'n': axis 0 is the batch axis/,
      ],
      [
        'a fractional axis',
        () => instanceNormalization({name: 'n', axis: 1.5}),
        /layer 'n': axis must be an integer or null/,
      ],
      [
        'epsilon 0',
        () => instanceNormalization({name: 'n', epsilon: 0}),
        /layer 'n': argument 'epsilon' must be a positive/,
      ],
      [
        'an unknown key',
        () => instanceNormalization({name: 'n', renorm: true} as InstanceNormalizationLayerArgs),
        /layer 'n': unknown config key 'renorm'/,
      ],
      [
        'a non-boolean center',
        () =>
          instanceNormalization({
            name: 'n',
            center: 'yes',
          } as unknown as InstanceNormalizationLayerArgs),
        /layer 'n': center must be true or false/,
      ],
      [
        'an unknown initializer',
        () => instanceNormalization({name: 'n', gammaInitializer: 'noSuch'}),
        /layer 'n': gammaInitializer: unknown initializer 'NoSuch'/,
      ],
      [
        'an unknown constraint class',
        () => instanceNormalization({name: 'n', betaConstraint: {className: 'Nope', config: {}}}),
        /layer 'n': betaConstraint: unknown constraint 'Nope'/,
      ],
      [
        'an axis beyond the rank',
        () => instanceNormalization({name: 'n', axis: 4}).apply(tf.zeros([1, 2, 2, 2])),
        /layer 'n': axis 4 is out of range for inputs of rank 4/,
      ],
      [
        'a negative axis beyond the rank',
        () => instanceNormalization({name: 'n', axis: -4}).apply(tf.zeros([1, 2, 2])),
        /layer 'n': axis -4 is out of range for inputs of rank 3/,
      ],
      [
        'rank 2 with a channel axis',
        () => instanceNormalization({name: 'n'}).apply(tf.zeros([2, 3])),
        /layer 'n': with axis -1 the input needs rank >= 3/,
      ],
      [
        'a channel axis of unknown size',
        () =>
          instanceNormalization({name: 'n'}).apply(
            tfl.input({shape: [4, null as unknown as number]}),
          ),
        /layer 'n': axis -1 of the input must have a defined size/,
      ],
    ];
    for (const [what, make, message] of cases) {
      it(`names the layer for ${what}`, () => {
        tf.tidy(() => expect(make).toThrowError(message));
      });
    }
  });
});
