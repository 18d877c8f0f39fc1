import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {CompleteNormAttrs, groupNormBackward, instanceNormCompositeKernel} from './composite';
import {checkAttrs, normForwardKernel, normGradientKernel, toFloatTensor} from './instance_norm';
import {instanceNormLayout} from './geometry';
import {DataFormat, LEAKY_RELU_ALPHA} from './kernel_names';

const OP = 'adaptiveInstanceNorm';

/**
 * Adaptive instance normalization (AdaIN, Huang and Belongie 2017): the
 * content instance-normalized, then scaled by the style's per-(instance,
 * channel) `sqrt(variance + epsilon)` and shifted by its mean:
 * `y = (content - mean_c) / sqrt(var_c + epsilon) * sqrt(var_s + epsilon) + mean_s`.
 *
 * The style's statistics come from the fused `InstanceNorm` kernel of the
 * active backend (its mean and invStd outputs), the normalization of the
 * content from the same kernel with `[N, C]` gamma and beta; on a backend
 * without the kernels, from built-in ops. Differentiable with respect to both
 * content and style, twice too (as groupNorm): the style's gradient flows
 * through its mean (d mean / d style = 1 / M) and standard deviation
 * (d std / d style = xhat_style / M), M its pixels.
 *
 * @param content float32 tensor of rank 3, 4 or 5, as for instanceNorm.
 * @param style float32 tensor of rank 3, 4 or 5 with the same N and C as
 *     content; its spatial size may differ.
 * @param epsilon added to both variances; a positive finite number.
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst', of both.
 * @returns y, of the shape of content.
 */
export function adaptiveInstanceNorm<T extends Tensor>(
  content: T | TensorLike,
  style: Tensor | TensorLike,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
): T {
  checkAttrs(OP, epsilon, dataFormat);
  return tf.tidy(() => {
    const $content = toFloatTensor(OP, content, 'content');
    const $style = toFloatTensor(OP, style, 'style');
    checkRank($content, 'content');
    checkRank($style, 'style');
    const contentLayout = instanceNormLayout($content.shape, dataFormat);
    const styleLayout = instanceNormLayout($style.shape, dataFormat);
    if (
      styleLayout.batch !== contentLayout.batch ||
      styleLayout.channels !== contentLayout.channels
    ) {
      throw new Error(
        `${OP}: argument 'style' must have the N and C of content (N = ` +
          `${contentLayout.batch}, C = ${contentLayout.channels} in ${dataFormat}), but got ` +
          `shape [${$style.shape}].`,
      );
    }
    const attrs: CompleteNormAttrs = {
      epsilon,
      dataFormat,
      groups: contentLayout.channels,
      epsilonMode: 'variance',
      activation: 'linear',
      alpha: LEAKY_RELU_ALPHA,
    };
    if ($content.size === 0) {
      return emptyAdaIN($content, $style) as T;
    }
    if ($style.size === 0) {
      throw new Error(
        `${OP}: argument 'style' must have at least one pixel, but got shape [${$style.shape}].`,
      );
    }
    return fusedAdaIN($content, $style, attrs) as T;
  });
}

function checkRank(x: Tensor, name: string): void {
  if (x.rank < 3 || x.rank > 5) {
    throw new Error(
      `${OP}: argument '${name}' must be of rank 3, 4 or 5 ([N, ...spatial, C] or ` +
        `[N, C, ...spatial]), but got rank ${x.rank} with shape [${x.shape}].`,
    );
  }
}

/** An empty content: y is empty, both gradients zeros. */
function emptyAdaIN(content: Tensor, style: Tensor): Tensor {
  const run = tf.customGrad((...args: unknown[]) => ({
    value: tf.zerosLike(args[0] as Tensor),
    gradFunc: () => [tf.zerosLike(content), tf.zerosLike(style)],
  }));
  return run(content, style);
}

/**
 * One differentiable op: the style's statistics, the content normalized with
 * them as `[N, C]` gamma (the style's sqrt(var + eps)) and beta (its mean);
 * the gradient kernel gives d content, d gamma and d beta, and the style's
 * gradient follows from those by the forward kernel (fusedStyleGradient).
 */
