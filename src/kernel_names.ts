/**
 * Names, inputs, attributes and outputs of the two kernels of this package.
 * Every backend imports them from here: no kernel or attribute name is
 * spelled anywhere else.
 */
import type {NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

/** Layout of x: `[N, ...spatial, C]` or `[N, C, ...spatial]`. */
export type DataFormat = 'channelsLast' | 'channelsFirst';

/**
 * Forward kernel. Outputs `[y, mean, invStd]`; mean and invStd have shape
 * `[N, C]` and are the state the gradient needs (MPS's
 * `MPSCNNInstanceNormalizationGradientState`).
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
}
