import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import {Activation, DataFormat, NormAttrs, SELU_ALPHA, SELU_SCALE} from './kernel_names';
import {GroupView, groupView, instanceNormLayout, isPerInstance} from './geometry';

/** Every attribute of the kernels, defaults filled in (the op passes these). */
export type CompleteNormAttrs = Required<NormAttrs>;

/**
 * The two kernels written with built-in ops, for backends that have no fused
 * kernels (tensorflow, ...). Same outputs as the kernels (statistics per
 * (instance, group), `[N, groups]`), same two-pass statistics, every
 * attribute; the gradient is the closed form, so it needs no registered
 * gradients of built-in ops.
 */
export function instanceNormCompositeKernel(
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  attrs: CompleteNormAttrs,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const layout = instanceNormLayout(x.shape, attrs.dataFormat);
    const view = groupView(layout, attrs.groups);
    const {mean, centered} = groupMoments(tf.reshape(x, view.shape), view);
    const variance = tf.mean(tf.square(centered), view.reduceAxes, true);
    const invStd = invStdOf(variance, attrs);
    const z = scaleAndShift(tf.mul(centered, invStd), gamma, beta, view);
    const y = activate(z, attrs.activation, attrs.alpha);
    const statsShape = [layout.batch, attrs.groups];
    return [tf.reshape(y, x.shape), tf.reshape(mean, statsShape), tf.reshape(invStd, statsShape)];
  });
}

export function instanceNormGradCompositeKernel(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  mean: Tensor,
  invStd: Tensor,
  attrs: CompleteNormAttrs,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const view = groupView(instanceNormLayout(x.shape, attrs.dataFormat), attrs.groups);
    const statsShape = view.shape.map((size, axis) => (view.reduceAxes.includes(axis) ? 1 : size));
    const mean4 = tf.reshape(mean, statsShape);
    const invStd4 = tf.reshape(invStd, statsShape);
    // Re-centering xhat removes the rounding of the float32 saved mean (see
    // the cpu kernel).
    const rawXhat = tf.mul(tf.sub(tf.reshape(x, view.shape), mean4), invStd4);
    const xhat = tf.sub(rawXhat, tf.mean(rawXhat, view.reduceAxes, true));
    // 'stddev': k = 1 / sigma with sigma = 1 / invStd - epsilon, 0 where sigma <= 0.
    const k =
      attrs.epsilonMode === 'stddev'
        ? safeReciprocal(tf.sub(tf.reciprocal(invStd4), attrs.epsilon))
        : invStd4;
    return closedFormBackward(dy, x.shape, view, xhat, invStd4, k, gamma, beta, attrs);
  });
}

/**
 * The gradient of `sum(dy * groupNorm(x, gamma, beta, ...))` with respect to
 * x, gamma and beta, built from built-in ops with the statistics recomputed
 * from x, so that it is itself differentiable in dy, x, gamma and beta
 * (through the statistics and the activation's derivative too): the gradient
 * of the fused gradient (second order). Needs the gradients of built-in ops
 * registered.
 */
export function groupNormBackward(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  attrs: CompleteNormAttrs,
): [Tensor, Tensor, Tensor] {
  const view = groupView(instanceNormLayout(x.shape, attrs.dataFormat), attrs.groups);
  const {centered} = groupMoments(tf.reshape(x, view.shape), view);
  const variance = tf.mean(tf.square(centered), view.reduceAxes, true);
  const invStd = invStdOf(variance, attrs);
  // 'stddev': k = 1 / sqrt(variance), 0 for a constant group; the floor keeps
  // the derivative of sqrt finite there.
  const k =
    attrs.epsilonMode === 'stddev'
      ? tf.mul(tf.step(variance), tf.rsqrt(tf.maximum(variance, VARIANCE_FLOOR)))
      : invStd;
  const xhat = tf.mul(centered, invStd);
  return closedFormBackward(dy, x.shape, view, xhat, invStd, k, gamma, beta, attrs);
}

/** Below this, a variance is treated as 0 where its square root is differentiated. */
const VARIANCE_FLOOR = 1e-30;

/**
 * 1 / sqrt(variance + epsilon) ('variance') or 1 / (sqrt(variance) + epsilon)
 * ('stddev'). The square root of 'stddev' is floored so that its derivative
 * stays finite for a constant group (sqrt(1e-30) = 1e-15, far below epsilon).
 */
