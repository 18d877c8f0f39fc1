/**
 * Names, inputs, attributes and outputs of the two kernels of this package.
 * Every backend imports them from here: no kernel or attribute name is
 * spelled anywhere else.
 */
import type {KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

/** Layout of x: `[N, ...spatial, C]` or `[N, C, ...spatial]`. */
export type DataFormat = 'channelsLast' | 'channelsFirst';

/**
 * Forward kernel. Outputs `[y, mean, invStd]`; mean and invStd have shape
 * `[N, groups]` (`[N, C]` for instance norm) and are the state the gradient
 * needs (MPS's `MPSCNNInstanceNormalizationGradientState`).
 *
 * Both kernels serve group norm too: the statistics are taken per (instance,
 * group) over the spatial axes and the C / groups channels of the group
 * (channel c is in group floor(c / (C / groups))); gamma and beta stay per
 * channel. `groups` = C (the default) is instance norm.
 */
export const InstanceNorm = 'InstanceNorm';
/** Gradient kernel. Outputs `[dx, dgamma, dbeta]`. */
export const InstanceNormGrad = 'InstanceNormGrad';

/** gamma and beta are optional: absent means 1 and 0. */
export interface InstanceNormInputs extends NamedTensorInfoMap {
  x: TensorInfo;
  gamma?: TensorInfo;
  beta?: TensorInfo;
}

export interface InstanceNormAttrs {
  epsilon: number;
  dataFormat: DataFormat;
  /** Number of channel groups, a divisor of C; absent means C (instance norm). */
  groups?: number;
}

/** gamma is optional: absent means 1. */
export interface InstanceNormGradInputs extends NamedTensorInfoMap {
  dy: TensorInfo;
  x: TensorInfo;
  gamma?: TensorInfo;
  mean: TensorInfo;
  invStd: TensorInfo;
}

export interface InstanceNormGradAttrs {
  dataFormat: DataFormat;
  /** As in {@link InstanceNormAttrs}; mean and invStd are `[N, groups]`. */
  groups?: number;
}

/** What tfjs passes to a kernel function of this package on backend B. */
export interface KernelArgs<Inputs, Backend, Attrs> {
  inputs: Inputs;
  backend: Backend;
  attrs: Attrs;
}

/** The registry entry of a kernel function of this package. */
export function kernelConfig<Args>(
  kernelName: string,
  backendName: string,
  kernelFunc: (args: Args) => TensorInfo | TensorInfo[],
): KernelConfig {
  return {kernelName, backendName, kernelFunc: kernelFunc as unknown as KernelFunc};
}
