import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {
  CompleteNormAttrs,
  groupNormBackward,
  instanceNormCompositeKernel,
  instanceNormGradCompositeKernel,
} from './composite';
import {isPerInstance} from './geometry';
import {
  ACTIVATIONS,
  Activation,
  DataFormat,
  EpsilonMode,
  InstanceNorm,
  InstanceNormGrad,
  LEAKY_RELU_ALPHA,
} from './kernel_names';

/**
 * The options of {@link instanceNorm} and {@link groupNorm}: what is fused
 * into the normalization besides gamma and beta.
 */
export interface NormOptions {
  /**
   * Applied to `z = xhat * gamma + beta` in the same kernels, forward and
   * gradient: 'linear' (the default), 'relu', 'relu6', 'leakyRelu', 'elu',
   * 'selu', 'sigmoid', 'tanh', 'swish' (SiLU), 'mish', 'gelu' (erf form, as
   * tfjs-layers) or 'gelu_new' (tanh form). See {@link Activation}.
   */
  activation?: Activation;
  /** leakyRelu's slope for z < 0 (default 0.2, as tf.leakyRelu); a finite number. */
  alpha?: number;
  /**
   * Where epsilon goes: 'variance' (the default; Keras, TF Addons, PyTorch),
   * `(x - mean) / sqrt(variance + epsilon)`, or 'stddev' (keras-contrib),
   * `(x - mean) / (sqrt(variance) + epsilon)`.
   */
  epsilonMode?: EpsilonMode;
}

const OPTION_KEYS = ['activation', 'alpha', 'epsilonMode'];
const EPSILON_MODES: readonly EpsilonMode[] = ['variance', 'stddev'];

type OpName = 'instanceNorm' | 'groupNorm';

/**
 * Instance normalization: for every instance n and channel c,
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma[c] + beta[c])`,
 * with the mean and the biased variance taken over the spatial axes of
 * (n, c); `act` is the option `activation` (default linear, none), and
 * gamma and beta may be per instance (`[N, C]`: conditional instance norm,
 * AdaIN, scale-shift).
 *
 * Runs the fused `InstanceNorm` kernel of the active backend (cpu, webgl,
 * webgpu, wasm) and, for the gradient, the fused `InstanceNormGrad` kernel; on a
 * backend without them (tensorflow, ...) it computes the same numbers
 * and gradients with built-in ops. Differentiable with `tf.grads`,
 * `tf.variableGrads` and `optimizer.minimize` with respect to x, gamma and
 * beta, twice too (gradient penalties; see {@link groupNorm}).
 *
 * @param x float32 tensor of rank 3, 4 or 5: `[N, ...spatial, C]` for
 *     'channelsLast', `[N, C, ...spatial]` for 'channelsFirst'.
 * @param gamma scale: `[C]` (per channel) or `[N, C]` (per instance and
 *     channel); null or undefined means 1. Its gradient has its shape.
 * @param beta offset: `[C]` or `[N, C]`, independently of gamma; null or
 *     undefined means 0.
 * @param epsilon added to the variance (or, with `epsilonMode: 'stddev'`, to
 *     the standard deviation); a positive finite number.
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst'.
 * @param options the fused activation (`activation`, `alpha`) and
 *     `epsilonMode`; see {@link NormOptions}.
 * @returns y, of the shape of x.
 */
export function instanceNorm<T extends Tensor>(
  x: T | TensorLike,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
  options: NormOptions = {},
): T {
  return normalize('instanceNorm', x, null, gamma, beta, epsilon, dataFormat, options);
}

/**
 * Group normalization (Wu and He, 2018; PyTorch's `nn.GroupNorm`, Keras'
 * `GroupNormalization`): the C channels are split into `groups` groups of
 * C / groups consecutive channels (channel c is in group
 * floor(c / (C / groups))), and for every instance n and group g,
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma[c] + beta[c])`, with
 * the mean and the biased variance taken over the spatial axes and the
 * channels of (n, g), and `act` the option `activation` (GroupNorm + SiLU is
 * `{activation: 'swish'}`). `groups` = C is {@link instanceNorm}; `groups` = 1 normalizes each
 * instance over all its features (layer norm with per-channel gamma/beta).
 *
 * Runs the same fused kernels as instanceNorm (attribute `groups`), or the
 * built-in-op fallback. Differentiable once and twice with respect to x, gamma
 * and beta: when a gradient is itself being recorded (`tf.grad` inside
 * `tf.grad`, e.g. a WGAN-GP or R1 gradient penalty), the first-order gradient
 * is built from built-in ops, whose gradients must then be registered
 * (`@tensorflow/tfjs` and `@tensorflow/tfjs-layers` do; with tfjs-core alone
 * import `@tensorflow/tfjs-core/dist/register_all_gradients`).
 *
 * @param x float32 tensor of rank 2 to 5: as for instanceNorm, or `[N, C]`
 *     features (rank 2: each group's C / groups features are its only axis,
 *     as Keras' and PyTorch's GroupNorm accept).
 * @param groups number of groups: a positive integer that divides C.
 * @param gamma scale: `[C]` or `[N, C]`; null or undefined means 1.
 * @param beta offset: `[C]` or `[N, C]`; null or undefined means 0.
 * @param epsilon added to the variance (or the standard deviation, with
 *     `epsilonMode: 'stddev'`); a positive finite number.
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst'.
 * @param options the fused activation (`activation`, `alpha`) and
 *     `epsilonMode`; see {@link NormOptions}.
 * @returns y, of the shape of x.
 */
