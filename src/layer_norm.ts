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

const OP = 'layerNorm';

/** The options of {@link layerNorm}: those of the other ops, and the normalized axes. */
export type LayerNormOptions = NormOptions & {
  /**
   * The axis or axes normalized together, as Keras' and tfjs-layers'
   * LayerNormalization `axis`: an integer or a list of distinct integers in
   * [-rank, rank), negative counting from the end. Default -1 (the last axis).
   */
  axis?: number | number[];
};

/**
 * Layer normalization (Ba et al., 2016; tfjs-layers' and Keras'
 * LayerNormalization, PyTorch's `nn.LayerNorm`): every slice of x over the
 * normalized axes (by default the last one) is normalized with its own mean
 * and biased variance,
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma + beta)`, where
 * gamma and beta have the normalized shape and apply per element of it.
 *
 * Runs the fused `InstanceNorm` / `InstanceNormGrad` kernels as group norm
 * with one group on `[R, D]` rows (D the size of the normalized axes, R the
 * rest; axes that are not the trailing ones are transposed there and back),
 * or the built-in-op fallback. Differentiable with respect to x, gamma and
 * beta, once and twice (see {@link groupNorm}).
 *
 * @param x float32 tensor of rank 1 or more.
 * @param gamma scale of the normalized shape, `axis.map(a => x.shape[a])` in
 *     the order `axis` lists them (its elements apply in row-major order over
 *     the normalized axes in ascending order, as tfjs-layers reads them); null
 *     or undefined means 1. Its gradient has its shape.
 * @param beta offset of the same shape; null or undefined means 0.
 * @param epsilon added to the variance (or the standard deviation, with
 *     `epsilonMode: 'stddev'`); a positive finite number. Default 1e-5
 *     (PyTorch's; Keras' layer uses 1e-3).
 * @param options `axis`, the fused activation (`activation`, `alpha`) and
 *     `epsilonMode`; see {@link LayerNormOptions}.
 * @returns y, of the shape of x.
 */
export function layerNorm<T extends Tensor>(
  x: T | TensorLike,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  options: LayerNormOptions = {},
): T {
  checkAttrs(OP, epsilon, 'channelsLast');
  // 'axis' is this op's own key; checkOptions checks the others.
  const isObject = typeof options === 'object' && options != null && !Array.isArray(options);
  const {axis = -1, ...normOptions} = isObject ? options : {};
  const {activation, alpha, epsilonMode} = checkOptions(OP, isObject ? normOptions : options);
  return tf.tidy(() => {
    const $x = toFloatTensor(OP, x, 'x');
    if ($x.rank < 1) {
      throw new Error(`${OP}: argument 'x' must be of rank 1 or more, but got a scalar.`);
    }
    const axes = normalizedAxes(axis, $x.rank);
    const parameterShape = axes.map(a => $x.shape[a]);
    const [$gamma, $beta] = (
      [
        [gamma, 'gamma'],
        [beta, 'beta'],
      ] as const
    ).map(([value, name]) => {
      if (value == null) return null;
      const tensor = toFloatTensor(OP, value, name);
      if (!tf.util.arraysEqual(tensor.shape, parameterShape)) {
        throw new Error(
          `${OP}: argument '${name}' must be of the normalized shape [${parameterShape}] ` +
            `(the sizes of x's axes [${axes}]), but got shape [${tensor.shape}].`,
        );
      }
      return tensor;
    });
    const attrs: CompleteNormAttrs = {
      epsilon,
      dataFormat: 'channelsLast',
      groups: 1,
      epsilonMode,
      activation,
      alpha,
    };
    return viewedGroupNorm($x, $gamma, $beta, attrs, rowView($x.shape, axes)).y as T;
  });
}

/** The axes option checked: distinct non-negative axes. */
function normalizedAxes(axis: unknown, rank: number): number[] {
  const list = Array.isArray(axis) ? (axis as unknown[]) : [axis];
  const valid =
    list.length > 0 &&
    list.every(a => typeof a === 'number' && Number.isInteger(a) && a >= -rank && a < rank);
  const axes = valid ? (list as number[]).map(a => (a < 0 ? a + rank : a)) : [];
  if (!valid || new Set(axes).size !== axes.length) {
    throw new Error(
      `${OP}: option 'axis' must be an integer or a non-empty list of distinct integers in ` +
        `[${-rank}, ${rank}) (x has rank ${rank}), but got ${JSON.stringify(axis)}.`,
    );
  }
  return axes;
}

/**
 * x as `[R, D]` rows: the normalized axes (ascending) last and flattened to D,
 * the others (in order) flattened to R. Trailing axes need only a reshape.
 */
function rowView(shape: readonly number[], axes: number[]): KernelView {
  const normalized = [...axes].sort((a, b) => a - b);
  const others = shape.map((_, i) => i).filter(i => !normalized.includes(i));
  const order = [...others, ...normalized];
  const trailing = order.every((a, i) => a === i);
  const inverse = order.map((_, i) => order.indexOf(i));
  const orderedShape = order.map(a => shape[a]);
  const size = (dims: number[]) => dims.reduce((p, a) => p * shape[a], 1);
  const rowsShape = [size(others), size(normalized)];
  return {
    reshapeOnly: trailing,
    toKernel: t => tf.reshape(trailing ? t : tf.transpose(t, order), rowsShape),
    fromKernel: t => {
      const ordered = tf.reshape(t, trailing ? [...shape] : orderedShape);
      return trailing ? ordered : tf.transpose(ordered, inverse);
    },
  };
}
