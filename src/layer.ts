import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {groupNorm, instanceNorm} from './instance_norm';
import {
  Constraint,
  Initializer,
  KerasObjectIdentifier,
  Regularizer,
  resolveKerasObject,
  serializeKerasObject,
} from './keras_objects';
import type {DataFormat} from './kernel_names';

/**
 * Configuration of the InstanceNormalization layer: Keras' (keras-contrib's
 * and TensorFlow Addons') arguments, camelCase; model JSON holds them
 * snake_case.
 */
export interface InstanceNormalizationLayerArgs extends LayerArgs {
  /**
   * The channel axis, which keeps its own statistics and gamma/beta: -1
   * (default, channels last), 1 (channels first) or any other non-batch axis.
   * `null` normalizes each instance over all its features, with a gamma and a
   * beta of shape [1] (keras-contrib's `axis=None`).
   */
  axis?: number | null;
  /** Added to the variance; default 1e-3, as in Keras. */
  epsilon?: number;
  /** Whether to add beta; default true. */
  center?: boolean;
  /** Whether to multiply by gamma; default true. */
  scale?: boolean;
  betaInitializer?: KerasObjectIdentifier<Initializer>;
  gammaInitializer?: KerasObjectIdentifier<Initializer>;
  betaRegularizer?: KerasObjectIdentifier<Regularizer> | null;
  gammaRegularizer?: KerasObjectIdentifier<Regularizer> | null;
  betaConstraint?: KerasObjectIdentifier<Constraint> | null;
  gammaConstraint?: KerasObjectIdentifier<Constraint> | null;
  /**
   * TensorFlow Addons stores `groups: -1` (one group per channel, which is
   * instance norm); any other value is group norm, the GroupNormalization
   * layer's, and is rejected.
   */
  groups?: number | null;
}

const OWN_KEYS: ReadonlySet<string> = new Set([
  'axis',
  'epsilon',
  'center',
  'scale',
  'betaInitializer',
  'gammaInitializer',
  'betaRegularizer',
  'gammaRegularizer',
  'betaConstraint',
  'gammaConstraint',
  'groups',
]);
/**
 * Base-layer keys (tfjs' LayerArgs), and `customObjects`, which tfjs-layers'
 * deserializer adds to every config it passes to fromConfig.
 */
const BASE_KEYS: ReadonlySet<string> = new Set([
  'inputShape',
  'batchInputShape',
  'batchSize',
  'dtype',
  'name',
  'trainable',
  'weights',
  'inputDType',
  'customObjects',
]);

/**
 * What InstanceNormalization and GroupNormalization share: the Keras config
 * (axis, epsilon, center, scale, initializers, regularizers, constraints),
 * the weights, the channel axis and the call, which runs the fused op with
 * the layer's groups. Subclasses fix `groups`: -1 (one group per channel) for
 * instance norm, a divisor of the channel count for group norm.
 */