function invStdOf(variance: Tensor, attrs: CompleteNormAttrs): Tensor {
  return attrs.epsilonMode === 'stddev'
    ? tf.reciprocal(tf.add(tf.sqrt(tf.maximum(variance, VARIANCE_FLOOR)), attrs.epsilon))
    : tf.rsqrt(tf.add(variance, attrs.epsilon));
}

/** 1 / v where v > 0, else 0. */
function safeReciprocal(v: Tensor): Tensor {
  return tf.mul(tf.step(v), tf.reciprocal(tf.maximum(v, VARIANCE_FLOOR)));
}

/**
 * The mean of each (instance, group) of the view and x minus it. Shifting each
 * group by its first value keeps float32 sums small: an offset of 1e4 or a
 * constant group stays exact.
 */
function groupMoments(x4: Tensor, view: GroupView): {mean: Tensor; centered: Tensor} {
  const firstSize = view.shape.map((_, axis) => (view.reduceAxes.includes(axis) ? 1 : -1));
  // tfjs-backend-webgl 4.22 makes a slice that is one contiguous run (one
  // instance) share x's texture; with WEBGL_PACK=false, x minus that shared
  // slice then reads 0. Adding 0 gives the slice its own texture (N * groups values).
  const shift = tf.add(tf.slice(x4, [0, 0, 0, 0], firstSize), 0);
  const shifted = tf.sub(x4, shift);
  const shiftedMean = tf.mean(shifted, view.reduceAxes, true);
  return {mean: tf.add(shift, shiftedMean), centered: tf.sub(shifted, shiftedMean)};
}

/**
 * With dz = dy * act'(z), z = xhat * gamma + beta, u = gamma * dz and means
 * over each (instance, group):
 * dx = invStd * (u - mean(u)) - k * xhat * mean(u * xhat) (k = invStd for
 * 'variance', 1 / sigma for 'stddev'); dgamma and dbeta sum dz * xhat and dz
 * over pixels (and instances, for a `[C]` parameter), in gamma's and beta's
 * shapes (`[C]` when absent).
 */
function closedFormBackward(
  dy: Tensor,
  shape: number[],
  view: GroupView,
  xhat: Tensor,
  invStd: Tensor,
  k: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  attrs: CompleteNormAttrs,
): [Tensor, Tensor, Tensor] {
  const dy4 = tf.reshape(dy, view.shape);
  const dz =
    attrs.activation === 'linear'
      ? dy4
      : tf.mul(
          dy4,
          activationDerivative(
            scaleAndShift(xhat, gamma, beta, view),
            attrs.activation,
            attrs.alpha,
          ),
        );
  const u = gamma ? tf.mul(dz, parameterView(gamma, view)) : dz;
  const meanU = tf.mean(u, view.reduceAxes, true);
  const meanUXhat = tf.mean(tf.mul(u, xhat), view.reduceAxes, true);
  const dx = tf.sub(tf.mul(invStd, tf.sub(u, meanU)), tf.mul(tf.mul(k, xhat), meanUXhat));
  return [
    tf.reshape(dx, shape),
    parameterGradient(tf.mul(dz, xhat), gamma, view),
    parameterGradient(dz, beta, view),
  ];
}

/** A per-(element) gradient summed into the shape of its parameter (`[C]` when absent). */
function parameterGradient(
  perElement: Tensor,
  parameter: Tensor | undefined,
  view: GroupView,
): Tensor {
  if (parameter != null && isPerInstance(parameter.shape)) {
    return tf.reshape(tf.sum(perElement, view.spatialAxis), parameter.shape);
  }
  return tf.reshape(tf.sum(perElement, [0, view.spatialAxis]), [-1]);
}

/** gamma or beta (`[C]` or `[N, C]`) reshaped to broadcast against the view. */
function parameterView(parameter: Tensor, view: GroupView): Tensor {
  if (isPerInstance(parameter.shape)) {
    return tf.reshape(
      parameter,
      view.shape.map((size, axis) => (axis === view.spatialAxis ? 1 : size)),
    );
  }
  return tf.reshape(parameter, view.channelShape);
}