function fusedAdaIN(content: Tensor, style: Tensor, attrs: CompleteNormAttrs): Tensor {
  const run = tf.customGrad((...args: unknown[]) => {
    const [c, s] = args as Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    const [styleY, styleMean, styleInvStd] = normForwardKernel(s, undefined, undefined, attrs);
    styleY.dispose();
    const gamma = tf.reciprocal(styleInvStd);
    const [y, mean, invStd] = normForwardKernel(c, gamma, styleMean, attrs);
    save([c, s, mean, invStd, gamma, styleMean]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const [sc, ss, sMean, sInvStd, sGamma, sStyleMean] = saved;
      if (tf.engine().isTapeOn()) {
        return differentiableGradient(dy, sc, ss, attrs);
      }
      const [dcontent, dgamma, dbeta] = normGradientKernel(
        dy,
        sc,
        sGamma,
        sStyleMean,
        sMean,
        sInvStd,
        attrs,
      );
      const dstyle = fusedStyleGradient(ss, dgamma, dbeta, attrs);
      tf.dispose([dgamma, dbeta]);
      return [dcontent, dstyle];
    };
    return {value: y, gradFunc};
  });
  return run(content, style);
}

/**
 * The gradient while a tape records it (second order): built from built-in
 * ops with the statistics of both inputs recomputed, so that the tape
 * differentiates it through them too.
 */
function differentiableGradient(
  dy: Tensor,
  content: Tensor,
  style: Tensor,
  attrs: CompleteNormAttrs,
): Tensor[] {
  const [styleY, styleMean, styleInvStd] = instanceNormCompositeKernel(
    style,
    undefined,
    undefined,
    attrs,
  );
  styleY.dispose();
  const gamma = tf.reciprocal(styleInvStd);
  const [dcontent, dgamma, dbeta] = groupNormBackward(dy, content, gamma, styleMean, attrs);
  const dstyle = styleGradient(style, styleMean, styleInvStd, dgamma, dbeta, attrs.dataFormat);
  return [dcontent, dstyle];
}

/**
 * {@link styleGradient} by the forward kernel: `(dbeta + dgamma * xhat_style)
 * / M` is the style normalized again (its statistics recomputed, the same
 * values) with `[N, C]` gamma dgamma / M and beta dbeta / M. One kernel over
 * the style instead of five elementwise ops.
 */
function fusedStyleGradient(
  style: Tensor,
  dgamma: Tensor,
  dbeta: Tensor,
  attrs: CompleteNormAttrs,
): Tensor {
  return tf.tidy(() => {
    const pixels = instanceNormLayout(style.shape, attrs.dataFormat).spatial;
    const [dstyle] = normForwardKernel(style, tf.div(dgamma, pixels), tf.div(dbeta, pixels), attrs);
    return dstyle;
  });
}

/**
 * d style from the gradients of its per-(n, c) std (dgamma) and mean
 * (dbeta): `(dbeta + dgamma * xhat_style) / M`, xhat_style = (style - mean) *
 * invStd, M the style's pixels.
 */
function styleGradient(
  style: Tensor,
  mean: Tensor,
  invStd: Tensor,
  dgamma: Tensor,
  dbeta: Tensor,
  dataFormat: DataFormat,
): Tensor {
  return tf.tidy(() => {
    const layout = instanceNormLayout(style.shape, dataFormat);
    const ones = new Array<number>(style.rank - 2).fill(1);
    const perInstance =
      dataFormat === 'channelsLast'
        ? [layout.batch, ...ones, layout.channels]
        : [layout.batch, layout.channels, ...ones];
    const broadcast = (t: Tensor) => tf.reshape(t, perInstance);
    const xhat = tf.mul(tf.sub(style, broadcast(mean)), broadcast(invStd));
    const sum = tf.add(broadcast(dbeta), tf.mul(broadcast(dgamma), xhat));
    return tf.div(sum, layout.spatial);
  });
}