export function groupNorm<T extends Tensor>(
  x: T | TensorLike,
  groups: number,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
  options: NormOptions = {},
): T {
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `groupNorm: argument 'groups' must be a positive integer that divides the ` +
        `number of channels C, but got ${String(groups)}.`,
    );
  }
  return normalize('groupNorm', x, groups, gamma, beta, epsilon, dataFormat, options);
}

/** Both ops: checks the arguments, then runs the differentiable op. */
function normalize<T extends Tensor>(
  op: OpName,
  x: T | TensorLike,
  groups: number | null,
  gamma: Tensor | TensorLike | null | undefined,
  beta: Tensor | TensorLike | null | undefined,
  epsilon: number,
  dataFormat: DataFormat,
  options: NormOptions,
): T {
  checkAttrs(op, epsilon, dataFormat);
  const {activation, alpha, epsilonMode} = checkOptions(op, options);
  // Converted TensorLikes are the only tensors created before the kernel
  // runs; tidy disposes them if a check throws, and keeps only y.
  return tf.tidy(() => {
    const $x = toFloatTensor(op, x, 'x');
    const minRank = op === 'groupNorm' ? 2 : 3;
    if ($x.rank < minRank || $x.rank > 5) {
      const shapes =
        op === 'groupNorm'
          ? '[N, C], [N, ...spatial, C] or [N, C, ...spatial]'
          : '[N, ...spatial, C] or [N, C, ...spatial]';
      throw new Error(
        `${op}: argument 'x' must be of rank ${minRank === 2 ? '2, ' : ''}3, 4 or 5 ` +
          `(${shapes}), but got rank ${$x.rank} with shape [${$x.shape}].`,
      );
    }
    const channels = (
      dataFormat === 'channelsLast' ? $x.shape[$x.rank - 1] : $x.shape[1]
    ) as number;
    if (groups != null && channels % groups !== 0) {
      throw new Error(
        `${op}: argument 'groups' must divide C = ${channels} (the channel axis of x ` +
          `in ${dataFormat}), but got ${groups}.`,
      );
    }
    const $gamma = gamma == null ? null : toFloatTensor(op, gamma, 'gamma');
    const $beta = beta == null ? null : toFloatTensor(op, beta, 'beta');
    const batch = $x.shape[0];
    checkParameter(op, $gamma, 'gamma', batch, channels, dataFormat);
    checkParameter(op, $beta, 'beta', batch, channels, dataFormat);
    const attrs: CompleteNormAttrs = {
      epsilon,
      dataFormat,
      groups: groups ?? channels,
      epsilonMode,
      activation,
      alpha,
    };
    return fusedGroupNorm($x, $gamma, $beta, attrs) as T;
  });
}

export function checkAttrs(op: string, epsilon: unknown, dataFormat: unknown): void {
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    throw new Error(
      `${op}: argument 'epsilon' must be a positive finite number, but got ${String(epsilon)}.`,
    );
  }
  if (dataFormat !== 'channelsLast' && dataFormat !== 'channelsFirst') {
    throw new Error(
      `${op}: argument 'dataFormat' must be 'channelsLast' or 'channelsFirst', ` +
        `but got ${JSON.stringify(dataFormat)}.`,
    );
  }
}

