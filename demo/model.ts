/**
 * The network the demo trains, in two versions that differ only in the norm:
 * the package's fused kernels, or instance norm written with `tf.moments`
 * (what users write by hand). Both start from the same weights and see the
 * same batches, so their loss curves should lie on top of each other and
 * only the time per step differs.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {instanceNormalization, instanceNormComposite} from '../src/index';
import {IMAGE_SIZE} from './data';

export type NormKind = 'fused' | 'composite';

/** Keras' default for InstanceNormalization. */
const EPSILON = 1e-3;
const FILTERS = 16;
const LEARNING_RATE = 0.01;

/**
 * The composite version of the package's InstanceNormalization layer: the
 * same gamma and beta (created in the same order), normalized with
 * `tf.moments` and autograd through built-in ops.
 */
class CompositeInstanceNormalization extends tfl.layers.Layer {
  static className = 'DemoCompositeInstanceNormalization';
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;

  constructor(name: string) {
    super({name});
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1] as number;
    this.gamma = this.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return instanceNormComposite(x, this.gamma.read(), this.beta.read(), EPSILON);
  }
}

function normLayer(kind: NormKind, name: string): tfl.layers.Layer {
  return kind === 'fused'
    ? instanceNormalization({axis: -1, epsilon: EPSILON, name})
    : new CompositeInstanceNormalization(name);
}

/** conv 3x3 → norm → relu → conv 3x3 → norm → relu → conv 3x3 → sigmoid (3 channels). */
export function buildModel(kind: NormKind): tfl.LayersModel {
  const conv = (filters: number, seed: number, activation?: 'sigmoid') =>
    tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: 'same',
      activation,
      kernelInitializer: tfl.initializers.glorotUniform({seed}),
    });
  return tfl.sequential({
    name: `painter_${kind}`,
    layers: [
      tfl.layers.inputLayer({inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1]}),
      conv(FILTERS, 1),
      normLayer(kind, 'norm_1'),
      tfl.layers.reLU(),
      conv(FILTERS, 2),
      normLayer(kind, 'norm_2'),
      tfl.layers.reLU(),
      conv(3, 3, 'sigmoid'),
    ],
  });
}

/** One model with its own optimizer, its loss history and its step times. */
export class TrainingRun {
  readonly losses: number[] = [];
  readonly stepMs: number[] = [];
  private readonly optimizer = tf.train.adam(LEARNING_RATE);
  private readonly variables: tf.Variable[];

  constructor(
    readonly kind: NormKind,
    readonly model: tfl.LayersModel,
  ) {
    this.variables = model.trainableWeights.map(w => w.read() as tf.Variable);
  }

  /**
   * One Adam step on a batch. The time covers the forward pass, the gradient,
   * the update and reading the loss back (which waits for the GPU to finish).
   */
  async step(input: tf.Tensor4D, target: tf.Tensor4D): Promise<number> {
    const start = performance.now();
    const loss = this.optimizer.minimize(
      () => tf.losses.meanSquaredError(target, this.model.apply(input) as tf.Tensor4D) as tf.Scalar,
      true,
      this.variables,
    );
    const value = (await loss!.data())[0];
    loss!.dispose();
    this.stepMs.push(performance.now() - start);
    this.losses.push(value);
    return value;
  }

  predict(input: tf.Tensor4D): tf.Tensor4D {
    return this.model.predict(input) as tf.Tensor4D;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/** The two runs of one backend, with identical initial weights. */
export function makeRuns(): Record<NormKind, TrainingRun> {
  const fused = buildModel('fused');
  const composite = buildModel('composite');
  const from = fused.getWeights();
  const to = composite.getWeights();
  if (
    from.length !== to.length ||
    from.some((w, i) => !tf.util.arraysEqual(w.shape, to[i].shape))
  ) {
    throw new Error('the fused and composite models do not have the same weights');
  }
  composite.setWeights(from);
  return {
    fused: new TrainingRun('fused', fused),
    composite: new TrainingRun('composite', composite),
  };
}
