import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {instanceNorm} from '../instance_norm';
import {
  ChannelGroupNormalization,
  KERAS_KEYS,
  PACKAGE_KEYS,
  NormalizationLayerArgs,
  NormalizationSpec,
  product,
  withScopedName,
} from './base';

/**
 * Configuration of the GroupNormalization layer: Keras' (and TensorFlow
 * Addons') arguments, camelCase; model JSON holds them snake_case.
 */
export interface GroupNormalizationLayerArgs extends NormalizationLayerArgs {
  /**
   * Number of groups the channels are split into (channel c is in group
   * floor(c / (C / groups))); must divide the channel count. -1 means one
   * group per channel (instance normalization). Default 32, as in Keras.
   */
  groups?: number;
  /** The channel axis: -1 (default, channels last), 1 (channels first) or another non-batch axis. */
  axis?: number;
}

/** Marks keras-contrib's layer in the constructor arguments (not a config key). */
const KERAS_CONTRIB = Symbol('kerasContrib');

function groupSpec(groups: number, epsilon: number, keys: readonly string[]): NormalizationSpec {
  return {
    keys,
    groups,
    axis: -1,
    epsilon,
    epsilonMode: 'variance',
    weightNames: {gamma: 'gamma', beta: 'beta'},
    gammaInitializer: 'ones',
    rank2: true,
  };
}

function checkedGroups(args: GroupNormalizationLayerArgs): number {
  const groups = args.groups ?? 32;
  return typeof groups === 'number' ? groups : NaN;
}

/**
 * Group normalization as a tf.layers layer (Keras' `GroupNormalization`):
 * each instance is normalized per group of channels with the mean and
 * variance over the group's channels and the other non-batch axes,
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma + beta)`, with gamma
 * and beta per channel. Takes `[batch, features]` inputs too (a group's
 * features are its only axis). Runs the fused groupNorm op.
 *
 * Loads Keras models converted with tensorflowjs_converter: class name
 * `GroupNormalization` (Keras >= 2.11, Keras 3) resolves to this class and
 * `Addons>GroupNormalization` (TensorFlow Addons) to
 * AddonsGroupNormalization; weights are named `gamma` and `beta`.
 */
export class GroupNormalization extends ChannelGroupNormalization {
  /** @nocollapse */
  static className = 'GroupNormalization';

  constructor(args: GroupNormalizationLayerArgs = {}) {
    const contrib = (args as {[KERAS_CONTRIB]?: boolean})[KERAS_CONTRIB] === true;
    // keras-contrib's layer: its own epsilon default, no activation or epsilon mode.
    const keys = [...KERAS_KEYS, 'groups', ...(contrib ? [] : PACKAGE_KEYS)];
    super(args, groupSpec(checkedGroups(args), contrib ? 1e-5 : 1e-3, keys));
    const groups = args.groups ?? 32;
    if (groups !== -1 && !(Number.isInteger(groups) && groups > 0)) {
      throw new Error(
        `${this.describe()}: groups must be a positive integer that divides the ` +
          `number of channels, or -1 (one group per channel), but got ${JSON.stringify(groups)}.`,
      );
    }
    if (this.axis === null) {
      throw new Error(`${this.describe()}: axis must be an integer, but got null.`);
    }
  }

  /** Keras' keys, `groups`, the activation, and `epsilonMode` when it is not 'variance'. */
  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      groups: this.groups,
      ...(this.epsilonMode === 'variance' ? {} : {epsilonMode: this.epsilonMode}),
    };
  }
}
tf.serialization.registerClass(GroupNormalization);

/**
 * The class TensorFlow Addons' `tfa.layers.GroupNormalization` converts to
 * (`"class_name": "Addons>GroupNormalization"`): the same layer.
 */
export class AddonsGroupNormalization extends GroupNormalization {
  /** @nocollapse */
  static override className = 'Addons>GroupNormalization';

  constructor(args: GroupNormalizationLayerArgs = {}) {
    super(withScopedName(args, 'addons_group_normalization'));
  }
}
tf.serialization.registerClass(AddonsGroupNormalization);

/**
 * keras-contrib's `GroupNormalization`, computed as its source does. Its
 * config has exactly the keys of Keras' GroupNormalization, so a model.json
 * cannot say which one it is: `"class_name": "GroupNormalization"` loads as
 * Keras' layer, and a keras-contrib model is loaded with this class by
 * renaming its class to `KerasContrib>GroupNormalization` (docs/keras.md).
 *
 * keras-contrib reshapes x to `[N, groups, ...shape[1:] with C replaced by
 * C / groups]` without moving the channel axis. With the channel axis 1
 * (channels first) or `[N, C]` inputs that is group normalization; with the
 * channels last, a "group" is a run of consecutive positions with all their
 * channels (the first 1/groups of the rows, ...), and gamma/beta element
 * g * C / groups + (c mod C / groups) scales channel c of slab g. This class
 * reproduces both: statistics with the fused kernel, gamma/beta with
 * built-in ops on the channels-last path. Epsilon default 1e-5, added to the
 * variance.
 */
export class KerasContribGroupNormalization extends GroupNormalization {
  /** @nocollapse */
  static override className = 'KerasContrib>GroupNormalization';

  constructor(args: GroupNormalizationLayerArgs = {}) {
    super({
      ...withScopedName(args, 'keras_contrib_group_normalization'),
      [KERAS_CONTRIB]: true,
    } as GroupNormalizationLayerArgs);
  }

  /** keras-contrib's keys only (it has no activation). */
  override getConfig(): tf.serialization.ConfigDict {
    return {...this.kerasConfig(), groups: this.groups};
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const axis = this.channelAxis(x.rank);
    if (x.rank === 2 || axis === 1) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const shape = x.shape as number[];
      const [batch, groups] = [shape[0], this.groups === -1 ? shape[axis] : this.groups];
      const perGroup = shape[axis] / groups;
      const slabs = tf.reshape(tf.cast(x, 'float32'), [
        batch,
        groups,
        product(shape.slice(1)) / groups,
      ]);
      const normed = instanceNorm(slabs, null, null, this.epsilon, 'channelsFirst');
      const groupShape = [
        batch,
        groups,
        ...shape.slice(1).map((d, i) => (i + 1 === axis ? perGroup : d)),
      ];
      const paramShape = groupShape.map((_, i) =>
        i === 1 ? groups : i === axis + 1 ? perGroup : 1,
      );
      let y = tf.reshape(normed, groupShape);
      const [gamma, beta] = this.weights.map(w => w.read());
      if (this.scale) {
        y = tf.mul(y, tf.reshape(gamma, paramShape));
      }
      if (this.center) {
        y = tf.add(y, tf.reshape(this.scale ? beta : gamma, paramShape));
      }
      return tf.reshape(y, shape);
    });
  }
}
tf.serialization.registerClass(KerasContribGroupNormalization);

/**
 * Creates a GroupNormalization layer (the tf.layers factory style):
 * `model.add(groupNormalization({groups: 8}))`.
 */
export function groupNormalization(args?: GroupNormalizationLayerArgs): GroupNormalization {
  return new GroupNormalization(args);
}