export abstract class ChannelGroupNormalization extends tfl.layers.Layer {
  readonly axis: number | null;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly betaInitializer: Initializer;
  private readonly gammaInitializer: Initializer;
  private readonly betaRegularizer: Regularizer | null;
  private readonly gammaRegularizer: Regularizer | null;
  private readonly betaConstraint: Constraint | null;
  private readonly gammaConstraint: Constraint | null;
  /** Channels per group: -1 is one group per channel (instance norm). */
  readonly groups: number;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  /** @param groups the layer's groups, checked by the subclass. */
  protected constructor(args: InstanceNormalizationLayerArgs, groups: number) {
    super(args);
    this.groups = groups;
    const owner = this.describe();
    for (const key of Object.keys(args)) {
      if (!OWN_KEYS.has(key) && !BASE_KEYS.has(key)) {
        throw new Error(
          `${owner}: unknown config key '${key}'. Known keys: ${[...OWN_KEYS].join(
            ', ',
          )} and the base layer's (${[...BASE_KEYS]
            .filter(k => k !== 'customObjects')
            .join(', ')}).`,
        );
      }
    }
    const axis = args.axis === undefined ? -1 : args.axis;
    if (axis !== null && !Number.isInteger(axis)) {
      throw new Error(
        `${owner}: axis must be an integer or null, but got ${JSON.stringify(axis)}.`,
      );
    }
    if (axis === 0) {
      throw new Error(
        `${owner}: axis 0 is the batch axis; instance normalization needs a ` +
          `channel axis (-1, 1, ...) or null.`,
      );
    }
    this.axis = axis;
    this.epsilon = args.epsilon == null ? 1e-3 : args.epsilon;
    if (typeof this.epsilon !== 'number' || !Number.isFinite(this.epsilon) || this.epsilon <= 0) {
      throw new Error(
        `${owner}: epsilon must be a positive finite number, but got ${JSON.stringify(
          args.epsilon,
        )}.`,
      );
    }
    this.center = checkBoolean(args.center, true, owner, 'center');
    this.scale = checkBoolean(args.scale, true, owner, 'scale');
    this.betaInitializer = resolveKerasObject<Initializer>(
      'initializer',
      args.betaInitializer ?? 'zeros',
      `${owner}: betaInitializer`,
    )!;
    this.gammaInitializer = resolveKerasObject<Initializer>(
      'initializer',
      args.gammaInitializer ?? 'ones',
      `${owner}: gammaInitializer`,
    )!;
    this.betaRegularizer = resolveKerasObject(
      'regularizer',
      args.betaRegularizer,
      `${owner}: betaRegularizer`,
    );
    this.gammaRegularizer = resolveKerasObject(
      'regularizer',
      args.gammaRegularizer,
      `${owner}: gammaRegularizer`,
    );
    this.betaConstraint = resolveKerasObject(
      'constraint',
      args.betaConstraint,
      `${owner}: betaConstraint`,
    );
    this.gammaConstraint = resolveKerasObject(
      'constraint',
      args.gammaConstraint,
      `${owner}: gammaConstraint`,
    );
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = singleShape(inputShape, this.describe());
    const rank = shape.length;
    let paramShape: number[];
    let axes: {[axis: number]: number} | undefined;
    if (this.axis === null) {
      if (rank < 2) {
        throw new Error(
          `${this.describe()}: expects inputs of rank >= 2 ([batch, ...features]), ` +
            `but got shape ${JSON.stringify(shape)}.`,
        );
      }
      paramShape = [1];
    } else {
      const axis = this.channelAxis(rank);
      const channels = shape[axis];
      if (channels == null) {
        throw new Error(
          `${this.describe()}: axis ${this.axis} of the input must have a defined ` +
            `size, but the input shape is ${JSON.stringify(shape)}.`,
        );
      }
      if (this.groups !== -1 && channels % this.groups !== 0) {
        throw new Error(
          `${this.describe()}: groups (${this.groups}) must divide the number of ` +
            `channels, ${channels} on axis ${this.axis}.`,
        );
      }
      paramShape = [channels];
      axes = {[axis]: channels};
    }
    this.inputSpec = [new tfl.InputSpec({ndim: rank, axes})];
    // Keras creates gamma before beta: the order of getWeights().
    if (this.scale) {
      this.gamma = this.addWeight(
        'gamma',
        paramShape,
        'float32',
        this.gammaInitializer,
        this.gammaRegularizer ?? undefined,
        true,
        this.gammaConstraint ?? undefined,
      );
      projectAfterEveryAssign(this.gamma, this.gammaConstraint);
    }
    if (this.center) {
      this.beta = this.addWeight(
        'beta',
        paramShape,
        'float32',
        this.betaInitializer,
        this.betaRegularizer ?? undefined,
        true,
        this.betaConstraint ?? undefined,
      );
      projectAfterEveryAssign(this.beta, this.betaConstraint);
    }
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const input = Array.isArray(inputs) ? singleTensor(inputs, this.describe()) : inputs;
      const x = input.dtype === 'float32' ? input : tf.cast(input, 'float32');
      const gamma = this.gamma?.read() ?? null;
      const beta = this.beta?.read() ?? null;
      const shape = x.shape;
      const rank = shape.length;
      if (this.axis === null) {
        // One scalar gamma/beta per layer, statistics over all features of an
        // instance: a [N, features, 1] view with a single channel.
        const view = tf.reshape(x, [shape[0], product(shape.slice(1)), 1]);
        return tf.reshape(normalize(view, -1, gamma, beta, this.epsilon, 'channelsLast'), shape);
      }
      const axis = this.channelAxis(rank);
      if (axis === rank - 1 || axis === 1) {
        return normalize(
          x,
          this.groups,
          gamma,
          beta,
          this.epsilon,
          axis === rank - 1 ? 'channelsLast' : 'channelsFirst',
        );
      }
      // A channel axis in the middle: move it last, normalize, move it back.
      const toLast = [...Array.from({length: rank}, (_, i) => i).filter(i => i !== axis), axis];
      const back = toLast.map((_, i) => toLast.indexOf(i));
      const y = normalize(
        tf.transpose(x, toLast),
        this.groups,
        gamma,
        beta,
        this.epsilon,
        'channelsLast',
      );
      return tf.transpose(y, back);
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return singleShape(inputShape, this.describe());
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: serializeKerasObject(this.betaInitializer),
      gammaInitializer: serializeKerasObject(this.gammaInitializer),
      betaRegularizer: serializeKerasObject(this.betaRegularizer),
      gammaRegularizer: serializeKerasObject(this.gammaRegularizer),
      betaConstraint: serializeKerasObject(this.betaConstraint),
      gammaConstraint: serializeKerasObject(this.gammaConstraint),
    };
    return {...super.getConfig(), ...config};
  }

  /** The channel axis as a non-negative index, checked against the rank. */
  private channelAxis(rank: number): number {
    const axis = this.axis as number;
    const resolved = axis < 0 ? axis + rank : axis;
    if (rank < 3) {
      throw new Error(
        `${this.describe()}: with axis ${axis} the input needs rank >= 3 ` +
          `([batch, ...spatial, channels] or [batch, channels, ...spatial]), but ` +
          `got rank ${rank}; use axis null to normalize [batch, features] inputs.`,
      );
    }
    if (resolved <= 0 || resolved >= rank) {
      throw new Error(
        `${this.describe()}: axis ${axis} is out of range for inputs of rank ${rank} ` +
          `(valid: 1 ... ${rank - 1} or -1 ... -${rank - 1}).`,
      );
    }
    return resolved;
  }

  protected describe(): string {
    return `${this.getClassName()} layer '${this.name}'`;
  }
}
/**
 * Instance normalization as a tf.layers layer: each instance and channel is
 * normalized with its own mean and variance over the other non-batch axes,
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`, in training and
 * in inference alike (there are no moving statistics). Runs the fused
 * instanceNorm op, so its gradient is the fused kernel too.
 *
 * Loads Keras models converted with tensorflowjs_converter: class name
 * `InstanceNormalization` (keras-contrib) resolves to this class and
 * `Addons>InstanceNormalization` (TensorFlow Addons) to
 * AddonsInstanceNormalization; weights are named `gamma` and `beta`.
 */
