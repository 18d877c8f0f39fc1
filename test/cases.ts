/**
 * The shapes and data every forward and gradient spec checks, and the two
 * kernels run directly (no op, no tape).
 */
import type {DataFormat} from '../support';
import {InstanceNorm, InstanceNormGrad, NormAttrs} from '../src/kernel_names';

import {randomValues, tf} from './setup';

export interface Case {
  name: string;
  shape: number[];
  format: DataFormat;
  withGamma: boolean;
  withBeta: boolean;
  epsilon: number;
  scale: number;
  offset: number;
  /** Index of a channel set to one constant value in every instance. */
  constantChannel?: number;
}

/** A case with gamma and beta, epsilon 1e-5, unit scale, no offset, unless `more` says otherwise. */
export function makeCase(
  name: string,
  shape: number[],
  format: DataFormat,
  more: Partial<Case> = {},
): Case {
  return {
    name,
    shape,
    format,
    withGamma: true,
    withBeta: true,
    epsilon: 1e-5,
    scale: 1,
    offset: 0,
    ...more,
  };
}

export const CASES: Case[] = [
  makeCase('odd sizes', [2, 5, 7, 3], 'channelsLast'),
  makeCase('odd sizes', [2, 3, 5, 7], 'channelsFirst'),
  makeCase('one pixel', [3, 1, 1, 4], 'channelsLast'),
  makeCase('one pixel', [3, 4, 1, 1], 'channelsFirst'),
  makeCase('one channel', [2, 6, 5, 1], 'channelsLast'),
  makeCase('one channel', [2, 1, 6, 5], 'channelsFirst'),
  makeCase('67 channels', [2, 3, 5, 67], 'channelsLast'),
  makeCase('67 channels', [2, 67, 3, 5], 'channelsFirst'),
  makeCase('rank 3', [2, 11, 5], 'channelsLast'),
  makeCase('rank 3', [2, 5, 11], 'channelsFirst'),
  makeCase('rank 5', [2, 3, 4, 5, 6], 'channelsLast'),
  makeCase('rank 5', [2, 6, 3, 4, 5], 'channelsFirst'),
  makeCase('no gamma, no beta', [2, 4, 6, 3], 'channelsLast', {withGamma: false, withBeta: false}),
  makeCase('no gamma, no beta', [2, 3, 4, 6], 'channelsFirst', {withGamma: false, withBeta: false}),
  makeCase('gamma only', [1, 5, 5, 2], 'channelsLast', {withBeta: false}),
  makeCase('beta only', [1, 2, 5, 5], 'channelsFirst', {withGamma: false}),
  makeCase('offset 1e4', [2, 8, 8, 3], 'channelsLast', {offset: 1e4}),
  makeCase('offset 1e4', [2, 3, 8, 8], 'channelsFirst', {offset: 1e4}),
  makeCase('scale 1e3', [2, 7, 9, 4], 'channelsLast', {scale: 1e3}),
  makeCase('scale 1e3', [2, 4, 7, 9], 'channelsFirst', {scale: 1e3}),
  makeCase('a constant channel', [2, 6, 6, 3], 'channelsLast', {constantChannel: 1}),
  makeCase('a constant channel', [2, 3, 6, 6], 'channelsFirst', {constantChannel: 1}),
  makeCase('epsilon 1e-3', [2, 16, 16, 8], 'channelsLast', {epsilon: 1e-3}),
  makeCase('a larger image', [1, 40, 40, 5], 'channelsLast'),
  makeCase('a larger image', [1, 5, 40, 40], 'channelsFirst'),
];

export function describeCase(c: Case): string {
  return `${c.name}: [${c.shape}] ${c.format}`;
}

export interface CaseData {
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  dy: Float32Array;
  channels: number;
}

export function caseData(c: Case, seed = 7): CaseData {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const x = randomValues(size, seed, c.scale, c.offset);
  if (c.constantChannel != null) {
    const k = c.constantChannel;
    const spatial = size / (c.shape[0] * channels);
    for (let i = 0; i < size; i++) {
      const ch = c.format === 'channelsLast' ? i % channels : Math.floor(i / spatial) % channels;
      if (ch === k) x[i] = 3.25;
    }
  }
  const gamma = c.withGamma ? randomValues(channels, seed + 1, 0.5, 1) : null;
  const beta = c.withBeta ? randomValues(channels, seed + 2, 1) : null;
  const dy = randomValues(size, seed + 3, 1);
  return {x, gamma, beta, dy, channels};
}

/** A case's data as tensors (gamma and beta null where the case has none); `all` to dispose. */
export function caseTensors(c: Case, d: CaseData) {
  const x = tf.tensor(d.x, c.shape);
  const dy = tf.tensor(d.dy, c.shape);
  const gamma = d.gamma && tf.tensor1d(d.gamma);
  const beta = d.beta && tf.tensor1d(d.beta);
  const all = [x, dy, gamma, beta].filter((t): t is tf.Tensor => t != null);
  return {x, dy, gamma, beta, all};
}

/** Attributes of both kernels besides dataFormat (epsilon too for the gradient's 'stddev'). */
export type MoreAttrs = Partial<Omit<NormAttrs, 'dataFormat'>>;

/** The InstanceNorm kernel itself: [y, mean, invStd]. */
export function runForwardKernel(
  x: tf.Tensor,
  gamma: tf.Tensor | null,
  beta: tf.Tensor | null,
  epsilon: number,
  dataFormat: DataFormat,
  more: MoreAttrs = {},
): tf.Tensor[] {
  const inputs = {x, ...(gamma ? {gamma} : {}), ...(beta ? {beta} : {})};
  const attrs = {...more, epsilon, dataFormat} as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(InstanceNorm, inputs, attrs) as tf.Tensor[];
}

/**
 * The InstanceNormGrad kernel itself: [dx, dgamma, dbeta]. `beta` (read for
 * a non-linear activation, and shaping dbeta) and the other attributes are
 * optional.
 */
export function runGradientKernel(
  dy: tf.Tensor,
  x: tf.Tensor,
  gamma: tf.Tensor | null,
  mean: tf.Tensor,
  invStd: tf.Tensor,
  dataFormat: DataFormat,
  more: MoreAttrs & {beta?: tf.Tensor | null} = {},
): tf.Tensor[] {
  const {beta, ...attrs} = more;
  const inputs = {dy, x, mean, invStd, ...(gamma ? {gamma} : {}), ...(beta ? {beta} : {})};
  const all = {epsilon: 1e-5, ...attrs, dataFormat} as unknown as tf.NamedAttrMap;
  return tf.engine().runKernel(InstanceNormGrad, inputs, all) as tf.Tensor[];
}
