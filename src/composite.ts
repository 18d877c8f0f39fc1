import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

import type {DataFormat} from './kernel_names';
import {instanceNormLayout, threeDShape} from './layout';

/**
 * The two kernels written with built-in ops, for backends that have no fused
 * kernels (tensorflow, ...). Same outputs as the kernels, same
 * two-pass statistics; the gradient is the closed form, so it needs no
 * registered gradients of built-in ops.
 */
export function instanceNormCompositeKernel(
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  epsilon: number,
  dataFormat: DataFormat,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const layout = instanceNormLayout(x.shape, dataFormat);
    const [spatialAxis, x3] = view3d(x, dataFormat);
    // Shifting each (instance, channel) by its first value keeps float32
    // sums small: an offset of 1e4 or a constant channel stays exact.
    const shift =
      spatialAxis === 1
        ? tf.slice(x3, [0, 0, 0], [-1, 1, -1])
        : tf.slice(x3, [0, 0, 0], [-1, -1, 1]);
    const shifted = tf.sub(x3, shift);
    const shiftedMean = tf.mean(shifted, spatialAxis, true);
    const mean = tf.add(shift, shiftedMean);
    const centered = tf.sub(shifted, shiftedMean);
    const variance = tf.mean(tf.square(centered), spatialAxis, true);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    let y = tf.mul(centered, invStd);
    if (gamma) {
      y = tf.mul(y, channelVector(gamma, dataFormat));
    }
    if (beta) {
      y = tf.add(y, channelVector(beta, dataFormat));
    }
    const statsShape = [layout.batch, layout.channels];
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
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const layout = instanceNormLayout(x.shape, dataFormat);
    const [spatialAxis, x3] = view3d(x, dataFormat);
    const dy3 = tf.reshape(dy, x3.shape);
    const statsShape =
      spatialAxis === 1 ? [layout.batch, 1, layout.channels] : [layout.batch, layout.channels, 1];
    const mean3 = tf.reshape(mean, statsShape);
    const invStd3 = tf.reshape(invStd, statsShape);
    // Re-centering xhat removes the rounding of the float32 saved mean (see
    // the cpu kernel).
    const rawXhat = tf.mul(tf.sub(x3, mean3), invStd3);
    const xhat = tf.sub(rawXhat, tf.mean(rawXhat, spatialAxis, true));
    const sumDy = tf.sum(dy3, spatialAxis, true);
    const sumDyXhat = tf.sum(tf.mul(dy3, xhat), spatialAxis, true);
    const correction = tf.div(tf.add(sumDy, tf.mul(xhat, sumDyXhat)), layout.spatial);
    let scale = invStd3;
    if (gamma) {
      scale = tf.mul(scale, channelVector(gamma, dataFormat));
    }
    const dx = tf.mul(scale, tf.sub(dy3, correction));
    const dgamma = tf.reshape(tf.sum(sumDyXhat, [0, spatialAxis]), [layout.channels]);
    const dbeta = tf.reshape(tf.sum(sumDy, [0, spatialAxis]), [layout.channels]);
    return [tf.reshape(dx, x.shape), dgamma, dbeta];
  });
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
  return tf.tidy(() => {
    const rank = x.rank;
    const axes =
      dataFormat === 'channelsLast'
        ? Array.from({length: rank - 2}, (_, i) => i + 1)
        : Array.from({length: rank - 2}, (_, i) => i + 2);
    const {mean, variance} = tf.moments(x, axes, true);
    let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
    const paramShape =
      dataFormat === 'channelsLast' ? [-1] : [-1, ...Array.from({length: rank - 2}, () => 1)];
    if (gamma) {
      y = tf.mul(y, tf.reshape(gamma, paramShape));
    }
    if (beta) {
      y = tf.add(y, tf.reshape(beta, paramShape));
    }
    return y as T;
  });
}

/** x as `[N, S, C]` or `[N, C, S]`, with the index of its spatial axis. */
function view3d(x: Tensor, dataFormat: DataFormat): [number, Tensor] {
  const layout = instanceNormLayout(x.shape, dataFormat);
  return [dataFormat === 'channelsLast' ? 1 : 2, tf.reshape(x, threeDShape(layout))];
}

/** A per-channel vector shaped to broadcast against the 3-D view. */
function channelVector(v: Tensor, dataFormat: DataFormat): Tensor {
  return dataFormat === 'channelsLast' ? v : tf.reshape(v, [-1, 1]);
}