export class InstanceNormalization extends ChannelGroupNormalization {
  /** @nocollapse */
  static className = 'InstanceNormalization';

  constructor(args: InstanceNormalizationLayerArgs = {}) {
    super(args, -1);
    if (args.groups != null && args.groups !== -1) {
      throw new Error(
        `${this.describe()}: groups must be -1 (one group per channel: instance ` +
          `normalization), but got ${JSON.stringify(args.groups)}; for group ` +
          `normalization use GroupNormalization.`,
      );
    }
  }
}
tf.serialization.registerClass(InstanceNormalization);

let addonsLayerCount = 0;

/**
 * A default name for an Addons class: the one tfjs derives from the class
 * name would contain '>', which is not a valid weight-name scope.
 */
export function withAddonsName<T extends {name?: string}>(
  args: T,
  prefix: string,
  count: number,
): T {
  return {...args, name: args.name ?? `${prefix}_${count}`};
}

/**
 * The class TensorFlow Addons' `tfa.layers.InstanceNormalization` converts
 * to: tfjs-layers looks classes up by their static className, so
 * `"class_name": "Addons>InstanceNormalization"` needs a class of that name.
 * Same layer; its config also holds `groups: -1`, as Addons writes it.
 */
export class AddonsInstanceNormalization extends InstanceNormalization {
  /** @nocollapse */
  static override className = 'Addons>InstanceNormalization';

