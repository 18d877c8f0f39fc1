/**
 * Every public export of the package: the ops, the layers and their types.
 * Each entry (src/index.ts and the per-backend src/cpu.ts, src/webgl.ts,
 * src/webgpu.ts, src/wasm.ts) re-exports this module whole; they differ only
 * in which backends' kernels they register. Importing it registers the layer
 * classes for serialization (side effect), once however many entries an app
 * imports: they share this module.
 */
export {groupNorm, instanceNorm} from './instance_norm';
export type {ActivationName, NormOptions} from './instance_norm';
export {adaptiveInstanceNorm} from './adaptive_instance_norm';
export {groupNormComposite, instanceNormComposite} from './composite';
export * from './layers/index';
export {InstanceNorm, InstanceNormGrad} from './kernel_names';
export {ACTIVATIONS} from './kernel_names';
export type {Activation, EpsilonMode, NormAttrs} from './kernel_names';
export {hasFusedKernels} from './register';
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
