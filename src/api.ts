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
