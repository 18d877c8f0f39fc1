import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {activate, activationDerivative, CompleteNormAttrs, groupNormBackward} from './composite';
import {gpuBackendKind} from './cpu_values';
import {
  checkAttrs,
  checkOptions,
  KernelView,
  normForwardKernel,
  normGradientKernel,
  NormOptions,
  toFloatTensor,
  toParametersOfShape,
  viewedGroupNorm,
} from './instance_norm';
import {hasFusedKernels} from './register';

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
 * rest; axes that are not the trailing ones are transposed there and back;
 * on WebGL, and on WebGPU while a gradient is recorded, the rows as
 * instances of one channel, see rowsAsInstances), or the built-in-op
 * fallback. Differentiable with respect to x, gamma and
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
  const checked = checkOptions(OP, isObject ? normOptions : options);
  return tf.tidy(() => {
    const $x = toFloatTensor(OP, x, 'x');
    if ($x.rank < 1) {
      throw new Error(`${OP}: argument 'x' must be of rank 1 or more, but got a scalar.`);
    }
    const axes = normalizedAxes(axis, $x.rank);
    const parameterShape = axes.map(a => $x.shape[a]);
    const [$gamma, $beta] = toParametersOfShape(
      OP,
      gamma,
      beta,
      parameterShape,
      `of the normalized shape [${parameterShape}] (the sizes of x's axes [${axes}])`,
    );
    const attrs: CompleteNormAttrs = {epsilon, dataFormat: 'channelsLast', groups: 1, ...checked};
    const view = rowView($x.shape, axes);
    const asInstances = rowsAsInstances();
    return (
      asInstances
        ? rowsAsInstancesNorm($x, $gamma, $beta, attrs, view, asInstances.perRowGamma)
        : viewedGroupNorm($x, $gamma, $beta, attrs, view).y
    ) as T;
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

/**
 * Where the rows run as instances (null: as one group, the `[R, D]` view):
 * - WebGL, whose kernels merge a group's statistics once for each of its
 *   channels, so that one group of D channels costs D² per row, while D
 *   pixels of one channel are its fastest case;
 * - WebGPU, whose gradient sums `[C]` parameter gradients by one workgroup
 *   sweeping the instances, each folding its group: R rows of D channels in
 *   sequence. There the gradient kernel gets a per-row gamma of ones and
 *   beta of zeros (`[R, 1]`, layout `[N, C]`), whose gradients each row's
 *   workgroup writes itself: the rows' statistics are its only sums. Where
 *   no tape records the call (inference), WebGPU keeps the `[R, D]` view:
 *   its forward is one dispatch with gamma, beta and the activation inside
 *   (0.17 against 0.034 ms of kernels at 4096x768 on an H200 and an H100).
 */
function rowsAsInstances(): {perRowGamma: boolean} | null {
  if (!hasFusedKernels()) return null;
  switch (gpuBackendKind(tf.backend())?.name) {
    case 'MathBackendWebGL':
      return {perRowGamma: false};
    case 'WebGPUBackend':
      return tf.engine().isTapeOn() ? {perRowGamma: true} : null;
    default:
      return null;
  }
}

/**
 * layerNorm with the rows as instances of one channel, `[R, 1, D]`
 * channelsFirst: the kernels give xhat and the row statistics, and gamma,
 * beta (per element of the row) and the activation apply around them in the
 * same customGrad; the gradient kernel takes `dxhat = act'(z) * dy * gamma`.
 * While a tape records the gradient, it is the group view's built-in-op
 * gradient, as in {@link viewedGroupNorm}.
 */
function rowsAsInstancesNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  attrs: CompleteNormAttrs,
  view: KernelView,
  perRowGamma: boolean,
): Tensor {
  const args = [x, gamma, beta].filter((t): t is Tensor => t != null);
  const {activation, alpha} = attrs;
  const rowAttrs: CompleteNormAttrs = {...attrs, dataFormat: 'channelsFirst', activation: 'linear'};
  const asInstances = (rows: Tensor) => tf.reshape(rows, [rows.shape[0] as number, 1, -1]);
  const parameter = (t: Tensor | undefined) => (t == null ? undefined : tf.reshape(t, [-1]));
  const preActivation = (xhat: Tensor, g?: Tensor, b?: Tensor) => {
    const scaled = g == null ? xhat : tf.mul(xhat, g);
    return b == null ? scaled : tf.add(scaled, b);
  };
  const run = tf.customGrad((...fArgs: unknown[]) => {
    const save = fArgs[args.length] as tf.GradSaveFunc;
    const [$gamma, $beta] = [gamma, beta].map(t =>
      t == null ? undefined : (fArgs[args.indexOf(t)] as Tensor),
    );
    const $x = fArgs[0] as Tensor;
    const rows = view.toKernel($x);
    const [xhat3, mean, invStd] =
      $x.size === 0
        ? [tf.zerosLike(rows), tf.zeros([0]), tf.zeros([0])]
        : normForwardKernel(asInstances(rows), undefined, undefined, rowAttrs);
    const xhat = tf.reshape(xhat3, rows.shape);
    const z = preActivation(xhat, parameter($gamma), parameter($beta));
    save([$x, mean, invStd, xhat, ...($gamma ? [$gamma] : []), ...($beta ? [$beta] : [])]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const [sx, sMean, sInvStd, sXhat] = saved;
      const sGamma = $gamma ? saved[4] : undefined;
      const sBeta = $beta ? saved[$gamma ? 5 : 4] : undefined;
      if (sx.size === 0) return args.map(t => tf.zerosLike(t));
      const [g, b] = [sGamma, sBeta].map(parameter);
      const toShape = (d: Tensor, p: Tensor) => tf.reshape(d, p.shape);
      let dx: Tensor;
      let dgamma: Tensor | undefined;
      let dbeta: Tensor | undefined;
      if (tf.engine().isTapeOn()) {
        [dx, dgamma, dbeta] = groupNormBackward(view.toKernel(dy), view.toKernel(sx), g, b, attrs);
      } else {
        const dyRows = view.toKernel(dy);
        const dz =
          activation === 'linear'
            ? dyRows
            : tf.mul(dyRows, activationDerivative(preActivation(sXhat, g, b), activation, alpha));
        // Sums over the rows as a matMul with ones: tf.sum over axis 0
        // transposes first (139 ms against 25 ms for [256, 384] on
        // SwiftShader's WebGPU). The same ones are WebGPU's per-row gamma.
        const ones = tf.ones([dyRows.shape[0] as number, 1]);
        const rowSum = (t: Tensor) => tf.reshape(tf.matMul(ones, t, true, false), [-1]);
        dgamma = sGamma ? rowSum(tf.mul(dz, sXhat)) : undefined;
        dbeta = sBeta ? rowSum(dz) : undefined;
        const dxhat = g == null ? dz : tf.mul(dz, g);
        const [dx3, unusedDgamma, unusedDbeta] = normGradientKernel(
          asInstances(dxhat),
          asInstances(view.toKernel(sx)),
          perRowGamma ? ones : undefined,
          perRowGamma ? tf.zerosLike(ones) : undefined,
          sMean,
          sInvStd,
          rowAttrs,
        );
        tf.dispose([unusedDgamma, unusedDbeta]);
        dx = tf.reshape(dx3, dyRows.shape);
      }
      return [
        view.fromKernel(dx),
        ...(sGamma && dgamma ? [toShape(dgamma, sGamma)] : []),
        ...(sBeta && dbeta ? [toShape(dbeta, sBeta)] : []),
      ];
    };
    return {value: view.fromKernel(activate(z, activation, alpha)), gradFunc};
  });
  return run(...args);
}