  constructor(args: InstanceNormalizationLayerArgs = {}) {
    super(withAddonsName(args, 'addons_instance_normalization', ++addonsLayerCount));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), groups: -1};
  }
}
tf.serialization.registerClass(AddonsInstanceNormalization);

/**
 * Creates an InstanceNormalization layer (the tf.layers factory style):
 * `model.add(instanceNormalization({axis: -1}))`.
 */
export function instanceNormalization(
  args?: InstanceNormalizationLayerArgs,
): InstanceNormalization {
  return new InstanceNormalization(args);
}

/** instanceNorm (groups -1) or groupNorm on x of any rank >= 3. */
function normalize(
  x: Tensor,
  groups: number,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  dataFormat: DataFormat,
): Tensor {
  const run = (input: Tensor) =>
    groups === -1
      ? instanceNorm(input, gamma, beta, epsilon, dataFormat)
      : groupNorm(input, groups, gamma, beta, epsilon, dataFormat);
  if (x.rank <= 5) {
    return run(x);
  }
  // The op takes rank 3 to 5; higher ranks are seen as [N, S, C] / [N, C, S].
  const shape = x.shape as number[];
  const view: [number, number, number] =
    dataFormat === 'channelsLast'
      ? [shape[0], product(shape.slice(1, -1)), shape[shape.length - 1]]
      : [shape[0], shape[1], product(shape.slice(2))];
  return tf.reshape(run(tf.reshape(x, view)), shape);
}

/**
 * tfjs-layers' fit updates weights through the optimizer, which assigns the
 * tf.Variable directly and never applies the constraint given to addWeight
 * (tensorflow/tfjs#3979, #3345); Keras projects the weight after every
 * update. Wrapping `assign` of this layer's own variable gives the Keras
 * behaviour with every optimizer, and with setWeights / loadWeights too.
 */
function projectAfterEveryAssign(weight: tfl.LayerVariable, constraint: Constraint | null): void {
  if (constraint == null) {
    return;
  }
  const variable = weight.read() as tf.Variable;
  const assign = variable.assign.bind(variable);
  variable.assign = (newValue: Tensor): void => {
    assign(newValue);
    const projected = tf.tidy(() => constraint.apply(variable));
    assign(projected);
    projected.dispose();
  };
}

function checkBoolean(value: unknown, fallback: boolean, owner: string, name: string): boolean {
  if (value == null) {
    return fallback;
  }
  if (typeof value !== 'boolean') {
    throw new Error(`${owner}: ${name} must be true or false, but got ${JSON.stringify(value)}.`);
  }
  return value;
}

function singleShape(inputShape: tfl.Shape | tfl.Shape[], owner: string): tfl.Shape {
  if (Array.isArray(inputShape[0])) {
    if (inputShape.length !== 1) {
      throw new Error(`${owner}: expects one input, but got ${inputShape.length}.`);
    }
    return inputShape[0] as tfl.Shape;
  }
  return inputShape as tfl.Shape;
}

function singleTensor(inputs: Tensor[], owner: string): Tensor {
  if (inputs.length !== 1) {
    throw new Error(`${owner}: expects one input, but got ${inputs.length}.`);
  }
  return inputs[0];
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}
