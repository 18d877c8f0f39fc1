import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {activate} from '../composite';
import {
  checkBoolean,
  ChannelGroupNormalization,
  describeLayer,
  InstanceNormalizationLayerArgs,
  KERAS_KEYS,
  NormalizationSpec,
  PACKAGE_KEYS,
  product,
  RUNNING_STATS_KEYS,
  withScopedName,
} from './base';
import type {Initializer} from './keras_objects';

/** PyTorch's default momentum of the running statistics. */
const PYTORCH_MOMENTUM = 0.1;

/**
 * Which layer a saved InstanceNormalization config comes from, decided by
 * {@link instanceNormFlavour} from its class name and keys:
 * - 'package': this package's own layer (its config holds `epsilon_mode`);
 * - 'keras-contrib': keras-contrib's layer, `(x - mean) / (std + epsilon)`;
 * - 'pix2pix': the TensorFlow pix2pix / CycleGAN tutorial's layer (a config
 *   with the base layer's keys only; weights `scale` and `offset`);
 * - 'addons': TensorFlow Addons' `Addons>InstanceNormalization`.
 */
export type InstanceNormFlavour = 'package' | 'keras-contrib' | 'pix2pix' | 'addons';

/** Carries the flavour from fromConfig to the constructor (not a config key). */
const FLAVOUR = Symbol('flavour');
type FlavouredArgs = InstanceNormalizationLayerArgs & {[FLAVOUR]?: InstanceNormFlavour};

const SPEC_DEFAULTS = {
  groups: -1,
  axis: -1,
  epsilon: 1e-3,
  weightNames: {gamma: 'gamma', beta: 'beta'},
  gammaInitializer: 'ones',
  rank2: false,
} as const;

const SPECS: Record<InstanceNormFlavour, NormalizationSpec> = {
  package: {
    ...SPEC_DEFAULTS,
    keys: [...KERAS_KEYS, ...PACKAGE_KEYS, ...RUNNING_STATS_KEYS, 'groups'],
    epsilonMode: 'variance',
  },
  'keras-contrib': {
    ...SPEC_DEFAULTS,
    keys: [...KERAS_KEYS, 'activation', 'alpha'],
    epsilonMode: 'stddev',
  },
  pix2pix: {
    ...SPEC_DEFAULTS,
    keys: [],
    epsilon: 1e-5,
    epsilonMode: 'variance',
    weightNames: {gamma: 'scale', beta: 'offset'},
    gammaInitializer: {className: 'RandomNormal', config: {mean: 1, stddev: 0.02, seed: null}},
  },
  addons: {
    ...SPEC_DEFAULTS,
    keys: [...KERAS_KEYS, ...PACKAGE_KEYS, 'groups'],
    epsilonMode: 'variance',
    rank2: true,
  },
};

/**
 * The flavour of a saved config of class `className` (keys camelCase, as
 * tfjs-layers hands them to fromConfig). Throws, naming the layer and the
 * key, when the config contradicts itself.
 */
export function instanceNormFlavour(
  className: string,
  config: tf.serialization.ConfigDict,
): InstanceNormFlavour {
  const owner = describeLayer(className, config['name'] as string | undefined);
  const has = (key: string) => key in config;
  if (className === AddonsInstanceNormalization.className) {
    if (has('epsilonMode') && config['epsilonMode'] !== 'variance') {
      throw new Error(
        `${owner}: epsilon_mode ${JSON.stringify(config['epsilonMode'])} contradicts the ` +
          `class: TensorFlow Addons divides by sqrt(variance + epsilon) ('variance').`,
      );
    }
    if (has('axis') && config['axis'] === null) {
      throw new Error(
        `${owner}: axis null contradicts the class: TensorFlow Addons normalizes per ` +
          `channel of an integer axis (keras-contrib's InstanceNormalization takes axis null).`,
      );
    }
    return 'addons';
  }
  if (has('epsilonMode')) {
    return 'package';
  }
  if (!KERAS_KEYS.some(has) && !PACKAGE_KEYS.some(has) && !has('groups')) {
    return 'pix2pix';
  }
  if (has('groups')) {
    throw new Error(
      `${owner}: the key 'groups' is TensorFlow Addons' (class ` +
        `Addons>InstanceNormalization), but the class is keras-contrib's and the ` +
        `config has no epsilon_mode: add epsilon_mode ('variance' or 'stddev') or ` +
        `remove groups.`,
    );
  }
  return 'keras-contrib';
}

