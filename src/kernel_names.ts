/**
 * Names, inputs, attributes and outputs of the two kernels of this package.
 * Every backend imports them from here: no kernel or attribute name is
 * spelled anywhere else.
 */
import type {KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

/** Layout of x: `[N, ...spatial, C]` or `[N, C, ...spatial]`. */
export type DataFormat = 'channelsLast' | 'channelsFirst';

/**
 * Where epsilon goes. 'variance' (the default; Keras, TF Addons, PyTorch):
 * `invStd = 1 / sqrt(variance + epsilon)`. 'stddev' (keras-contrib):
 * `invStd = 1 / (sqrt(variance) + epsilon)`. Both forms save the factor they
 * applied as invStd.
 */
export type EpsilonMode = 'variance' | 'stddev';

/**
 * The activation applied to `z = xhat * gamma + beta` inside the kernels
 * (tfjs-layers names, plus 'leakyRelu' with the attribute `alpha`):
 * - linear: z; relu: max(z, 0); relu6: min(max(z, 0), 6);
 *   leakyRelu: z > 0 ? z : alpha * z (alpha default 0.2, as tf.leakyRelu);
 * - elu: z > 0 ? z : exp(z) - 1;
 *   selu: SELU_SCALE * (z > 0 ? z : SELU_ALPHA * (exp(z) - 1));
 * - sigmoid: 1 / (1 + exp(-z)); tanh; swish (SiLU): z * sigmoid(z);
 *   mish: z * tanh(softplus(z));
 * - gelu (erf form, as tfjs-layers): 0.5 * z * (1 + erf(z / sqrt(2)));
 *   gelu_new (tanh form): 0.5 * z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z^3))).
 * The derivative follows tfjs' gradients where they pick a side: relu' is
 * 1 for z > 0, relu6' 1 for 0 < z <= 6, leakyRelu' 1 for z > 0 else alpha.
 */
export type Activation =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'selu'
  | 'sigmoid'
  | 'tanh'
  | 'swish'
  | 'mish'
  | 'gelu'
  | 'gelu_new';

/** Every {@link Activation}, in one list (validation, tests, docs). */
export const ACTIVATIONS: readonly Activation[] = [
  'linear',
  'relu',
  'relu6',
  'leakyRelu',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
];

/** SELU's constants (Klambauer et al. 2017), as tfjs. */
export const SELU_SCALE = 1.0507009873554805;
export const SELU_ALPHA = 1.6732632423543772;
/** leakyRelu's slope when the attribute `alpha` is absent (tf.leakyRelu's default). */
export const LEAKY_RELU_ALPHA = 0.2;

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

/**
 * gamma and beta are optional: absent means 1 and 0. Each is `[C]` (per
 * channel) or `[N, C]` (per instance and channel: conditional instance norm,
 * AdaIN, scale-shift), independently of the other; element (n, c) of an
 * `[N, C]` one is at `n * C + c`.
 */
export interface InstanceNormInputs extends NamedTensorInfoMap {
  x: TensorInfo;
  gamma?: TensorInfo;
  beta?: TensorInfo;
}

/**
 * The attributes of both kernels. x has rank 2 to 5 (rank 2, `[N, C]`, has
 * one pixel: group norm over features). The forward computes, per element,
 * `xhat = (x - mean) * invStd`, `z = xhat * gamma + beta`, `y = act(z)`.
 */
export interface NormAttrs {
  epsilon: number;
  dataFormat: DataFormat;
  /** Number of channel groups, a divisor of C; absent means C (instance norm). */
  groups?: number;
  /** Absent means 'variance'. */
  epsilonMode?: EpsilonMode;
  /** Absent means 'linear'. */
  activation?: Activation;
  /** leakyRelu's slope; absent means {@link LEAKY_RELU_ALPHA}. Ignored by other activations. */
  alpha?: number;
}

export type InstanceNormAttrs = NormAttrs;

/**
 * gamma and beta as in {@link InstanceNormInputs}; absent means 1 and 0.
 * beta is passed whenever the op has one: the kernels read it only to
 * recompute z for a non-linear activation's derivative, and its shape is
 * dbeta's.
 */
export interface InstanceNormGradInputs extends NamedTensorInfoMap {
  dy: TensorInfo;
  x: TensorInfo;
  gamma?: TensorInfo;
  beta?: TensorInfo;
  mean: TensorInfo;
  invStd: TensorInfo;
}

/**
 * The forward's attributes. With `dz = dy * act'(z)` (z recomputed from x,
 * the saved statistics, gamma and beta: no extra saved tensor), u = gamma *
 * dz and M elements per (n, group):
 * `dx = invStd * u - invStd / M * sum_g(u) - k / M * xhat * sum_g(u * xhat)`,
 * where k = invStd for 'variance' and k = 1 / sigma for 'stddev'
 * (sigma = 1 / invStd - epsilon; k = 0 where sigma <= 0, so a constant group
 * stays finite). dgamma = sum of dz * xhat, dbeta = sum of dz, over pixels
 * (and instances for a `[C]` parameter); outputs `[dx, dgamma, dbeta]`,
 * dgamma of gamma's shape and dbeta of beta's (`[C]` when absent).
 */
export type InstanceNormGradAttrs = NormAttrs;

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
