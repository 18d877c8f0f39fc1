import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {checkEpsilon, checkOptions, normalize} from '../instance_norm';
import type {ActivationName, NormOptions} from '../instance_norm';
import type {Activation, DataFormat, EpsilonMode} from '../kernel_names';
import {
  Constraint,
  Initializer,
  KerasObjectIdentifier,
  Regularizer,
  resolveKerasObject,
  serializeKerasObject,
} from './keras_objects';

/**
 * The arguments every normalization layer of this package shares: the
 * activation fused into the kernels, and Keras' gamma/beta arguments
 * (camelCase; model JSON holds them snake_case).
 */
export interface NormalizationLayerArgs extends LayerArgs {
  /**
   * Added to the variance (or the standard deviation, see epsilonMode); a
   * positive finite number. Default 1e-3 for InstanceNormalization and
   * GroupNormalization (Keras'), 1e-5 for ConditionalInstanceNormalization
   * (Magenta's).
   */
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
   * Applied to `xhat * gamma + beta` inside the fused kernels, forward and
   * gradient: 'linear' (default), 'relu', 'relu6', 'leakyRelu', 'elu',
   * 'selu', 'sigmoid', 'tanh', 'swish' (alias 'silu'), 'mish', 'gelu',
   * 'gelu_new'. getConfig writes the name as given ('silu' stays 'silu').
   */
  activation?: ActivationName;
  /** leakyRelu's slope; default 0.2. Saved only with activation 'leakyRelu'. */
  alpha?: number;
  /**
   * Where epsilon goes: 'variance' (default): `(x - mean) / sqrt(variance +
   * epsilon)`; 'stddev' (keras-contrib): `(x - mean) / (std + epsilon)`.
   */
  epsilonMode?: EpsilonMode;
}

/**
 * Configuration of the InstanceNormalization layer: keras-contrib's and
 * TensorFlow Addons' arguments, plus this package's.
 */
export interface InstanceNormalizationLayerArgs extends NormalizationLayerArgs {
  /**
   * The channel axis, which keeps its own statistics and gamma/beta: -1
   * (default, channels last), 1 (channels first) or any other non-batch axis.
   * `null` normalizes each instance over all its features, with a gamma and a
   * beta of shape [1] (keras-contrib's `axis=None`).
   */
  axis?: number | null;
  /**
   * TensorFlow Addons stores `groups: -1`, or C once built (one group per
   * channel, which is instance norm); any other value is group norm, the
   * GroupNormalization layer's, and is rejected.
   */
  groups?: number | null;
  /**
   * Keep PyTorch's running statistics (`track_running_stats=True`): training
   * (`fit`, or `apply` with `{training: true}`) normalizes with each
   * instance's statistics and updates the weights `running_mean` and
   * `running_var` (non-trainable, shape [C]); inference uses them instead of
   * the instance's own. Default false. Needs an integer axis.
   */
  trackRunningStats?: boolean;
  /**
   * PyTorch's momentum of the running statistics (default 0.1):
   * `running = (1 - momentum) * running + momentum * batchStatistic`, with
   * the per-instance means and unbiased variances averaged over the batch.
   * Note that Keras' BatchNormalization momentum (0.99) weighs the other way.
   */
  momentum?: number;
}

/** The config keys of Keras' normalization layers (camelCase) beside the base layer's. */
export const KERAS_KEYS: readonly string[] = [
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
];

/** The keys only this package writes. */
export const PACKAGE_KEYS: readonly string[] = ['activation', 'alpha', 'epsilonMode'];

/** The keys of PyTorch's running statistics (this package's InstanceNormalization only). */
export const RUNNING_STATS_KEYS: readonly string[] = ['trackRunningStats', 'momentum'];

/**
 * Base-layer keys (tfjs' LayerArgs), and `customObjects`, which tfjs-layers'
 * deserializer adds to every config it passes to fromConfig.
 */
export const BASE_KEYS: ReadonlySet<string> = new Set([
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
 * What every layer of this package shares: its description in error
 * messages, the one- and two-input shape checks.
 */
export abstract class NormalizationLayer extends tfl.layers.Layer {
  /** `<ClassName> layer '<name>'`: the owner every error message of the layer starts with. */
  protected describe(): string {
    return describeLayer(this.getClassName(), this.name);
  }

  /** The shapes of a two-input layer's inputs, `what` naming them (e.g. "[content, style]"). */
  protected twoShapes(inputShape: tfl.Shape | tfl.Shape[], what: string): [tfl.Shape, tfl.Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new Error(
        `${this.describe()}: expects two inputs, ${what}, but got ${JSON.stringify(inputShape)}.`,
      );
    }
    return inputShape as [tfl.Shape, tfl.Shape];
  }

  /** The tensors of a two-input layer's call. */
  protected twoInputs(inputs: Tensor | Tensor[], what: string): [Tensor, Tensor] {
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`${this.describe()}: expects two inputs, ${what}.`);
    }
    return [inputs[0], inputs[1]];
  }
}

