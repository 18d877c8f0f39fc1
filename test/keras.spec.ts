/**
 * Keras models converted with tensorflowjs_converter, one per layer flavour
 * plus two realistic nets, loaded with tf.loadLayersModel over HTTP from the
 * fixtures that test/fixtures/make_keras_fixtures.mjs writes; each output is
 * compared with the float64 value of the flavour's own source formula.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  AddonsInstanceNormalization,
  GroupNormalization,
  InstanceNormalization,
  InstanceNorm,
  InstanceNormGrad,
  KerasContribGroupNormalization,
} from '../src/index';

import {
  convertedKerasModel,
  functionalKerasModel,
  kerasLayerConfig,
  missingKernels,
  saveToMemory,
} from './layer_util';
import {referenceNorm} from './reference';
import {
  describeEachBackend,
  expectClose,
  randomValues,
  tf,
  TestEnv,
  withoutKernelLeakCheck,
} from './setup';

const FIXTURES = '/base/test/fixtures/keras';

interface Expected {
  input: Array<{shape: number[]; dtype: 'float32' | 'int32'; values: number[]}>;
  output: {shape: number[]; values: number[]};
  outputFromStoredWeights: number[] | null;
  quantizationEffect: number[] | null;
  gradient?: {r: number[]; dx: number[]; dweights: Record<string, number[]>};
}

const expectations = new Map<string, Promise<Expected>>();

async function loadFixture(name: string): Promise<{model: tfl.LayersModel; expected: Expected}> {
  if (!expectations.has(name)) {
    expectations.set(
      name,
      fetch(`${FIXTURES}/${name}/expected.json`).then(r => r.json() as Promise<Expected>),
    );
  }
  const model = await tfl.loadLayersModel(`${FIXTURES}/${name}/model.json`);
  return {model, expected: await expectations.get(name)!};
}

function inputs(expected: Expected): tf.Tensor[] {
  return expected.input.map(i => tf.tensor(i.values, i.shape, i.dtype));
}

/** The one normalization layer of a single-layer fixture. */
function normLayer(model: tfl.LayersModel): tfl.layers.Layer {
  return model.layers[1];
}

/**
 * |actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|
 * + allowance[i]: the float32 tolerance of the environment plus, where
 * weights are quantized, what quantization changed in that element (from
 * the fixture, computed in float64).
 */
function expectWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  allowance: ArrayLike<number>,
  {atol, rtol}: {atol: number; rtol: number},
  what: string,
): number {
  expect(actual.length).withContext(`${what}: length`).toBe(expected.length);
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    const bound = atol * scale + rtol * Math.abs(expected[i]) + allowance[i];
    if (!(error <= bound)) {
      fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (bound ${bound})`);
      return Infinity;
    }
    worst = Math.max(worst, error - allowance[i]);
  }
  return worst;
}

interface FlavourCase {
  fixture: string;
  check: (layer: tfl.layers.Layer) => void;
}

const FLAVOURS: FlavourCase[] = [
  {
    fixture: 'keras_contrib_instance_norm',
    check: layer => {
      expect(layer).toBeInstanceOf(InstanceNormalization);
      expect((layer as InstanceNormalization).flavour).toBe('keras-contrib');
      expect((layer as InstanceNormalization).epsilonMode).toBe('stddev');
    },
  },
  {
    fixture: 'keras_contrib_instance_norm_axis_none',
    check: layer => {
      expect((layer as InstanceNormalization).axis).toBeNull();
      expect(layer.weights.map(w => w.shape)).toEqual([[1], [1]]);
    },
  },
  {
    fixture: 'keras_contrib_instance_norm_rank2',
    check: layer => expect((layer as InstanceNormalization).epsilonMode).toBe('stddev'),
  },
  {
    fixture: 'addons_instance_norm',
    check: layer => {
      expect(layer).toBeInstanceOf(AddonsInstanceNormalization);
      expect((layer as InstanceNormalization).epsilonMode).toBe('variance');
    },
  },
  {
    fixture: 'pix2pix_instance_norm',
    check: layer => {
      expect((layer as InstanceNormalization).flavour).toBe('pix2pix');
      expect((layer as InstanceNormalization).epsilon).toBe(1e-5);
      expect(layer.weights.map(w => w.originalName)).toEqual([
        'instance_normalization/scale',
        'instance_normalization/offset',
      ]);
    },
  },
  {
    fixture: 'keras_group_norm',
    check: layer => expect(layer.getClassName()).toBe(GroupNormalization.className),
  },
  {
    fixture: 'keras_group_norm_rank2',
    check: layer => expect((layer as GroupNormalization).groups).toBe(3),
  },
  {
    fixture: 'addons_group_norm',
    check: layer => expect(layer.getClassName()).toBe('Addons>GroupNormalization'),
  },
  {
    fixture: 'keras_contrib_group_norm',
    check: layer => expect(layer).toBeInstanceOf(KerasContribGroupNormalization),
  },
  {
    fixture: 'package_instance_norm',
    check: layer => {
      const norm = layer as InstanceNormalization;
      expect([norm.flavour, norm.activation, norm.alpha]).toEqual(['package', 'leakyRelu', 0.1]);
    },
  },
];

/** Kernel names that ran in fn (tf.profile). */
async function kernelsRun(fn: () => Promise<unknown>): Promise<string[]> {
  const info = await tf.profile(fn as () => Promise<tf.Tensor>);
  return info.kernelNames;
}

/** Fits one SGD step on (x, a target near the prediction), returning the kernels that ran. */
async function fineTune(model: tfl.LayersModel, x: tf.Tensor[]): Promise<string[]> {
  const prediction = model.predict(x) as tf.Tensor;
  const target = tf.tidy(() => tf.mul(prediction, 0.5));
  model.compile({optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError'});
  const names = await withoutKernelLeakCheck(() =>
    kernelsRun(() => model.fit(x, target, {epochs: 1, batchSize: x[0].shape[0], verbose: 0})),
  );
  tf.dispose([prediction, target]);
  return names;
}

/**
 * `backprop`: whether the gradient passes through a norm (a weight upstream of
 * it or fused into it); keras-contrib's GroupNormalization on a model input
 * applies its gamma/beta after the kernel, so nothing flows back into it.
 */
function roundTripSpec(fixture: string, env: TestEnv, backprop = true): void {
  it(`${fixture}: fine-tunes with fit through the fused gradient, saves and loads the same bits`, async () => {
    const {model, expected} = await loadFixture(fixture);
    const x = inputs(expected);
    const original = model.predict(x) as tf.Tensor;
    const before = await original.data();
    original.dispose();
    const convs = model.layers.some(l => l.getClassName() === 'Conv2D');
    const missing = convs ? missingKernels(['Conv2DBackpropFilter']) : [];
    if (missing.length > 0) {
      // tfjs' own conv gradient is absent on this backend: no fit, with any norm.
      // tfjs' fused conv2d gradient computes the filter gradient even for a
      // frozen conv, so no gradient can pass through these convs on wasm.
      await expectAsync(fineTune(model, x)).toBeRejectedWithError(/not registered/);
    }
    const names = missing.length > 0 ? null : await fineTune(model, x);
    if (names == null) {
      // Nothing to check about the gradient kernels.
    } else if (env.fused) {
      expect(names).toContain(InstanceNorm);
      if (backprop) {
        expect(names).toContain(InstanceNormGrad);
      }
    } else {
      expect(names).not.toContain(InstanceNorm);
      expect(names).not.toContain(InstanceNormGrad);
    }
    const artifacts = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const configs = (m: tfl.LayersModel) => m.layers.map(l => JSON.stringify(l.getConfig()));
    expect(configs(loaded)).toEqual(configs(model));
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(await b.data()).toEqual(await a.data());
    // Fine-tuning changed the predictions (where it ran).
    expect((await a.data()).some((v, i) => v !== before[i])).toBe(names != null);
    tf.dispose([a, b, ...x]);
    model.dispose();
    loaded.dispose();
  });
}

describeEachBackend('converted Keras models', env => {
  const tolerance = env.tolerance;

  describe('one layer per flavour', () => {
    for (const {fixture, check} of FLAVOURS) {
      it(`${fixture}: loads as its flavour and predicts its own formula`, async () => {
        const start = tf.memory().numTensors;
        const {model, expected} = await loadFixture(fixture);
        check(normLayer(model));
        const x = inputs(expected);
        const y = model.predict(x) as tf.Tensor;
        expect(y.shape).toEqual(expected.output.shape);
        expectClose(
          await y.data(),
          expected.output.values,
          tolerance.atol,
          tolerance.rtol,
          fixture,
          1,
        );
        tf.dispose([y, ...x]);
        model.dispose();
        expect(tf.memory().numTensors).toBe(start);
      });

      it(`${fixture}: gradients match central differences of its formula`, async () => {
        const {model, expected} = await loadFixture(fixture);
        const gradient = expected.gradient!;
        const [x] = inputs(expected);
        const r = tf.tensor(gradient.r, x.shape);
        const layer = normLayer(model);
        const variables = layer.trainableWeights.map(w => w.read() as tf.Variable);
        const loss = (input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, r));
        const {dx, dweights} = await withoutKernelLeakCheck(() => {
          const dx = tf.grad(loss)(x);
          const {grads} = tf.variableGrads(() => loss(x) as tf.Scalar, variables);
          return {dx, dweights: variables.map(v => grads[v.name])};
        });
        const what = `${fixture} d/dx`;
        expectClose(await dx.data(), gradient.dx, tolerance.atol, tolerance.rtol, what, 1);
        for (const [i, w] of layer.trainableWeights.entries()) {
          const short = w.originalName.split('/').pop()!;
          expectClose(
            await dweights[i].data(),
            gradient.dweights[short],
            tolerance.atol,
            tolerance.rtol,
            `${fixture} d/d${short}`,
            1,
          );
        }
        tf.dispose([x, r, dx, ...dweights]);
        model.dispose();
      });
    }
  });

  describe('realistic models', () => {
    it('U-Net (keras-contrib axis None, float16 weights) matches float64 within float16 rounding', async () => {
      const {model, expected} = await loadFixture('keras_contrib_unet_f16');
      const norms = model.layers.filter(l => l instanceof InstanceNormalization);
      expect(norms.length).toBe(3);
      norms.forEach(n => expect((n as InstanceNormalization).epsilonMode).toBe('stddev'));
      const x = inputs(expected);
      const y = (await (model.predict(x) as tf.Tensor).data()) as Float32Array;
      // Against the weights as stored: the environment's float32 tolerance only.
      const zero = new Array(y.length).fill(0);
      expectWithin(y, expected.outputFromStoredWeights!, zero, tolerance, 'from stored weights');
      // Against the original weights: plus what float16 rounding changed.
      expectWithin(y, expected.output.values, expected.quantizationEffect!, tolerance, 'original');
      tf.dispose(x);
      model.dispose();
    });

    it('ResNet generator (21 norms without weights, uint8 kernels) matches float64 within uint8 rounding', async () => {
      const {model, expected} = await loadFixture('keras_contrib_resnet_uint8');
      const norms = model.layers.filter(l => l instanceof InstanceNormalization);
      expect(norms.length).toBe(21);
      norms.forEach(n => expect(n.weights.length).toBe(0));
      const json = await (await fetch(`${FIXTURES}/keras_contrib_resnet_uint8/model.json`)).json();
      const manifest = json.weightsManifest[0].weights as Array<{name: string}>;
      const names = manifest.map(w => w.name);
      // The manifest lists weights by name, not in build order.
      expect(names).toEqual([...names].sort());
      expect(names).not.toEqual(model.weights.map(w => w.originalName));
      const x = inputs(expected);
      const y = (await (model.predict(x) as tf.Tensor).data()) as Float32Array;
      const zero = new Array(y.length).fill(0);
      expectWithin(y, expected.outputFromStoredWeights!, zero, tolerance, 'from stored weights');
      expectWithin(y, expected.output.values, expected.quantizationEffect!, tolerance, 'original');
      tf.dispose(x);
      model.dispose();
    });
  });

  describe('round trips keep the flavour', () => {
    for (const fixture of [
      'keras_contrib_instance_norm',
      'addons_instance_norm',
      'pix2pix_instance_norm',
      'keras_group_norm_rank2',
      'package_instance_norm',
      'keras_contrib_unet_f16',
      'keras_contrib_resnet_uint8',
    ]) {
      roundTripSpec(fixture, env);
    }
    roundTripSpec('keras_contrib_group_norm', env, false);
  });

  it("holds Keras' published GroupNormalization expectations for (1, 8) inputs", async () => {
    // keras' group_normalization_test.py, test_correctness_1d (atol 1e-3).
    const x = tf.tensor2d([[-1, -1, 1, 1, 2, 2, 0, -2]]);
    const one = tfl.sequential({
      layers: [
        new GroupNormalization({groups: 1, axis: -1, inputShape: [8], scale: false, center: false}),
      ],
    });
    const two = tfl.sequential({
      layers: [
        new GroupNormalization({groups: 2, axis: 1, inputShape: [8], scale: false, center: false}),
      ],
    });
    const [y1, y2] = [one.predict(x) as tf.Tensor, two.predict(x) as tf.Tensor];
    expectClose(await y1.data(), [-0.898, -0.898, 0.539, 0.539, 1.257, 1.257, -0.18, -1.616], 1e-3);
    expectClose(await y2.data(), [-1.0, -1.0, 1.0, 1.0, 0.904, 0.904, -0.301, -1.507], 1e-3);
    tf.dispose([x, y1, y2]);
    one.dispose();
    two.dispose();
  });
});

/** A one-layer model JSON as model.save writes it (tfjs-layers format). */
function savedByPackage(config: object, shape: number[]): object {
  return {
    class_name: 'Sequential',
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
    config: {
      name: 'sequential_1',
      layers: [
        {
          class_name: 'InstanceNormalization',
          config: {
            ...kerasLayerConfig('instance_normalization_Inst1', config),
            batch_input_shape: [null, ...shape.slice(1)],
          },
        },
      ],
    },
  };
}

describeEachBackend('Keras flavour decisions', env => {
  const {atol, rtol} = env.tolerance;
  const shape = [2, 3, 3, 2];
  // Channel 1 of instance 0 has std ~ epsilon: the two modes differ there by ~30%.
  const values = randomValues(36, 7, 2);
  for (let i = 1; i < 18; i += 2) values[i] = 0.25 + 1e-3 * values[i];
  const weights = [
    {name: 'instance_normalization_Inst1/gamma', values: [1.5, 0.5]},
    {name: 'instance_normalization_Inst1/beta', values: [0.1, -0.2]},
  ];

  async function predictSaved(config: object): Promise<tf.Tensor> {
    const model = await tfl.loadLayersModel(
      convertedKerasModel(savedByPackage(config, shape), weights),
    );
    const x = tf.tensor(values, shape);
    const y = model.predict(x) as tf.Tensor;
    x.dispose();
    model.dispose();
    return y;
  }

  const expected = (epsilonMode: 'variance' | 'stddev') =>
    referenceNorm(values, shape, [1.5, 0.5], [0.1, -0.2], {
      epsilon: 1e-3,
      format: 'channelsLast',
      epsilonMode,
    }).y;

  it('a layer built in JS saves epsilon_mode and activation, and loads with the same math', async () => {
    const layer = new InstanceNormalization({inputShape: shape.slice(1)});
    const model = tfl.sequential({layers: [layer]});
    const artifacts = await saveToMemory(model);
    const json = JSON.stringify(artifacts.modelTopology);
    expect(json).toContain('"epsilon_mode":"variance"');
    expect(json).toContain('"activation":"linear"');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect((loaded.layers[0] as InstanceNormalization).flavour).toBe('package');
    expect((loaded.layers[0] as InstanceNormalization).epsilonMode).toBe('variance');
    model.dispose();
    loaded.dispose();
  });

  it("a config of the previous release (keras-contrib's keys, no epsilon_mode) loads as keras-contrib", async () => {
    const y = await predictSaved({});
    expectClose(await y.data(), expected('stddev'), atol, rtol, 'stddev', 1);
    y.dispose();
  });

  it("epsilon_mode 'variance' added to such a config restores sqrt(variance + epsilon)", async () => {
    const y = await predictSaved({epsilon_mode: 'variance'});
    expectClose(await y.data(), expected('variance'), atol, rtol, 'variance', 1);
    // The two modes really differ on this data.
    const [a, b] = [expected('variance'), expected('stddev')];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeGreaterThan(0.1);
    y.dispose();
  });

  it('a config without activation loads linear; with one, applies it', async () => {
    const y = await predictSaved({epsilon_mode: 'variance', activation: 'relu'});
    const relu = expected('variance').map(v => Math.max(v, 0));
    expectClose(await y.data(), relu, atol, rtol, 'relu', 1);
    y.dispose();
  });

  const rejects: Array<[string, string, object, RegExp]> = [
    [
      'Addons>InstanceNormalization',
      'epsilon_mode stddev',
      {groups: -1, epsilon_mode: 'stddev'},
      /Addons>InstanceNormalization layer 'norm'.*epsilon_mode "stddev" contradicts/,
    ],
    [
      'Addons>InstanceNormalization',
      'axis null',
      {groups: -1, axis: null},
      /Addons>InstanceNormalization layer 'norm'.*axis null contradicts/,
    ],
    [
      'Addons>InstanceNormalization',
      'groups 2 of 4 channels',
      {groups: 2},
      /Addons>InstanceNormalization layer 'norm'.*groups must be -1 or the number of channels \(4/,
    ],
    [
      'InstanceNormalization',
      "keras-contrib keys with Addons' groups",
      {groups: -1},
      /InstanceNormalization layer 'norm'.*the key 'groups' is TensorFlow Addons'/,
    ],
    [
      'InstanceNormalization',
      'an unknown epsilon_mode',
      {epsilon_mode: 'std'},
      /InstanceNormalization layer 'norm': option 'epsilonMode' must be one of/,
    ],
    [
      'InstanceNormalization',
      'an unknown activation',
      {epsilon_mode: 'variance', activation: 'softmax'},
      /InstanceNormalization layer 'norm': option 'activation' must be one of/,
    ],
  ];
  for (const [className, what, config, error] of rejects) {
    it(`rejects ${className} with ${what}, naming the layer and the key`, async () => {
      const before = tf.memory().numTensors;
      const topology = functionalKerasModel(className, 'norm', config, [1, 3, 3, 4]);
      await expectAsync(
        tfl.loadLayersModel(convertedKerasModel(topology, [])),
      ).toBeRejectedWithError(error);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  for (const inputShape of [[6], [3, 2, 6]]) {
    it(`GroupNormalization fuses its activation and saves it (input ${JSON.stringify(inputShape)})`, async () => {
      const layer = new GroupNormalization({groups: 2, activation: 'swish', inputShape});
      const model = tfl.sequential({layers: [layer]});
      const [gamma, beta] = [
        [1.5, 0.5, -1, 2, 1, 0.25],
        [0, 0.1, -0.2, 0.3, 0, 1],
      ];
      const weights = [tf.tensor1d(gamma), tf.tensor1d(beta)];
      layer.setWeights(weights);
      const shape = [2, ...inputShape];
      const x = tf.tensor(
        randomValues(
          shape.reduce((a, b) => a * b),
          21,
          2,
        ),
        shape,
      );
      const y = model.predict(x) as tf.Tensor;
      const expectedY = referenceNorm(
        await x.data(),
        shape.length === 2 ? [2, 1, 6] : shape,
        gamma,
        beta,
        {
          epsilon: 1e-3,
          format: 'channelsLast',
          groups: 2,
          activation: 'swish',
        },
      ).y;
      expectClose(await y.data(), expectedY, atol, rtol, 'swish', 1);
      const artifacts = await saveToMemory(model);
      expect(JSON.stringify(artifacts.modelTopology)).toContain('"activation":"swish"');
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
      const again = loaded.predict(x) as tf.Tensor;
      expect(await again.data()).toEqual(await y.data());
      tf.dispose([x, y, again, ...weights]);
      model.dispose();
      loaded.dispose();
    });
  }

  it('rejects the pix2pix layer on inputs other than [N, H, W, C]', async () => {
    const topology = functionalKerasModel('InstanceNormalization', 'norm', {}, [1, 9, 4]);
    // kerasLayerConfig adds Keras' keys: keep the base keys only.
    const layer = (topology as {model_config: {config: {layers: Array<{config: object}>}}})
      .model_config.config.layers[1];
    layer.config = {name: 'norm', trainable: true, dtype: 'float32'};
    await expectAsync(tfl.loadLayersModel(convertedKerasModel(topology, []))).toBeRejectedWithError(
      /InstanceNormalization layer 'norm': the TensorFlow pix2pix layer.*\[null,9,4\]/,
    );
  });
});
