import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import type {CompleteNormAttrs} from './composite';
import {
  checkAttrs,
  checkOptions,
  KernelView,
  NormOptions,
  toFloatTensor,
  viewedGroupNorm,
} from './instance_norm';
import type {DataFormat, EpsilonMode} from './kernel_names';

const OP = 'batchNormTraining';

/** What {@link batchNormTraining} returns. */
export interface BatchNormResult<T extends Tensor = Tensor> {
  /** The normalized x (then scaled, shifted and activated), of the shape of x. */
  y: T;
  /** The batch mean per channel, `[C]`. Carries no gradient. */
  mean: Tensor;
  /**
   * The biased batch variance per channel (divided by the N * spatial count,
   * as `tf.moments` and tfjs-layers' BatchNormalization compute it), `[C]`.
   * Carries no gradient.
   */
  variance: Tensor;
}

/**
 * Batch normalization in training mode (the batch's own statistics), as
 * tfjs-layers' BatchNormalization, Keras' and PyTorch's
 * `F.batch_norm(training=True)` compute it: for every channel c,
 * `y = act((x - mean[c]) / sqrt(variance[c] + epsilon) * gamma[c] + beta[c])`,
 * with the mean and the biased variance taken over the batch and the spatial
 * axes. Returns y and the batch mean and variance (for moving averages).
 *
 * Runs the fused `InstanceNorm` / `InstanceNormGrad` kernels on the batch
 * seen as one instance (`[1, N * spatial, C]`; channelsFirst is transposed to
 * that and back), or the built-in-op fallback. y is differentiable with
 * respect to x, gamma and beta, once and twice (see {@link groupNorm}); mean
 * and variance carry no gradient (they are statistics for the moving
 * averages, computed outside the tape).
 *
 * @param x float32 tensor of rank 2 to 5: `[N, C]`, `[N, ...spatial, C]`
 *     ('channelsLast') or `[N, C, ...spatial]` ('channelsFirst').
 * @param gamma scale `[C]`; null or undefined means 1.
 * @param beta offset `[C]`; null or undefined means 0.
 * @param epsilon added to the variance (or the standard deviation, with
 *     `epsilonMode: 'stddev'`); a positive finite number. Default 1e-5
 *     (PyTorch's; Keras' layer uses 1e-3).
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst'.
 * @param options the fused activation (`activation`, `alpha`) and
 *     `epsilonMode`; see {@link NormOptions}.
 */
export function batchNormTraining<T extends Tensor>(
  x: T | TensorLike,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
  options: NormOptions = {},
): BatchNormResult<T> {
  checkAttrs(OP, epsilon, dataFormat);
  const {activation, alpha, epsilonMode} = checkOptions(OP, options);
  return tf.tidy(() => {
    const $x = toFloatTensor(OP, x, 'x');
    if ($x.rank < 2 || $x.rank > 5) {
      throw new Error(
        `${OP}: argument 'x' must be of rank 2, 3, 4 or 5 ([N, C], [N, ...spatial, C] or ` +
          `[N, C, ...spatial]), but got rank ${$x.rank} with shape [${$x.shape}].`,
      );
    }
    const channels = $x.shape[dataFormat === 'channelsLast' ? $x.rank - 1 : 1];
    const [$gamma, $beta] = (
      [
        [gamma, 'gamma'],
        [beta, 'beta'],
      ] as const
    ).map(([value, name]) => {
      if (value == null) return null;
      const tensor = toFloatTensor(OP, value, name);
      if (tensor.rank !== 1 || tensor.shape[0] !== channels) {
        throw new Error(
          `${OP}: argument '${name}' must be of shape [C] = [${channels}] (C the channel axis ` +
            `of x in ${dataFormat}), but got shape [${tensor.shape}].`,
        );
      }
      return tensor;
    });
    const attrs: CompleteNormAttrs = {
      epsilon,
      dataFormat: 'channelsLast',
      groups: channels,
      epsilonMode,
      activation,
      alpha,
    };
    const view = batchView($x.shape, dataFormat, epsilon, epsilonMode);
    const {y, statistics} = viewedGroupNorm($x, $gamma, $beta, attrs, view);
    return {y: y as T, mean: statistics[0], variance: statistics[1]};
  });
}

/**
 * The batch as one instance: `[N, ...spatial, C]` is `[1, N * spatial, C]`
 * (a reshape); `[N, C, ...spatial]` is transposed to `[N, ...spatial, C]` first.
 */
function batchView(
  shape: readonly number[],
  dataFormat: DataFormat,
  epsilon: number,
  epsilonMode: EpsilonMode,
): KernelView {
  const rank = shape.length;
  const channelsFirst = dataFormat === 'channelsFirst' && rank > 2;
  const channels = shape[channelsFirst ? 1 : rank - 1];
  const lastShape = channelsFirst ? [shape[0], ...shape.slice(2), channels] : [...shape];
  const toLast = [0, ...Array.from({length: rank - 2}, (_, i) => i + 2), 1];
  const toFirst = [0, rank - 1, ...Array.from({length: rank - 2}, (_, i) => i + 1)];
  const kernelShape = [1, shape.reduce((a, b) => a * b, 1) / Math.max(channels, 1), channels];
  return {
    reshapeOnly: !channelsFirst,
    toKernel: t => tf.reshape(channelsFirst ? tf.transpose(t, toLast) : t, kernelShape),
    fromKernel: t => {
      const last = tf.reshape(t, lastShape);
      return channelsFirst ? tf.transpose(last, toFirst) : last;
    },
    statistics: (mean, invStd) => {
      if (mean.size === 0) {
        const empty = tf.fill([channels], NaN);
        return [empty, tf.clone(empty)];
      }
      // invStd = 1 / sqrt(variance + epsilon), or 1 / (sqrt(variance) + epsilon).
      const variance =
        epsilonMode === 'variance'
          ? tf.sub(tf.reciprocal(tf.square(invStd)), epsilon)
          : tf.square(tf.relu(tf.sub(tf.reciprocal(invStd), epsilon)));
      return [tf.reshape(mean, [channels]), tf.reshape(tf.relu(variance), [channels])];
    },
  };
}