/** The defaults a layer class fixes for the keys {@link AffineNormalization} reads. */
export interface AffineDefaults {
  /** The keys its config may hold beside the base layer's. */
  keys: readonly string[];
  epsilon: number;
  epsilonMode: EpsilonMode;
  gammaInitializer: KerasObjectIdentifier<Initializer>;
}

/**
 * What the layers with gamma and beta share (InstanceNormalization,
 * GroupNormalization, ConditionalInstanceNormalization): Keras' config
 * (epsilon, center, scale, initializers, regularizers, constraints), the
 * epsilon mode and the fused activation, all checked by the op's own checks
 * with the layer as the owner of the messages.
 */
export abstract class AffineNormalization extends NormalizationLayer {
  /** The channel axis (null: all features of an instance, keras-contrib's axis=None). */
  abstract readonly axis: number | null;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly epsilonMode: EpsilonMode;
  /** The activation as given (an alias such as 'silu' included): what getConfig writes. */
  readonly activation: ActivationName;
  /** The kernel activation it stands for ('silu' is 'swish'). */
  readonly kernelActivation: Activation;
  readonly alpha: number;
  protected readonly regularizersAndConstraints: KerasWeightArgs;

  protected constructor(args: NormalizationLayerArgs, defaults: AffineDefaults) {
    super(args);
    const owner = this.describe();
    checkKeys(args, defaults.keys, owner);
    this.epsilon = checkEpsilon(owner, args.epsilon ?? defaults.epsilon);
    this.center = checkBoolean(args.center, true, owner, 'center');
    this.scale = checkBoolean(args.scale, true, owner, 'scale');
    const checked = checkOptions(owner, {
      activation: args.activation,
      alpha: args.alpha,
      epsilonMode: args.epsilonMode ?? defaults.epsilonMode,
    });
    this.activation = args.activation ?? 'linear';
    this.kernelActivation = checked.activation;
    this.alpha = checked.alpha;
    this.epsilonMode = checked.epsilonMode;
    this.regularizersAndConstraints = resolveWeightArgs(args, defaults.gammaInitializer, owner);
  }

  /** The base layer's keys (name, trainable, dtype, batchInputShape). */
  protected baseLayerConfig(): tf.serialization.ConfigDict {
    return super.getConfig();
  }

  /** The base layer's keys and Keras' (axis, epsilon, center, scale, initializers, ...). */
  protected kerasConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      ...serializeWeightArgs(this.regularizersAndConstraints),
    };
  }

  /**
   * `activation` (and `alpha` for leakyRelu) when the layer's config writes
   * it: always for this package's own layers, only when not linear for the
   * flavours loaded from Keras (their configs stay as Keras wrote them).
   */
  protected activationConfig(always = true): tf.serialization.ConfigDict {
    if (!always && this.activation === 'linear') {
      return {};
    }
    return this.kernelActivation === 'leakyRelu'
      ? {activation: this.activation, alpha: this.alpha}
      : {activation: this.activation};
  }

  /** The op options of this layer. */
  protected opOptions(): NormOptions {
    return {epsilonMode: this.epsilonMode, activation: this.kernelActivation, alpha: this.alpha};
  }

  /** gamma and beta of `shape` (Keras creates gamma first: the order of getWeights()). */
  protected addGammaBeta(
    shape: number[],
    names: {gamma: string; beta: string} = {gamma: 'gamma', beta: 'beta'},
  ): {gamma: tfl.LayerVariable | null; beta: tfl.LayerVariable | null} {
    const weights = this.regularizersAndConstraints;
    return {
      gamma: this.scale ? addProjectedWeight(this, names.gamma, shape, weights.gamma) : null,
      beta: this.center ? addProjectedWeight(this, names.beta, shape, weights.beta) : null,
    };
  }

  /**
   * The fused op on x with the layer's epsilon and options: instance norm
   * (groups null) or group norm; ranks above 5 are seen as [N, S, C] or
   * [N, C, S]. Errors name the layer.
   */
  protected normalizeInput(
    x: Tensor,
    groups: number | null,
    gamma: Tensor | null,
    beta: Tensor | null,
    dataFormat: DataFormat,
  ): Tensor {
    const run = (input: Tensor) =>
      normalize(
        this.describe(),
        input,
        groups,
        gamma,
        beta,
        this.epsilon,
        dataFormat,
        this.opOptions(),
      );
    if (x.rank <= 5) {
      return run(x);
    }
    const shape = x.shape as number[];
    const view: [number, number, number] =
      dataFormat === 'channelsLast'
        ? [shape[0], product(shape.slice(1, -1)), shape[shape.length - 1]]
        : [shape[0], shape[1], product(shape.slice(2))];
    return tf.reshape(run(tf.reshape(x, view)), shape);
  }
}