/** z * gamma + beta on the view; absent ones skipped. */
function scaleAndShift(
  z: Tensor,
  gamma: Tensor | null | undefined,
  beta: Tensor | null | undefined,
  view: GroupView,
): Tensor {
  const scaled = gamma ? tf.mul(z, parameterView(gamma, view)) : z;
  return beta ? tf.add(scaled, parameterView(beta, view)) : scaled;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** act(z) with built-in ops (see {@link Activation}). */
export function activate(z: Tensor, activation: Activation, alpha: number): Tensor {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return tf.relu(z);
    case 'relu6':
      return tf.relu6(z);
    case 'leakyRelu':
      return tf.leakyRelu(z, alpha);
    case 'elu':
      return tf.elu(z);
    case 'selu':
      return tf.selu(z);
    case 'sigmoid':
      return tf.sigmoid(z);
    case 'tanh':
      return tf.tanh(z);
    case 'swish':
      return tf.mul(z, tf.sigmoid(z));
    case 'mish':
      return tf.mul(z, tf.tanh(tf.softplus(z)));
    case 'gelu':
      return tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
    case 'gelu_new':
      return tf.mul(tf.mul(z, 0.5), tf.add(1, geluNewTanh(z)));
  }
}

/** tanh(sqrt(2 / pi) * (z + 0.044715 z^3)). */
function geluNewTanh(z: Tensor): Tensor {
  const cubic = tf.mul(tf.mul(tf.square(z), z), GELU_CUBIC);
  return tf.tanh(tf.mul(tf.add(z, cubic), SQRT_2_OVER_PI));
}

/**
 * act'(z) with built-in ops that all have gradients (steps for the kinks, exp
 * of a non-positive argument only), so that it is differentiable once more.
 */
export function activationDerivative(z: Tensor, activation: Activation, alpha: number): Tensor {
  switch (activation) {
    case 'linear':
      return tf.onesLike(z);
    case 'relu':
      return tf.step(z);
    case 'relu6':
      // 1 for 0 < z <= 6.
      return tf.mul(tf.step(z), tf.sub(1, tf.step(tf.sub(z, 6))));
    case 'leakyRelu':
      return tf.step(z, alpha);
    case 'elu':
      return negativeBranch(z, tf.exp(tf.minimum(z, 0)));
    case 'selu':
      return tf.mul(negativeBranch(z, tf.mul(tf.exp(tf.minimum(z, 0)), SELU_ALPHA)), SELU_SCALE);
    case 'sigmoid': {
      const s = tf.sigmoid(z);
      return tf.mul(s, tf.sub(1, s));
    }
    case 'tanh':
      return tf.sub(1, tf.square(tf.tanh(z)));
    case 'swish': {
      const s = tf.sigmoid(z);
      return tf.add(s, tf.mul(tf.mul(z, s), tf.sub(1, s)));
    }
    case 'mish': {
      const t = tf.tanh(tf.softplus(z));
      return tf.add(t, tf.mul(tf.mul(z, tf.sub(1, tf.square(t))), tf.sigmoid(z)));
    }
    case 'gelu': {
      const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return tf.add(cdf, tf.mul(z, pdf));
    }
    case 'gelu_new': {
      const t = geluNewTanh(z);
      const inner = tf.mul(tf.add(1, tf.mul(tf.square(z), 3 * GELU_CUBIC)), SQRT_2_OVER_PI);
      const tail = tf.mul(tf.mul(tf.mul(z, 0.5), tf.sub(1, tf.square(t))), inner);
      return tf.add(tf.mul(tf.add(1, t), 0.5), tail);
    }
  }
}

/** 1 where z > 0, `negative` elsewhere. */
function negativeBranch(z: Tensor, negative: Tensor): Tensor {
  const positive = tf.step(z);
  return tf.add(positive, tf.mul(tf.sub(1, positive), negative));
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
    return channelScaleAndShift(y, gamma, beta, paramShape) as T;
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
    return tf.reshape(channelScaleAndShift(y, gamma, beta, view.channelShape), x.shape) as T;
  });
}

/** y * gamma + beta, each per channel, reshaped to broadcast; absent: skipped. */
function channelScaleAndShift(
  y: Tensor,
  gamma: Tensor | null | undefined,
  beta: Tensor | null | undefined,
  channelShape: number[],
): Tensor {
  const scaled = gamma ? tf.mul(y, tf.reshape(gamma, channelShape)) : y;
  return beta ? tf.add(scaled, tf.reshape(beta, channelShape)) : scaled;
}
