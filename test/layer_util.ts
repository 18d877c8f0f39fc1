/**
 * What the layer specs share: a small conv net around a normalization layer,
 * fitting, saving to memory and model JSON as tensorflowjs_converter writes
 * it for a Keras model. The composite reference layer is in support/.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  backendDataIds,
  expectClose,
  DataFormat,
  randomValues,
  tf,
  withoutKernelLeakCheck,
} from './setup';

/** Epsilon of the layers in the layer specs (Keras' default). */
export const EPSILON = 1e-3;

/**
 * Whether the active backend can train a conv2d's filter: tfjs-backend-wasm
 * has no Conv2DBackpropFilter (nor DepthwiseConv2dNativeBackpropFilter).
 */
export function convFiltersTrain(): boolean {
  return missingKernels(['Conv2DBackpropFilter']).length === 0;
}

/**
 * conv -> norm -> relu -> dense, on [N, 6, 6, 2] or [N, 2, 6, 6] images. The
 * conv's filter trains where tfjs has its gradient and is frozen elsewhere
 * (wasm): the norm's gamma and beta and the dense layer train on every
 * backend.
 */
export function convNet(format: DataFormat, norm: tfl.layers.Layer): tfl.Sequential {
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({
      trainable: convFiltersTrain(),
      inputShape: format === 'channelsLast' ? [6, 6, 2] : [2, 6, 6],
      // No conv bias: a per-channel constant is what instance norm removes, so
      // its gradient is rounding noise that Adam would amplify.
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      dataFormat: format,
      useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({seed: 1}),
    }),
  );
  model.add(norm);
  model.add(tfl.layers.activation({activation: 'relu'}));
  model.add(tfl.layers.flatten());
  model.add(
    tfl.layers.dense({units: 2, kernelInitializer: tfl.initializers.glorotUniform({seed: 2})}),
  );
  return model;
}

export function images(format: DataFormat, seed: number): tf.Tensor4D {
  const shape: [number, number, number, number] =
    format === 'channelsLast' ? [4, 6, 6, 2] : [4, 2, 6, 6];
  return tf.tensor4d(randomValues(4 * 6 * 6 * 2, seed, 2, 0.5), shape);
}

/** Fits with one batch per epoch: history.loss[e] is the loss of step e. */
export async function fitSteps(
  model: tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  epochs: number,
  onEpochEnd?: () => void,
): Promise<number[]> {
  const history = await withoutKernelLeakCheck(() =>
    model.fit(x, y, {
      epochs,
      batchSize: x.shape[0],
      shuffle: false,
      verbose: 0,
      callbacks: onEpochEnd ? {onEpochEnd: async () => onEpochEnd()} : undefined,
    }),
  );
  return history.history['loss'] as number[];
}

/** Sets 1-D weights from arrays without leaving the source tensors behind. */
export function setWeights(layer: tfl.layers.Layer, values: number[][]): void {
  const tensors = values.map(v => tf.tensor1d(v));
  layer.setWeights(tensors);
  tf.dispose(tensors);
}

export async function weightValues(model: tfl.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async w => (await w.data()) as Float32Array));
}

/** Saves to memory, as tf.io.withSaveHandler hands them over. */
export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async artifacts => {
      saved = artifacts;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    }),
  );
  return saved!;
}

