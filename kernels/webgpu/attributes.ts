/**
 * WGSL of the kernel attributes (../common/attributes.ts): the element (n, c)
 * of gamma or beta, invStd per epsilon mode, the xhat factor of the gradient.
 */
import type {EpsilonMode} from '../../src/kernel_names';
import type {ParamLayout, ParamLayouts} from '../common/attributes';

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
export function affineInputs(affine: ParamLayouts): Array<{name: string; type: string}> {
  return (['gamma', 'beta'] as const)
    .filter(name => affine[name] !== 'absent')
    .map(name => ({name, type: 'f32'}));
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
export function varianceFactorExpression(mode: EpsilonMode, invStd: string): string {
  return mode === 'stddev'
    ? `select(0.0, 1.0 / (1.0 / ${invStd} - uniforms.epsilon), 1.0 / ${invStd} - uniforms.epsilon > 0.0)`
    : invStd;
}
