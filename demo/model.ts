/**
 * The networks the demo trains. The painter, in two versions that differ only
 * in the norm: the package's fused kernels, or instance norm written with
 * `tf.moments` (what users write by hand). Both start from the same weights
 * and see the same batches, so their loss curves should lie on top of each
 * other and only the time per step differs. And the conditional painter: one
 * network whose norms are ConditionalInstanceNormalization layers with a row
 * of gamma/beta per palette, so the style id picks the palette it paints in.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {conditionalInstanceNormalization, instanceNormalization} from '../src/index';
import {CompositeNorm} from '../support/index';
import {IMAGE_SIZE} from './data';

export type NormKind = 'fused' | 'composite' | 'conditional';

/** Keras' default for InstanceNormalization. */
const EPSILON = 1e-3;
const FILTERS = 16;
const LEARNING_RATE = 0.01;

const conv = (filters: number, seed: number, activation?: 'sigmoid') =>
  tfl.layers.conv2d({
    filters,
    kernelSize: 3,
    padding: 'same',
    activation,
    kernelInitializer: tfl.initializers.glorotUniform({seed}),
  });

function normLayer(kind: 'fused' | 'composite', name: string): tfl.layers.Layer {
  return kind === 'fused'
    ? instanceNormalization({axis: -1, epsilon: EPSILON, name})
    : new CompositeNorm({epsilon: EPSILON, name});
}

/** conv 3x3 → norm → relu → conv 3x3 → norm → relu → conv 3x3 → sigmoid (3 channels). */
export function buildModel(kind: 'fused' | 'composite'): tfl.LayersModel {
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

/** What a training run steps: a forward pass and the weights it trains. */
interface Net {
  /** The painted images for grayscale `input`; `styleIds` int32 [N] where the net takes them. */
  apply(input: tf.Tensor4D, styleIds: tf.Tensor1D | null): tf.Tensor4D;
  readonly variables: tf.Variable[];
  dispose(): void;
}

/** A sequential painter as a Net (it takes no style). */
function sequentialNet(model: tfl.LayersModel): Net {
  return {
    apply: input => model.apply(input) as tf.Tensor4D,
    variables: model.trainableWeights.map(w => w.read() as tf.Variable),
    dispose: () => model.dispose(),
  };
}

/**
 * The conditional painter: the painter's convolutions, each norm + ReLU pair
 * one ConditionalInstanceNormalization layer with a fused ReLU and
 * [styles, C] gamma/beta tables, applied to [features, styleIds].
 */
class ConditionalPainter implements Net {
  private readonly convs = [conv(FILTERS, 1), conv(FILTERS, 2), conv(3, 3, 'sigmoid')];
  private readonly norms: tfl.layers.Layer[];
  readonly variables: tf.Variable[];

  constructor(readonly styles: number) {
    this.norms = [1, 2].map(i =>
      conditionalInstanceNormalization({
        numStyles: styles,
        epsilon: EPSILON,
        activation: 'relu',
        name: `conditional_norm_${i}`,
      }),
    );
    // One call on a blank image builds every layer's weights.
    tf.tidy(() => {
      this.apply(tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 1]), tf.zeros([1], 'int32'));
    });
    this.variables = [...this.convs, ...this.norms].flatMap(l =>
      l.trainableWeights.map(w => w.read() as tf.Variable),
    );
  }

  apply(input: tf.Tensor4D, styleIds: tf.Tensor1D | null): tf.Tensor4D {
    if (!styleIds) throw new Error('the conditional painter needs style ids');
    const [first, second, last] = this.convs;
    let t = first.apply(input) as tf.Tensor;
    t = this.norms[0].apply([t, styleIds]) as tf.Tensor;
    t = second.apply(t) as tf.Tensor;
    t = this.norms[1].apply([t, styleIds]) as tf.Tensor;
    return last.apply(t) as tf.Tensor4D;
  }

  dispose(): void {
    for (const layer of [...this.convs, ...this.norms]) {
      for (const w of layer.weights) w.dispose();
    }
  }
}

/** One network with its own optimizer, its loss history and its step times. */
export class TrainingRun {
  readonly losses: number[] = [];
  readonly stepMs: number[] = [];
  private readonly optimizer = tf.train.adam(LEARNING_RATE);

  constructor(
    readonly kind: NormKind,
    private readonly net: Net,
  ) {}

  /**
   * One Adam step on a batch. The time covers the forward pass, the gradient,
   * the update and reading the loss back (which waits for the GPU to finish).
   */
  async step(
    input: tf.Tensor4D,
    target: tf.Tensor4D,
    styleIds: tf.Tensor1D | null = null,
  ): Promise<number> {
    const start = performance.now();
    const loss = this.optimizer.minimize(
      () => tf.losses.meanSquaredError(target, this.net.apply(input, styleIds)) as tf.Scalar,
      true,
      this.net.variables,
    );
    const value = (await loss!.data())[0];
    loss!.dispose();
    this.stepMs.push(performance.now() - start);
    this.losses.push(value);
    return value;
  }

  predict(input: tf.Tensor4D, styleIds: tf.Tensor1D | null = null): tf.Tensor4D {
    return tf.tidy(() => this.net.apply(input, styleIds));
  }

  dispose(): void {
    this.optimizer.dispose();
    this.net.dispose();
  }
}

export type PainterKind = 'fused' | 'composite';

/** The fused and composite painters of one backend, with identical initial weights. */
export function makeRuns(): Record<PainterKind, TrainingRun> {
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
    fused: new TrainingRun('fused', sequentialNet(fused)),
    composite: new TrainingRun('composite', sequentialNet(composite)),
  };
}

/** The conditional painter's run: `styles` rows in its gamma/beta tables. */
export function makeConditionalRun(styles: number): TrainingRun {
  return new TrainingRun('conditional', new ConditionalPainter(styles));
}