/**
 * Instance normalization as a tf.layers layer: each instance and channel is
 * normalized with its own mean and variance over the other non-batch axes,
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma + beta)` (or
 * `/ (std + epsilon)` with epsilonMode 'stddev'), in training and inference
 * alike. Runs the fused instanceNorm op, so its gradient is the fused kernel
 * too. With `trackRunningStats` (PyTorch's `track_running_stats=True`)
 * inference uses running statistics instead, which training updates.
 *
 * Loads the Keras flavours converted with tensorflowjs_converter, each with
 * its own math (see {@link instanceNormFlavour} and docs/keras.md):
 * keras-contrib's `InstanceNormalization`, the TensorFlow pix2pix tutorial's
 * `InstanceNormalization` (weights `scale` and `offset`), and, through
 * AddonsInstanceNormalization, TensorFlow Addons'.
 */
export class InstanceNormalization extends ChannelGroupNormalization {
  /** @nocollapse */
  static className = 'InstanceNormalization';
  /** Which layer this one computes as (and saves as). */
  readonly flavour: InstanceNormFlavour;
  /** Addons' saved groups: -1, or C once built; checked against C at build. */
  private readonly savedGroups: number = -1;
  /** Whether it keeps PyTorch's running statistics (weights running_mean, running_var). */
  readonly trackRunningStats: boolean;
  /** PyTorch's momentum of the running statistics (0.1 by default). */
  readonly momentum: number;
  private runningMean: tfl.LayerVariable | null = null;
  private runningVar: tfl.LayerVariable | null = null;

