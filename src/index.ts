/**
 * tfjs-instance-norm: instance and group normalization with their gradients
 * for TensorFlow.js, as fused kernels of the cpu, webgl, webgpu and wasm
 * backends.
 *
 * Importing this module registers the kernels and the InstanceNormalization
 * and GroupNormalization layer classes (side effects). It loads no backend
 * package at runtime: kernels are registered by backend name at import, for
 * every backend the package has kernels for, loaded or not, and only run on a
 * backend the app installed (see register.ts).
 */
import '../kernels/cpu/index';
import '../kernels/webgl/index';
import '../kernels/webgpu/index';
import '../kernels/wasm/index';

export {groupNorm, instanceNorm} from './instance_norm';
export type {NormOptions} from './instance_norm';
export {adaptiveInstanceNorm} from './adaptive_instance_norm';
export {groupNormComposite, instanceNormComposite} from './composite';
export * from './layers/index';
export {InstanceNorm, InstanceNormGrad} from './kernel_names';
export {ACTIVATIONS} from './kernel_names';
export type {Activation, EpsilonMode, NormAttrs} from './kernel_names';
export {registerKernelsFor} from './register';
export type {
  DataFormat,
  InstanceNormAttrs,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
  InstanceNormInputs,
} from './kernel_names';
export {batchNormTraining} from './batch_norm';
export type {BatchNormResult} from './batch_norm';
export {layerNorm} from './layer_norm';
export type {LayerNormOptions} from './layer_norm';
export {batchNormalization, BatchNormalization} from './layers/batch_normalization';
export type {BatchNormalizationLayerArgs} from './layers/batch_normalization';
export {layerNormalization, LayerNormalization} from './layers/layer_normalization';
export type {LayerNormalizationLayerArgs} from './layers/layer_normalization';
export {useFusedNormalizationLayers} from './layers/use_fused_normalization';
