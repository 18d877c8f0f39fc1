/**
 * The GroupNormalization and Addons>GroupNormalization tf.layers layers:
 * config, forward values against the float64 reference, training against a
 * composite reference net, save and load, models converted from Keras, and
 * errors that name the layer and `groups`.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {AddonsGroupNormalization, GroupNormalization, groupNormalization} from '../src/index';

import {CompositeNorm} from '../support';
import {
  convertedKerasModel,
  EPSILON,
  expectFitsLikeReference,
  expectRoundTrip,
  functionalKerasModel,
  setWeights,
} from './layer_util';
import {referenceForward} from './reference';
import {describeEachBackend, expectClose, DataFormat, randomValues, tf} from './setup';

describeEachBackend('group layer', env => {
  const {atol, rtol} = env.tolerance;

  describe('config', () => {
    it("has Keras' defaults: 32 groups, axis -1, epsilon 1e-3", () => {
      const config = groupNormalization().getConfig();
      expect(config['groups']).toBe(32);
      expect(config['axis']).toBe(-1);
      expect(config['epsilon']).toBe(1e-3);
      expect(config['center']).toBe(true);
      expect(config['scale']).toBe(true);
    });

    it('round-trips every option through getConfig and fromConfig, for both classes', () => {
      for (const cls of [GroupNormalization, AddonsGroupNormalization]) {
        const layer = new cls({
          groups: 4,
          axis: 1,
          epsilon: 1e-2,
          center: false,
          gammaInitializer: 'randomNormal',
          gammaRegularizer: 'l1l2',
          gammaConstraint: 'nonNeg',
        });
        const config = layer.getConfig();
        // Looked up by class name, as tf.loadLayersModel does.
        const [found, fromConfig] =
          tf.serialization.SerializationMap.getMap().classNameMap[cls.className];
        const copy = fromConfig(found, config) as tfl.layers.Layer;
        expect(copy).toBeInstanceOf(cls);
        expect(copy.getClassName()).toBe(cls.className);
        expect(copy.getConfig()).toEqual(config);
      }
    });

    it("names Addons layers without '>' (a valid weight scope)", () => {
      expect(new AddonsGroupNormalization().name).toMatch(/^addons_group_normalization_\d+$/);
    });
  });

  describe('forward', () => {
    for (const [shape, axis, format, groups] of [
      [[2, 5, 5, 4], -1, 'channelsLast', 2],
      [[2, 4, 3, 5], 1, 'channelsFirst', 2],
      [[2, 6, 7], -1, 'channelsLast', 1],
      [[1, 6, 2, 3, 2], 1, 'channelsFirst', 3],
      [[2, 3, 3, 4], -1, 'channelsLast', -1],
    ] as Array<[number[], number, DataFormat, number]>) {
      it(`matches the float64 reference: [${shape}], axis ${axis}, groups ${groups}`, async () => {
        const channels = shape[axis === -1 ? shape.length - 1 : 1];
        const gamma = Array.from(randomValues(channels, 5, 0.5, 1));
        const beta = Array.from(randomValues(channels, 6, 1));
        const layer = groupNormalization({groups, axis});
        const x = tf.tensor(
          randomValues(
            shape.reduce((a, b) => a * b, 1),
            7,
            2,
            1,
          ),
          shape,
        );
        layer.apply(x);
        setWeights(layer, [gamma, beta]);
        const y = layer.apply(x) as tf.Tensor;
        const [values, count] = [await x.data(), groups === -1 ? channels : groups];
        const expected = referenceForward(values, shape, gamma, beta, EPSILON, format, count);
        expectClose(await y.data(), expected.y, atol, rtol, 'y');
        tf.dispose([x, y]);
        layer.dispose();
      });
    }
  });

  describe('training', () => {
    for (const format of ['channelsLast', 'channelsFirst'] as DataFormat[]) {
      it(`fits a conv net (${format}) step for step like the composite group norm, without leaks`, async () => {
        await expectFitsLikeReference(
          format,
          groupNormalization({groups: 2, axis: format === 'channelsLast' ? -1 : 1}),
          new CompositeNorm({dataFormat: format, groups: 2}),
          env.tolerance,
        );
      });
    }
  });

  describe('save and load', () => {
    it('round-trips a trained model through memory: GroupNormalization', async () => {
      await expectRoundTrip('GroupNormalization', groupNormalization({groups: 2, axis: 1}));
    });
    it('round-trips a trained model through memory: Addons>GroupNormalization', async () => {
      await expectRoundTrip(
        'Addons>GroupNormalization',
        new AddonsGroupNormalization({groups: 2, axis: 1}),
      );
    });
  });

  describe('models converted from Keras', () => {
    for (const [className, cls, axis, format] of [
      ['GroupNormalization', GroupNormalization, -1, 'channelsLast'],
      ['Addons>GroupNormalization', AddonsGroupNormalization, 1, 'channelsFirst'],
    ] as Array<[string, typeof GroupNormalization, number, DataFormat]>) {
      it(`loads ${className} (groups 2, axis ${axis}) and predicts`, async () => {
        const shape = format === 'channelsLast' ? [2, 4, 3, 6] : [2, 6, 4, 3];
        const gamma = [0.5, 2, -1, 1.5, 1, 0.25];
        const beta = [0.1, -0.2, 0.3, 0, 1, -1];
        const before = tf.memory().numTensors;
        const model = await tfl.loadLayersModel(
          convertedKerasModel(
            functionalKerasModel(className, 'group_normalization', {groups: 2, axis}, shape),
            [
              {name: 'group_normalization/gamma', values: gamma},
              {name: 'group_normalization/beta', values: beta},
            ],
          ),
        );
        const layer = model.getLayer('group_normalization');
        expect(layer).toBeInstanceOf(cls);
        expect(layer.getClassName()).toBe(className);
        expect(layer.getConfig()['groups']).toBe(2);
        const x = tf.tensor(randomValues(144, 8, 3, -2), shape);
        const y = model.predict(x) as tf.Tensor;
        const expected = referenceForward(await x.data(), shape, gamma, beta, EPSILON, format, 2);
        expectClose(await y.data(), expected.y, atol, rtol, 'y');
        tf.dispose([x, y]);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    it("loads groups -1 as one group per channel (Keras' instance norm)", async () => {
      const shape = [1, 3, 3, 2];
      const model = await tfl.loadLayersModel(
        convertedKerasModel(functionalKerasModel('GroupNormalization', 'gn', {groups: -1}, shape), [
          {name: 'gn/gamma', values: [1, 1]},
          {name: 'gn/beta', values: [0, 0]},
        ]),
      );
      const x = tf.tensor(randomValues(18, 9), shape);
      const y = model.predict(x) as tf.Tensor;
      const expected = referenceForward(await x.data(), shape, null, null, EPSILON, 'channelsLast');
      expectClose(await y.data(), expected.y, atol, rtol, 'y');
      tf.dispose([x, y]);
      model.dispose();
    });

    it('rejects groups that do not divide the channels, naming the layer and groups', async () => {
      const before = tf.memory().numTensors;
      await expectAsync(
        tfl.loadLayersModel(
          convertedKerasModel(
            functionalKerasModel('GroupNormalization', 'gn', {groups: 4}, [1, 4, 4, 6]),
            [
              {name: 'gn/gamma', values: [1, 1, 1, 1, 1, 1]},
              {name: 'gn/beta', values: [0, 0, 0, 0, 0, 0]},
            ],
          ),
        ),
      ).toBeRejectedWithError(/GroupNormalization layer 'gn': groups \(4\) must divide .* 6/);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  describe('errors', () => {
    for (const [what, args, message] of [
      ['groups 0', {groups: 0}, /groups must be a positive integer .* but got 0/],
      ['groups 2.5', {groups: 2.5}, /groups must be a positive integer .* but got 2.5/],
      ['groups "2"', {groups: '2'}, /groups must be a positive integer .* but got "2"/],
      ['axis null', {axis: null}, /axis must be an integer, but got null/],
      ['axis 0', {axis: 0}, /axis 0 is the batch axis/],
    ] as Array<[string, object, RegExp]>) {
      it(`names the layer for ${what}`, () => {
        expect(() => new GroupNormalization({name: 'gn_bad', ...args})).toThrowError(
          new RegExp(`GroupNormalization layer 'gn_bad': ${message.source}`),
        );
      });
    }

    it('rejects an input whose channels the groups do not divide, when applied', () => {
      const layer = groupNormalization({groups: 3, name: 'gn_apply'});
      const x = tf.zeros([1, 2, 2, 4]);
      expect(() => layer.apply(x)).toThrowError(
        /GroupNormalization layer 'gn_apply': groups \(3\) must divide the number of channels, 4/,
      );
      x.dispose();
    });
  });
});