export async function expectSameModel(
  a: tfl.LayersModel,
  b: tfl.LayersModel,
  x: tf.Tensor,
): Promise<void> {
  const [wa, wb] = [await weightValues(a), await weightValues(b)];
  expect(b.weights.map(w => w.originalName)).toEqual(a.weights.map(w => w.originalName));
  expect(wb).toEqual(wa);
  const [pa, pb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
  expect(await pb.data()).toEqual(await pa.data());
  tf.dispose([pa, pb]);
}

/**
 * A model JSON as tensorflowjs_converter writes it for a Keras model: the
 * Keras topology (class_name / config, snake_case keys) and the weights
 * manifest, here in memory.
 */
export function convertedKerasModel(
  topology: object,
  weights: Array<{name: string; values: number[]}>,
): tf.io.IOHandler {
  const weightSpecs = weights.map(w => ({
    name: w.name,
    shape: [w.values.length],
    dtype: 'float32' as const,
  }));
  const weightData = new Float32Array(weights.flatMap(w => w.values)).buffer;
  return tf.io.fromMemory({modelTopology: topology, weightSpecs, weightData});
}

/**
 * A tf.keras 2.x functional model JSON, as tensorflowjs_converter writes it,
 * around one normalization layer of class `className` named `name`, with the
 * Keras defaults of its config overridden by `config` (snake_case).
 */
export function functionalKerasModel(
  className: string,
  name: string,
  config: object,
  batchInputShape: number[],
): object {
  return {
    // tensorflowjs_converter keeps the full Keras save format: the topology
    // sits in model_config.
    keras_version: '2.8.0',
    backend: 'tensorflow',
    model_config: {
      class_name: 'Functional',
      config: {
        name: 'model',
        layers: [
          {
            class_name: 'InputLayer',
            name: 'input_1',
            inbound_nodes: [],
            config: {
              batch_input_shape: [null, ...batchInputShape.slice(1)],
              dtype: 'float32',
              sparse: false,
              ragged: false,
              name: 'input_1',
            },
          },
          {
            class_name: className,
            name,
            inbound_nodes: [[['input_1', 0, 0, {}]]],
            config: kerasLayerConfig(name, config),
          },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [[name, 0, 0]],
      },
    },
  };
}

/**
 * Fits convNet(format, layer) and convNet(format, reference) from the same
 * weights with Adam for 12 steps: the losses and trained weights agree, the
 * loss falls, and every epoch ends with the same tensors and backend data
 * (none leaked).
 */
export async function expectFitsLikeReference(
  format: DataFormat,
  layer: tfl.layers.Layer,
  referenceLayer: tfl.layers.Layer,
  {atol, rtol}: {atol: number; rtol: number},
): Promise<void> {
  const start = tf.memory().numTensors;
  const startData = backendDataIds();
  const model = convNet(format, layer);
  const reference = convNet(format, referenceLayer);
  reference.setWeights(model.getWeights());
  const x = images(format, 40);
  const y = tf.tensor2d(randomValues(8, 41), [4, 2]);
  const optimizers = [tf.train.adam(0.01), tf.train.adam(0.01)];
  model.compile({optimizer: optimizers[0], loss: 'meanSquaredError'});
  reference.compile({optimizer: optimizers[1], loss: 'meanSquaredError'});

  const counts: number[] = [];
  const epochs = 12;
  const losses = await fitSteps(model, x, y, epochs, () =>
    counts.push(tf.memory().numTensors, backendDataIds()),
  );
  // Adam creates its slots in the first step; every epoch ends with the
  // same tensors and backend data.
  expect(counts.length).toBe(2 * epochs);
  for (let e = 1; e < epochs; e++) {
    expect(counts.slice(2 * e, 2 * e + 2))
      .withContext(`epoch ${e} [tensors, data]`)
      .toEqual(counts.slice(0, 2));
  }

  const referenceLosses = await fitSteps(reference, x, y, epochs);
  expectClose(losses, referenceLosses, atol, rtol, 'loss per step');
  expect(losses[epochs - 1]).toBeLessThan(0.5 * losses[0]);
  // The trained weights agree too (gamma and beta included).
  const [trained, trainedReference] = [await weightValues(model), await weightValues(reference)];
  trained.forEach((w, i) => expectClose(w, trainedReference[i], atol, rtol, `weight ${i}`));
  tf.dispose([x, y]);
  model.dispose();
  reference.dispose();
  optimizers.forEach(o => o.dispose());
  expect(tf.memory().numTensors).toBe(start);
  expect(backendDataIds()).toBe(startData);
}

/**
 * Fits convNet('channelsFirst', layer) two steps, saves it to memory and loads
 * it with tf.loadLayersModel: the model JSON holds `className`, and the loaded
 * model has the same class, config, weights and predictions.
 */
export async function expectRoundTrip(className: string, layer: tfl.layers.Layer): Promise<void> {
  const model = convNet('channelsFirst', layer);
  model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
  const x = images('channelsFirst', 80);
  const y = tf.tensor2d(randomValues(8, 81), [4, 2]);
  await fitSteps(model, x, y, 2);
  const artifacts = await saveToMemory(model);
  const topology = JSON.stringify(artifacts.modelTopology);
  expect(topology).toContain(`"class_name":"${className}"`);
  const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
  expect(loaded.layers[1].getClassName()).toBe(className);
  expect(loaded.layers[1].getConfig()).toEqual(model.layers[1].getConfig());
  await expectSameModel(model, loaded, x);
  tf.dispose([x, y]);
  model.dispose();
  loaded.dispose();
}

/** Keras' defaults of the normalization layers' config: weights gamma and beta, no extras. */
const KERAS_LAYER_DEFAULTS = {trainable: true, dtype: 'float32', axis: -1, epsilon: EPSILON};
const NO_REGULARIZERS_OR_CONSTRAINTS = Object.fromEntries(
  ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'].map(key => [
    key,
    null,
  ]),
);

/**
 * A normalization layer's config as Keras writes it (snake_case): Keras'
 * defaults, then `overrides`.
 */
export function kerasLayerConfig(name: string, overrides: object): object {
  const [zeros, ones] = ['Zeros', 'Ones'].map(className => ({class_name: className, config: {}}));
  return {
    name,
    ...KERAS_LAYER_DEFAULTS,
    center: true,
    scale: true,
    beta_initializer: zeros,
    gamma_initializer: ones,
    ...NO_REGULARIZERS_OR_CONSTRAINTS,
    ...overrides,
  };
}

/**
 * Those of tfjs' own kernels `names` that the active backend lacks:
 * tfjs-backend-wasm has no Conv2DBackpropFilter or UnsortedSegmentSum, so a
 * net whose training step needs them cannot be fitted there with any norm.
 */
export function missingKernels(names: string[]): string[] {
  return names.filter(name => tf.getKernel(name, tf.getBackend()) == null);
}