/** The options checked, defaults filled in. */
export function checkOptions(
  op: string,
  options: unknown,
): {activation: Activation; alpha: number; epsilonMode: EpsilonMode} {
  if (options == null) {
    options = {};
  }
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new Error(
      `${op}: argument 'options' must be an object with the keys ${OPTION_KEYS.join(', ')}, ` +
        `but got ${String(options)}.`,
    );
  }
  const given = options as Record<string, unknown>;
  const unknown = Object.keys(given).filter(key => !OPTION_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new Error(
      `${op}: argument 'options' has the unknown key '${unknown[0]}'; the valid keys are ` +
        `${OPTION_KEYS.join(', ')}.`,
    );
  }
  const {activation = 'linear', alpha = LEAKY_RELU_ALPHA, epsilonMode = 'variance'} = given;
  if (!ACTIVATIONS.includes(activation as Activation)) {
    throw new Error(
      `${op}: option 'activation' must be one of ${ACTIVATIONS.map(a => `'${a}'`).join(', ')}, ` +
        `but got ${JSON.stringify(activation)}.`,
    );
  }
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) {
    throw new Error(
      `${op}: option 'alpha' (leakyRelu's slope) must be a finite number, but got ` +
        `${String(alpha)}.`,
    );
  }
  if (!EPSILON_MODES.includes(epsilonMode as EpsilonMode)) {
    throw new Error(
      `${op}: option 'epsilonMode' must be one of ` +
        `${EPSILON_MODES.map(m => `'${m}'`).join(', ')}, but got ${JSON.stringify(epsilonMode)}.`,
    );
  }
  return {
    activation: activation as Activation,
    alpha,
    epsilonMode: epsilonMode as EpsilonMode,
  };
}

export function toFloatTensor(op: string, value: Tensor | TensorLike, name: string): Tensor {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) {
      throw new Error(`${op}: argument '${name}' is a disposed tensor.`);
    }
    if (value.dtype !== 'float32') {
      throw new Error(
        `${op}: argument '${name}' must be a float32 tensor, but got dtype ${value.dtype}.`,
      );
    }
    return value;
  }
  const flat = Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value];
  if (!flat.every(v => typeof v === 'number') && !ArrayBuffer.isView(value)) {
    throw new Error(`${op}: argument '${name}' must be a float32 Tensor or a numeric TensorLike.`);
  }
  return tf.tensor(value as TensorLike, undefined, 'float32');
}

/** gamma or beta: `[C]` or `[N, C]`. */
function checkParameter(
  op: OpName,
  value: Tensor | null,
  name: string,
  batch: number,
  channels: number,
  dataFormat: DataFormat,
): void {
  if (value == null) {
    return;
  }
  const perChannel = value.rank === 1 && value.shape[0] === channels;
  const perInstance =
    isPerInstance(value.shape) && value.shape[0] === batch && value.shape[1] === channels;
  if (!perChannel && !perInstance) {
    throw new Error(
      `${op}: argument '${name}' must be of shape [C] = [${channels}] or [N, C] = ` +
        `[${batch}, ${channels}] (N the batch of x, C its channel axis in ${dataFormat}), ` +
        `but got shape [${value.shape}].`,
    );
  }
}

function hasFusedKernels(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(InstanceNorm, backend) != null && tf.getKernel(InstanceNormGrad, backend) != null
  );
}

/**
 * The differentiable op on validated tensors. gamma and beta, when absent, are
 * neither passed to the kernels nor given a gradient; present, each gets a
 * gradient of its own shape.
 */
function fusedGroupNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  attrs: CompleteNormAttrs,
): Tensor {
  return viewedGroupNorm(x, gamma, beta, attrs, null).y;
}

/**
 * How an op built on the kernels (batch norm, layer norm) shows its tensors
 * to them. The view's functions run inside the op's `tf.customGrad`, forward
 * and gradient, so no gradient of Reshape or Transpose is needed.
 */
export interface KernelView {
  /** x or dy, in the op's shape, as the kernels' x (a reshape, or a transpose and a reshape). */
  toKernel(t: Tensor): Tensor;
  /** The kernels' y or dx back in the op's shape. */
  fromKernel(t: Tensor): Tensor;
  /**
   * Whether toKernel is a reshape only (free): the gradient then views the
   * saved x again rather than saving the kernels' x too.
   */
  reshapeOnly: boolean;
  /**
   * The statistics the op returns besides y, from the forward kernel's mean
   * and invStd (computed where no tape records them: they carry no gradient).
   */
  statistics?(mean: Tensor, invStd: Tensor): Tensor[];
}

/**
 * {@link fusedGroupNorm} through a view (null: none). With a view, gamma and
 * beta, of any shape, are flattened to the kernels' per-channel `[C]`, and
 * their gradients reshaped back. Returns y and the view's statistics
 * (ordinary tensors of the caller's scope).
 */
