/** The tf.layers layers of this package; importing registers their classes. */
export {
  AddonsInstanceNormalization,
  InstanceNormalization,
  instanceNormalization,
  instanceNormFlavour,
} from './instance_normalization';
export type {InstanceNormFlavour} from './instance_normalization';
export type {InstanceNormalizationLayerArgs, NormalizationLayerArgs} from './base';
export {
  AddonsGroupNormalization,
  GroupNormalization,
  groupNormalization,
  KerasContribGroupNormalization,
} from './group_normalization';
export type {GroupNormalizationLayerArgs} from './group_normalization';
export {
  ConditionalInstanceNormalization,
  conditionalInstanceNormalization,
} from './conditional_instance_normalization';
export type {ConditionalInstanceNormalizationLayerArgs} from './conditional_instance_normalization';
export {
  AdaptiveInstanceNormalization,
  adaptiveInstanceNormalization,
} from './adaptive_instance_normalization';
export type {AdaptiveInstanceNormalizationLayerArgs} from './adaptive_instance_normalization';
