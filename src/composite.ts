import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import type {DataFormat} from './kernel_names';
import {GroupView, groupView, instanceNormLayout} from './geometry';

/**
 * The two kernels written with built-in ops, for backends that have no fused
 * kernels (tensorflow, ...). Same outputs as the kernels (statistics per
 * (instance, group), `[N, groups]`), same two-pass statistics; the gradient is
 * the closed form, so it needs no registered gradients of built-in ops.
 */
export function instanceNormCompositeKernel(
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  epsilon: number,
  dataFormat: DataFormat,
  groups: number,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const layout = instanceNormLayout(x.shape, dataFormat);
    const view = groupView(layout, groups);
    const {mean, centered} = groupMoments(tf.reshape(x, view.shape), view);
    const variance = tf.mean(tf.square(centered), view.reduceAxes, true);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const y = scaleAndShift(tf.mul(centered, invStd), gamma, beta, view.channelShape);
    const statsShape = [layout.batch, groups];
    return [tf.reshape(y, x.shape), tf.reshape(mean, statsShape), tf.reshape(invStd, statsShape)];
  });
}

export function instanceNormGradCompositeKernel(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor | undefined,
  mean: Tensor,
  invStd: Tensor,
  dataFormat: DataFormat,
  groups: number,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const view = groupView(instanceNormLayout(x.shape, dataFormat), groups);
    const statsShape = view.shape.map((size, axis) => (view.reduceAxes.includes(axis) ? 1 : size));
    const mean4 = tf.reshape(mean, statsShape);
    const invStd4 = tf.reshape(invStd, statsShape);
    // Re-centering xhat removes the rounding of the float32 saved mean (see
    // the cpu kernel).
    const rawXhat = tf.mul(tf.sub(tf.reshape(x, view.shape), mean4), invStd4);
    const xhat = tf.sub(rawXhat, tf.mean(rawXhat, view.reduceAxes, true));
    return closedFormBackward(dy, x.shape, view, xhat, invStd4, gamma);
  });
}

/**
 * The gradient of `sum(dy * groupNorm(x, gamma, ...))` with respect to x,
 * gamma and beta, built from built-in ops with the statistics recomputed from
 * x, so that it is itself differentiable in dy, x and gamma (through the
 * statistics too): the gradient of the fused gradient (second order). Needs
 * the gradients of built-in ops registered.
 */
export function groupNormBackward(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor | undefined,
  epsilon: number,
  dataFormat: DataFormat,
  groups: number,
): [Tensor, Tensor, Tensor] {
  const view = groupView(instanceNormLayout(x.shape, dataFormat), groups);
  const {centered} = groupMoments(tf.reshape(x, view.shape), view);
  const invStd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), view.reduceAxes, true), epsilon));
  return closedFormBackward(dy, x.shape, view, tf.mul(centered, invStd), invStd, gamma);
}

/**
 * The mean of each (instance, group) of the view and x minus it. Shifting each
 * group by its first value keeps float32 sums small: an offset of 1e4 or a
 * constant group stays exact.
 */
function groupMoments(x4: Tensor, view: GroupView): {mean: Tensor; centered: Tensor} {
  const firstSize = view.shape.map((_, axis) => (view.reduceAxes.includes(axis) ? 1 : -1));
  const shift = tf.slice(x4, [0, 0, 0, 0], firstSize);
  const shifted = tf.sub(x4, shift);
  const shiftedMean = tf.mean(shifted, view.reduceAxes, true);
  return {mean: tf.add(shift, shiftedMean), centered: tf.sub(shifted, shiftedMean)};
}

/**
 * With u = gamma * dy and means over each (instance, group):
 * dx = invStd * (u - mean(u) - xhat * mean(u * xhat)); dgamma and dbeta sum
 * dy * xhat and dy over instances and pixels.
 */
function closedFormBackward(
  dy: Tensor,
  shape: number[],
  view: GroupView,
  xhat: Tensor,
  invStd: Tensor,
  gamma: Tensor | undefined,
): [Tensor, Tensor, Tensor] {
  const dy4 = tf.reshape(dy, view.shape);
  const u = gamma ? tf.mul(dy4, tf.reshape(gamma, view.channelShape)) : dy4;
  const meanU = tf.mean(u, view.reduceAxes, true);
  const meanUXhat = tf.mean(tf.mul(u, xhat), view.reduceAxes, true);
  const dx = tf.mul(invStd, tf.sub(tf.sub(u, meanU), tf.mul(xhat, meanUXhat)));
  const perChannel = (t: Tensor) => tf.reshape(tf.sum(t, [0, view.spatialAxis]), [-1]);
  return [tf.reshape(dx, shape), perChannel(tf.mul(dy4, xhat)), perChannel(dy4)];
}

/**
 * Instance norm as tfjs users write it by hand: `tf.moments` over the spatial
 * axes and autograd through built-in ops (their gradients must be registered,
 * as tfjs-layers and the umbrella package do). The yardstick of the
 * benchmark and the demo, and the norm of the composite reference models.
 */
export function instanceNormComposite<T extends Tensor>(
  x: T,
  gamma?: Tensor | null,
  beta?: Tensor | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
): T {
  const rank = x.rank;
  const first = dataFormat === 'channelsLast' ? 1 : 2;
  const axes = Array.from({length: rank - 2}, (_, i) => i + first);
  return tf.tidy(() => {
    const {mean, variance} = tf.moments(x, axes, true);
    const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
    const paramShape =
      dataFormat === 'channelsLast' ? [-1] : [-1, ...Array.from({length: rank - 2}, () => 1)];
    return scaleAndShift(y, gamma, beta, paramShape) as T;
  });
}

/**
 * Group norm as tfjs users write it by hand: x reshaped so that each
 * (instance, group) is a slab, `tf.moments` over it, autograd through
 * built-in ops (their gradients must be registered). The yardstick of the
 * group-norm benchmark rows.
 */
export function groupNormComposite<T extends Tensor>(
  x: T,
  groups: number,
  gamma?: Tensor | null,
  beta?: Tensor | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
): T {
  const view = groupView(instanceNormLayout(x.shape, dataFormat), groups);
  return tf.tidy(() => {
    const x4 = tf.reshape(x, view.shape);
    const {mean, variance} = tf.moments(x4, view.reduceAxes, true);
    const y = tf.mul(tf.sub(x4, mean), tf.rsqrt(tf.add(variance, epsilon)));
    return tf.reshape(scaleAndShift(y, gamma, beta, view.channelShape), x.shape) as T;
  });
}

/** y * gamma + beta, each per channel, reshaped to broadcast; absent: skipped. */
function scaleAndShift(
  y: Tensor,
  gamma: Tensor | null | undefined,
  beta: Tensor | null | undefined,
  channelShape: number[],
): Tensor {
  const scaled = gamma ? tf.mul(y, tf.reshape(gamma, channelShape)) : y;
  return beta ? tf.add(scaled, tf.reshape(beta, channelShape)) : scaled;
}