export function viewedGroupNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  attrs: CompleteNormAttrs,
  view: KernelView | null,
): {y: Tensor; statistics: Tensor[]} {
  const args = [x, gamma, beta].filter((t): t is Tensor => t != null);
  const toKernel = (t: Tensor) => (view == null ? t : view.toKernel(t));
  const fromKernel = (t: Tensor) => (view == null ? t : view.fromKernel(t));
  const toKernelParameter = (t: Tensor | undefined) =>
    t == null || view == null ? t : tf.reshape(t, [-1]);
  let keptStatistics: Tensor[] = [];
  const run = tf.customGrad((...fArgs: unknown[]) => {
    const save = fArgs[args.length] as tf.GradSaveFunc;
    const [$gamma, $beta] = [gamma, beta].map(t =>
      t == null ? undefined : (fArgs[args.indexOf(t)] as Tensor),
    );
    const $x = fArgs[0] as Tensor;
    const kernelX = toKernel($x);
    const [y, mean, invStd] =
      $x.size === 0
        ? [tf.zerosLike(kernelX), tf.zeros([0]), tf.zeros([0])]
        : normForwardKernel(kernelX, toKernelParameter($gamma), toKernelParameter($beta), attrs);
    // Kept to leave the forward's scope; handed to the caller's scope below.
    keptStatistics = (view?.statistics?.(mean, invStd) ?? []).map(t => tf.keep(t));
    // The kernels' x is saved only where making it costs a pass (a transpose).
    const savesKernelX = view != null && !view.reshapeOnly;
    save([
      $x,
      mean,
      invStd,
      ...($gamma ? [$gamma] : []),
      ...($beta ? [$beta] : []),
      ...(savesKernelX ? [kernelX] : []),
    ]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const [sx, sMean, sInvStd] = saved;
      const sGamma = $gamma ? saved[3] : undefined;
      const sBeta = $beta ? saved[$gamma ? 4 : 3] : undefined;
      if (sx.size === 0) {
        return args.map(t => tf.zerosLike(t));
      }
      const [kernelGamma, kernelBeta] = [sGamma, sBeta].map(toKernelParameter);
      // While a tape records this gradient (tf.grad of a function that calls
      // tf.grad), it is built from built-in ops with the statistics
      // recomputed from x (viewed again, so that the tape sees x): the tape
      // then differentiates it, through the statistics too. Otherwise the
      // fused gradient kernel runs.
      const [dx, dgamma, dbeta] = tf.engine().isTapeOn()
        ? groupNormBackward(toKernel(dy), toKernel(sx), kernelGamma, kernelBeta, attrs)
        : normGradientKernel(
            toKernel(dy),
            savesKernelX ? saved[saved.length - 1] : toKernel(sx),
            kernelGamma,
            kernelBeta,
            sMean,
            sInvStd,
            attrs,
          );
      const parameterGradient = (d: Tensor, p: Tensor) =>
        view == null ? d : tf.reshape(d, p.shape);
      return [
        fromKernel(dx),
        ...(sGamma ? [parameterGradient(dgamma, sGamma)] : []),
        ...(sBeta ? [parameterGradient(dbeta, sBeta)] : []),
      ];
    };
    return {value: fromKernel(y), gradFunc};
  });
  const y = run(...args);
  const statistics = keptStatistics.map(t => {
    const tracked = tf.reshape(t, t.shape);
    t.dispose();
    return tracked;
  });
  return {y, statistics};
}

/**
 * The `InstanceNorm` kernel of the active backend, or its composite where the
 * backend has none: `[y, mean, invStd]`.
 */
export function normForwardKernel(
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  attrs: CompleteNormAttrs,
): Tensor[] {
  if (!hasFusedKernels()) {
    return instanceNormCompositeKernel(x, gamma, beta, attrs);
  }
  const inputs = definedOnly({x, gamma, beta});
  return tf.engine().runKernel(InstanceNorm, inputs, toAttrMap(attrs)) as Tensor[];
}

/**
 * The `InstanceNormGrad` kernel of the active backend, or its composite:
 * `[dx, dgamma, dbeta]`.
 */
export function normGradientKernel(
  dy: Tensor,
  x: Tensor,
  gamma: Tensor | undefined,
  beta: Tensor | undefined,
  mean: Tensor,
  invStd: Tensor,
  attrs: CompleteNormAttrs,
): Tensor[] {
  if (!hasFusedKernels()) {
    return instanceNormGradCompositeKernel(dy, x, gamma, beta, mean, invStd, attrs);
  }
  const inputs = definedOnly({dy, x, gamma, beta, mean, invStd});
  return tf.engine().runKernel(InstanceNormGrad, inputs, toAttrMap(attrs)) as Tensor[];
}

function toAttrMap(attrs: CompleteNormAttrs): tf.NamedAttrMap {
  return attrs as unknown as tf.NamedAttrMap;
}

/** Kernel inputs without the optional ones that are absent. */
function definedOnly(inputs: Record<string, Tensor | undefined>): tf.NamedTensorMap {
  const defined: tf.NamedTensorMap = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    if (tensor != null) {
      defined[name] = tensor;
    }
  }
  return defined;
}
