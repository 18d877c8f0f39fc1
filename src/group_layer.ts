import * as tf from '@tensorflow/tfjs-core';

import {ChannelGroupNormalization, InstanceNormalizationLayerArgs, withAddonsName} from './layer';

/**
 * Configuration of the GroupNormalization layer: Keras' (and TensorFlow
 * Addons') arguments, camelCase; model JSON holds them snake_case.
 */
export interface GroupNormalizationLayerArgs extends Omit<
  InstanceNormalizationLayerArgs,
  'axis' | 'groups'
> {
  /**
   * Number of groups the channels are split into (channel c is in group
   * floor(c / (C / groups))); must divide the channel count. -1 means one
   * group per channel (instance normalization). Default 32, as in Keras.
   */
  groups?: number;
  /** The channel axis: -1 (default, channels last), 1 (channels first) or another non-batch axis. */
  axis?: number;
}

/**
 * Group normalization as a tf.layers layer (Keras' `GroupNormalization`):
 * each instance is normalized per group of channels with the mean and
 * variance over the group's channels and the other non-batch axes,
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma + beta`, with gamma and
 * beta per channel. Runs the fused groupNorm op. The same implementation as
 * InstanceNormalization (their shared base class), with the groups of its
 * config.
 *
 * Loads Keras models converted with tensorflowjs_converter: class name
 * `GroupNormalization` (Keras >= 2.11) resolves to this class and
 * `Addons>GroupNormalization` (TensorFlow Addons) to
 * AddonsGroupNormalization; weights are named `gamma` and `beta`.
 */
export class GroupNormalization extends ChannelGroupNormalization {
  /** @nocollapse */
  static className = 'GroupNormalization';

  constructor(args: GroupNormalizationLayerArgs = {}) {
    const groups = args.groups ?? 32;
    super(args, typeof groups === 'number' ? groups : NaN);
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

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), groups: this.groups};
  }
}
tf.serialization.registerClass(GroupNormalization);

let addonsLayerCount = 0;

/**
 * The class TensorFlow Addons' `tfa.layers.GroupNormalization` converts to
 * (`"class_name": "Addons>GroupNormalization"`): the same layer.
 */
export class AddonsGroupNormalization extends GroupNormalization {
  /** @nocollapse */
  static override className = 'Addons>GroupNormalization';

  constructor(args: GroupNormalizationLayerArgs = {}) {
    super(withAddonsName(args, 'addons_group_normalization', ++addonsLayerCount));
  }
}
tf.serialization.registerClass(AddonsGroupNormalization);

/**
 * Creates a GroupNormalization layer (the tf.layers factory style):
 * `model.add(groupNormalization({groups: 8}))`.
 */
export function groupNormalization(args?: GroupNormalizationLayerArgs): GroupNormalization {
  return new GroupNormalization(args);
}
