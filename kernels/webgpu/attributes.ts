/**
 * The kernel attributes as the programs see them: what is baked into the
 * WGSL (epsilon mode, activation, how gamma and beta are laid out) and the
 * WGSL that reads element (n, c) of gamma or beta. epsilon and alpha stay
 * uniforms.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {isPerInstance} from '../../src/geometry';
import {Activation, EpsilonMode, LEAKY_RELU_ALPHA, NormAttrs} from '../../src/kernel_names';

/** A gamma or beta: absent, `[C]` or `[N, C]`. */
export type ParamLayout = 'absent' | 'perChannel' | 'perInstance';

export interface Affine {
  gamma: ParamLayout;
  beta: ParamLayout;
}

/** What a program bakes in, and the uniform values it reads. */
export interface KernelAttributes extends Affine {
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

/**
 * WGSL of element (n, channel) of gamma or beta (1.0 or 0.0 when absent);
 * `n` and `channel` are WGSL expressions.
 */
export function paramElement(
  name: 'gamma' | 'beta',
  layout: ParamLayout,
  n: string,
  channel: string,
): string {
  if (layout === 'absent') return name === 'gamma' ? '1.0' : '0.0';
  return layout === 'perInstance'
    ? `${name}[(${n}) * uniforms.channels + ${channel}]`
    : `${name}[${channel}]`;
}

/** The parameters a program binds: those present, as f32 storage buffers. */
export function affineInputs(affine: Affine): Array<{name: string; type: string}> {
  return (['gamma', 'beta'] as const)
    .filter(name => affine[name] !== 'absent')
    .map(name => ({name, type: 'f32'}));
}

/** Whether the gradient needs z (and so gamma and beta): a non-linear activation. */
export function needsPreActivation(attributes: KernelAttributes): boolean {
  return attributes.activation !== 'linear';
}

/** WGSL: invStd from the variance, per the epsilon mode. */
export function invStdExpression(mode: EpsilonMode, variance: string): string {
  return mode === 'stddev'
    ? `1.0 / (sqrt(${variance}) + uniforms.epsilon)`
    : `inverseSqrt(${variance} + uniforms.epsilon)`;
}

/**
 * WGSL: the k of the gradient's xhat term from the saved invStd: invStd
 * ('variance') or 1 / sigma with sigma = 1 / invStd - epsilon, 0 where
 * sigma <= 0 ('stddev').
 */
export function xhatFactorExpression(mode: EpsilonMode, invStd: string): string {
  return mode === 'stddev'
    ? `select(0.0, 1.0 / (1.0 / ${invStd} - uniforms.epsilon), 1.0 / ${invStd} - uniforms.epsilon > 0.0)`
    : invStd;
}