  constructor(args: InstanceNormalizationLayerArgs = {}) {
    const flavour = (args as FlavouredArgs)[FLAVOUR] ?? 'package';
    super(args, SPECS[flavour]);
    this.flavour = flavour;
    const owner = this.describe();
    this.trackRunningStats = checkBoolean(
      args.trackRunningStats,
      false,
      owner,
      'trackRunningStats',
    );
    const momentum = args.momentum ?? PYTORCH_MOMENTUM;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
      throw new Error(
        `${owner}: momentum must be a number in [0, 1] (PyTorch's: the weight of the ` +
          `batch statistic), but got ${JSON.stringify(args.momentum)}.`,
      );
    }
    this.momentum = momentum;
    if (this.trackRunningStats && this.axis === null) {
      throw new Error(
        `${owner}: trackRunningStats needs an integer channel axis (running statistics ` +
          `per channel), but axis is null.`,
      );
    }
    if (flavour !== 'addons' && args.groups != null && args.groups !== -1) {
      throw new Error(
        `${this.describe()}: groups must be -1 (one group per channel: instance ` +
          `normalization), but got ${JSON.stringify(args.groups)}; for group ` +
          `normalization use GroupNormalization.`,
      );
    }
    if (flavour === 'addons') {
      const groups = args.groups;
      if (groups != null && !(Number.isInteger(groups) && (groups === -1 || groups > 0))) {
        throw new Error(
          `${this.describe()}: groups must be -1 or the number of channels, but got ` +
            `${JSON.stringify(groups)}.`,
        );
      }
      this.savedGroups = groups ?? -1;
      if (this.axis === null) {
        throw new Error(`${this.describe()}: axis must be an integer, but got null.`);
      }
    }
  }

  /** Decides the flavour of a saved config (see {@link instanceNormFlavour}). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const flavour = instanceNormFlavour(cls.className, config);
    return new cls({...config, [FLAVOUR]: flavour});
  }

  protected override checkChannels(channels: number): void {
    if (this.savedGroups !== -1 && this.savedGroups !== channels) {
      throw new Error(
        `${this.describe()}: groups must be -1 or the number of channels (${channels}: ` +
          `instance normalization), but got ${this.savedGroups}; TensorFlow Addons ` +
          `saves groups = C after build.`,
      );
    }
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    if (this.flavour === 'pix2pix' && shape.length !== 4) {
      throw new Error(
        `${this.describe()}: the TensorFlow pix2pix layer (weights scale and offset) ` +
          `takes [batch, height, width, channels] inputs (moments over axes 1 and 2), ` +
          `but got shape ${JSON.stringify(shape)}.`,
      );
    }
    super.build(inputShape);
    if (this.trackRunningStats) {
      const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
      const channels = shape[this.channelAxis(shape.length)] as number;
      // PyTorch starts them at 0 and 1; both are updated in training only.
      const add = (name: string, initializer: Initializer) =>
        (this as unknown as {addWeight: (...args: unknown[]) => tfl.LayerVariable}).addWeight(
          name,
          [channels],
          'float32',
          initializer,
          undefined,
          false,
        );
      this.runningMean = add('running_mean', tfl.initializers.zeros());
      this.runningVar = add('running_var', tfl.initializers.ones());
    }
  }

  /**
   * Without running statistics, the instance's own (see the base class).
   * With them: training (`{training: true}`, as fit passes) normalizes with
   * the instance's statistics and updates the running ones; inference
   * normalizes with the running ones.
   */
  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    if (!this.trackRunningStats) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const x = this.floatInput(inputs);
      const axis = this.channelAxis(x.rank);
      if (kwargs?.['training'] === true) {
        this.updateRunningStats(x, axis);
        return super.call(x, kwargs);
      }
      return this.normalizeWithRunningStats(x, axis);
    });
  }

  /**
   * PyTorch's rule (aten's instance_norm is batch_norm over the [1, N * C,
   * ...] view, whose N * C running copies it then averages over the batch):
   * `running = (1 - momentum) * running + momentum * mean_n(statistic[n, c])`
   * with each instance's mean and unbiased variance.
   */
  private updateRunningStats(x: Tensor, axis: number): void {
    const reduced = x.shape.map((_, i) => i).filter(i => i !== 0 && i !== axis);
    const count = product(reduced.map(i => x.shape[i]));
    if (count < 2) {
      throw new Error(
        `${this.describe()}: trackRunningStats needs more than one value per instance and ` +
          `channel in training (the running variance is unbiased), but the input shape is ` +
          `[${x.shape}].`,
      );
    }
    const {mean, variance} = tf.moments(x, reduced);
    const unbiased = tf.mul(variance, count / (count - 1));
    const update = (running: tfl.LayerVariable, statistic: Tensor) =>
      running.write(
        tf.add(
          tf.mul(running.read(), 1 - this.momentum),
          tf.mul(tf.mean(statistic, 0), this.momentum),
        ),
      );
    update(this.runningMean!, mean);
    update(this.runningVar!, unbiased);
  }

  /** `act((x - runningMean) / sqrt(runningVar + epsilon) * gamma + beta)`, per channel. */
  private normalizeWithRunningStats(x: Tensor, axis: number): Tensor {
    const channels = x.shape[axis];
    const perChannel = x.shape.map((_, i) => (i === axis ? channels : 1));
    const view = (t: Tensor) => tf.reshape(t, perChannel);
    const runningVar = this.runningVar!.read();
    const deviation =
      this.epsilonMode === 'variance'
        ? tf.sqrt(tf.add(runningVar, this.epsilon))
        : tf.add(tf.sqrt(runningVar), this.epsilon);
    const {gamma, beta} = this.gammaBeta();
    const scale = gamma == null ? tf.reciprocal(deviation) : tf.div(gamma.read(), deviation);
    const negativeMeanScale = tf.neg(tf.mul(this.runningMean!.read(), scale));
    const shift = beta == null ? negativeMeanScale : tf.add(beta.read(), negativeMeanScale);
    const z = tf.add(tf.mul(x, view(scale)), view(shift));
    return activate(z, this.kernelActivation, this.alpha);
  }

  /** The keys of its flavour: loaded Keras configs stay as Keras wrote them. */
  override getConfig(): tf.serialization.ConfigDict {
    switch (this.flavour) {
      case 'pix2pix':
        return this.baseLayerConfig();
      case 'keras-contrib':
        return {...this.kerasConfig(), ...this.activationConfig(false)};
      case 'addons':
        return {...this.kerasConfig(), groups: -1, ...this.activationConfig(false)};
      default:
        return {
          ...super.getConfig(),
          epsilonMode: this.epsilonMode,
          ...(this.trackRunningStats ? {trackRunningStats: true, momentum: this.momentum} : {}),
        };
    }
  }
}
tf.serialization.registerClass(InstanceNormalization);

/**
 * The class TensorFlow Addons' `tfa.layers.InstanceNormalization` converts
 * to: tfjs-layers looks classes up by their static className, so
 * `"class_name": "Addons>InstanceNormalization"` needs a class of that name.
 * `(x - mean) / sqrt(variance + epsilon)`; its config holds `groups` -1 or,
 * as Addons saves a built layer, C.
 */
export class AddonsInstanceNormalization extends InstanceNormalization {
  /** @nocollapse */
  static override className = 'Addons>InstanceNormalization';

  constructor(args: InstanceNormalizationLayerArgs = {}) {
    super({
      ...withScopedName(args, 'addons_instance_normalization'),
      [FLAVOUR]: 'addons',
    } as FlavouredArgs);
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
