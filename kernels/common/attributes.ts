/**
 * The kernel attributes as the WebGL and WebGPU programs see them: what a
 * program bakes into its source (epsilon mode, activation, how gamma and beta
 * are laid out) and the values it reads as uniforms (epsilon, alpha).
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {isPerInstance} from '../../src/geometry';
import {Activation, EpsilonMode, LEAKY_RELU_ALPHA, NormAttrs} from '../../src/kernel_names';

/** Where a gamma or beta is: absent (1 or 0), `[C]` or `[N, C]`. */
export type ParamLayout = 'absent' | 'perChannel' | 'perInstance';

/** The layouts of gamma and beta. */
export interface ParamLayouts {
  gamma: ParamLayout;
  beta: ParamLayout;
}

/** What a program bakes in, and the uniform values it reads. */
export interface KernelAttributes extends ParamLayouts {
  epsilonMode: EpsilonMode;
  activation: Activation;
  epsilon: number;
  alpha: number;
}

export function paramLayout(param: TensorInfo | undefined): ParamLayout {
  return param == null ? 'absent' : isPerInstance(param.shape) ? 'perInstance' : 'perChannel';
}

/**
 * The attributes with their defaults. The gradient kernel may be run without
 * an epsilon: only the 'stddev' mode reads it there.
 */
export function kernelAttributes(
  attrs: Partial<NormAttrs>,
  gamma: TensorInfo | undefined,
  beta: TensorInfo | undefined,
): KernelAttributes {
  return {
    epsilonMode: attrs.epsilonMode ?? 'variance',
    activation: attrs.activation ?? 'linear',
    epsilon: attrs.epsilon ?? 0,
    alpha: attrs.alpha ?? LEAKY_RELU_ALPHA,
    gamma: paramLayout(gamma),
    beta: paramLayout(beta),
  };
}

/** Whether the gradient needs z (and so gamma and beta): a non-linear activation. */
export function needsPreActivation(attributes: KernelAttributes): boolean {
  return attributes.activation !== 'linear';
}