/** What a subclass of ChannelGroupNormalization fixes about the layer it builds. */
export interface NormalizationSpec extends AffineDefaults {
  /** -1: one group per channel (instance norm); else the number of groups. */
  groups: number;
  /** Its channel axis when the arguments hold none. */
  axis: number | null;
  /** The names of its weights (TensorFlow's pix2pix layer: scale and offset). */
  weightNames: {gamma: string; beta: string};
  /** Whether [N, C] inputs are accepted with an integer axis. */
  rank2: boolean;
}

/**
 * What InstanceNormalization and GroupNormalization share: the channel axis,
 * the weights and the call, which runs the fused op with the layer's groups
 * and epsilon mode.
 */
export abstract class ChannelGroupNormalization extends AffineNormalization {
  readonly axis: number | null;
  /** Number of groups: -1 is one group per channel (instance norm). */
  readonly groups: number;
  protected readonly spec: NormalizationSpec;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  protected constructor(args: InstanceNormalizationLayerArgs, spec: NormalizationSpec) {
    super(args, spec);
    this.spec = spec;
    this.groups = spec.groups;
    const owner = this.describe();
    const axis = args.axis === undefined ? spec.axis : args.axis;
    if (axis !== null && !Number.isInteger(axis)) {
      throw new Error(
        `${owner}: axis must be an integer or null, but got ${JSON.stringify(axis)}.`,
      );
    }
    if (axis === 0) {
      throw new Error(
        `${owner}: axis 0 is the batch axis; normalization needs a ` +
          `channel axis (-1, 1, ...) or null.`,
      );
    }
    this.axis = axis;
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
      this.checkChannels(channels);
      paramShape = [channels];
      axes = {[axis]: channels};
    }
    this.inputSpec = [new tfl.InputSpec({ndim: rank, axes})];
    ({gamma: this.gamma, beta: this.beta} = this.addGammaBeta(paramShape, this.spec.weightNames));
    this.built = true;
  }

  /** Checks the channel count of the input at build (groups must divide it). */
  protected checkChannels(channels: number): void {
    if (this.groups !== -1 && channels % this.groups !== 0) {
      throw new Error(
        `${this.describe()}: groups (${this.groups}) must divide the number of ` +
          `channels, ${channels} on axis ${this.axis}.`,
      );
    }
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const x = this.floatInput(inputs);
      const gamma = this.gamma?.read() ?? null;
      const beta = this.beta?.read() ?? null;
      const shape = x.shape;
      const rank = shape.length;
      const groups = this.groups === -1 ? null : this.groups;
      if (this.axis === null) {
        // One scalar gamma/beta per layer, statistics over all features of an
        // instance: a [N, features, 1] view with a single channel.
        const view = tf.reshape(x, [shape[0], product(shape.slice(1)), 1]);
        return tf.reshape(this.normalizeInput(view, null, gamma, beta, 'channelsLast'), shape);
      }
      const axis = this.channelAxis(rank);
      if (rank === 2) {
        // [N, C]: one pixel per instance.
        const view = tf.reshape(x, [shape[0], 1, shape[1]]);
        return tf.reshape(this.normalizeInput(view, groups, gamma, beta, 'channelsLast'), shape);
      }
      if (axis === rank - 1 || axis === 1) {
        const format = axis === rank - 1 ? 'channelsLast' : 'channelsFirst';
        return this.normalizeInput(x, groups, gamma, beta, format);
      }
      // A channel axis in the middle: move it last, normalize, move it back.
      const toLast = [...Array.from({length: rank}, (_, i) => i).filter(i => i !== axis), axis];
      const back = toLast.map((_, i) => toLast.indexOf(i));
      const y = this.normalizeInput(tf.transpose(x, toLast), groups, gamma, beta, 'channelsLast');
      return tf.transpose(y, back);
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return singleShape(inputShape, this.describe());
  }

  /** The Keras keys of the config (snake_case on disk) and the activation. */
  override getConfig(): tf.serialization.ConfigDict {
    return {...this.kerasConfig(), ...this.activationConfig()};
  }

  /** The one input of a call, as float32. */
  protected floatInput(inputs: Tensor | Tensor[]): Tensor {
    const input = Array.isArray(inputs) ? singleTensor(inputs, this.describe()) : inputs;
    return input.dtype === 'float32' ? input : tf.cast(input, 'float32');
  }

  /** gamma and beta as the layer holds them (null where center / scale is false). */
  protected gammaBeta(): {gamma: tfl.LayerVariable | null; beta: tfl.LayerVariable | null} {
    return {gamma: this.gamma, beta: this.beta};
  }

  /** The channel axis as a non-negative index, checked against the rank. */
  protected channelAxis(rank: number): number {
    const axis = this.axis as number;
    const resolved = axis < 0 ? axis + rank : axis;
    const minRank = this.spec.rank2 ? 2 : 3;
    if (rank < minRank) {
      throw new Error(
        `${this.describe()}: with axis ${axis} the input needs rank >= ${minRank} ` +
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
}

export function describeLayer(className: string, name: string | undefined): string {
  return `${className} layer '${name}'`;
}

/**
 * The axis of a layer that takes the channels last or first only (-1 or 1;
 * default -1), checked.
 */
export function checkEndAxis(axis: unknown, owner: string): -1 | 1 {
  const value = axis ?? -1;
  if (value !== -1 && value !== 1) {
    throw new Error(
      `${owner}: axis must be -1 (channels last) or 1 (channels first), but got ` +
        `${JSON.stringify(axis)}.`,
    );
  }
  return value;
}

/** Initializer, regularizer and constraint of gamma and of beta, resolved. */
export interface KerasWeightArgs {
  gamma: WeightArgs;
  beta: WeightArgs;
}

interface WeightArgs {
  initializer: Initializer;
  regularizer: Regularizer | null;
  constraint: Constraint | null;
}

export function resolveWeightArgs(
  args: NormalizationLayerArgs,
  gammaInitializer: KerasObjectIdentifier<Initializer>,
  owner: string,
): KerasWeightArgs {
  const resolve = (name: 'gamma' | 'beta', initializer: KerasObjectIdentifier<Initializer>) => ({
    initializer: resolveKerasObject<Initializer>(
      'initializer',
      args[`${name}Initializer`] ?? initializer,
      `${owner}: ${name}Initializer`,
    )!,
    regularizer: resolveKerasObject<Regularizer>(
      'regularizer',
      args[`${name}Regularizer`],
      `${owner}: ${name}Regularizer`,
    ),
    constraint: resolveKerasObject<Constraint>(
      'constraint',
      args[`${name}Constraint`],
      `${owner}: ${name}Constraint`,
    ),
  });
  return {gamma: resolve('gamma', gammaInitializer), beta: resolve('beta', 'zeros')};
}

export function serializeWeightArgs({gamma, beta}: KerasWeightArgs): tf.serialization.ConfigDict {
  return {
    betaInitializer: serializeKerasObject(beta.initializer),
    gammaInitializer: serializeKerasObject(gamma.initializer),
    betaRegularizer: serializeKerasObject(beta.regularizer),
    gammaRegularizer: serializeKerasObject(gamma.regularizer),
    betaConstraint: serializeKerasObject(beta.constraint),
    gammaConstraint: serializeKerasObject(gamma.constraint),
  };
}

/** addWeight with Keras' projection after every update. */
export function addProjectedWeight(
  layer: tfl.layers.Layer,
  name: string,
  shape: number[],
  {initializer, regularizer, constraint}: WeightArgs,
): tfl.LayerVariable {
  // addWeight is protected; the layer subclasses call it through here.
  const weight = (
    layer as unknown as {
      addWeight: (...args: unknown[]) => tfl.LayerVariable;
    }
  ).addWeight(
    name,
    shape,
    'float32',
    initializer,
    regularizer ?? undefined,
    true,
    constraint ?? undefined,
  );
  projectAfterEveryAssign(weight, constraint);
  return weight;
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

/** Rejects keys that are neither the base layer's nor in `known`. */
export function checkKeys(args: object, known: readonly string[], owner: string): void {
  for (const key of Object.keys(args)) {
    if (!known.includes(key) && !BASE_KEYS.has(key)) {
      throw new Error(
        `${owner}: unknown config key '${key}'. Known keys: ${known.join(
          ', ',
        )} and the base layer's (${[...BASE_KEYS].filter(k => k !== 'customObjects').join(', ')}).`,
      );
    }
  }
}

export function checkBoolean(
  value: unknown,
  fallback: boolean,
  owner: string,
  name: string,
): boolean {
  if (value == null) {
    return fallback;
  }
  if (typeof value !== 'boolean') {
    throw new Error(`${owner}: ${name} must be true or false, but got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function singleShape(inputShape: tfl.Shape | tfl.Shape[], owner: string): tfl.Shape {
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

export function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

let anonymousCount = 0;

/**
 * A default name for a class whose className holds '>' (Addons>...,
 * KerasContrib>...): the one tfjs derives from it is not a valid weight-name
 * scope.
 */
export function withScopedName<T extends {name?: string}>(args: T, prefix: string): T {
  return {...args, name: args.name ?? `${prefix}_${++anonymousCount}`};
}
