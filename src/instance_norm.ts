import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {
  groupNormBackward,
  instanceNormCompositeKernel,
  instanceNormGradCompositeKernel,
} from './composite';
import {DataFormat, InstanceNorm, InstanceNormAttrs, InstanceNormGrad} from './kernel_names';

type OpName = 'instanceNorm' | 'groupNorm';

/**
 * Instance normalization: for every instance n and channel c,
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma[c] + beta[c]`, with the
 * mean and the biased variance taken over the spatial axes of (n, c).
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
 * @param gamma scale, 1-D of length C; null or undefined means 1.
 * @param beta offset, 1-D of length C; null or undefined means 0.
 * @param epsilon added to the variance; a positive finite number.
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst'.
 * @returns y, of the shape of x.
 */
export function instanceNorm<T extends Tensor>(
  x: T | TensorLike,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
): T {
  return normalize('instanceNorm', x, null, gamma, beta, epsilon, dataFormat);
}

/**
 * Group normalization (Wu and He, 2018; PyTorch's `nn.GroupNorm`, Keras'
 * `GroupNormalization`): the C channels are split into `groups` groups of
 * C / groups consecutive channels (channel c is in group
 * floor(c / (C / groups))), and for every instance n and group g,
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma[c] + beta[c]`, with the
 * mean and the biased variance taken over the spatial axes and the channels of
 * (n, g). `groups` = C is {@link instanceNorm}; `groups` = 1 normalizes each
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
 * @param x float32 tensor of rank 3, 4 or 5, as for instanceNorm.
 * @param groups number of groups: a positive integer that divides C.
 * @param gamma scale, 1-D of length C; null or undefined means 1.
 * @param beta offset, 1-D of length C; null or undefined means 0.
 * @param epsilon added to the variance; a positive finite number.
 * @param dataFormat 'channelsLast' (default) or 'channelsFirst'.
 * @returns y, of the shape of x.
 */
export function groupNorm<T extends Tensor>(
  x: T | TensorLike,
  groups: number,
  gamma?: Tensor | TensorLike | null,
  beta?: Tensor | TensorLike | null,
  epsilon = 1e-5,
  dataFormat: DataFormat = 'channelsLast',
): T {
  if (typeof groups !== 'number' || !Number.isInteger(groups) || groups < 1) {
    throw new Error(
      `groupNorm: argument 'groups' must be a positive integer that divides the ` +
        `number of channels C, but got ${String(groups)}.`,
    );
  }
  return normalize('groupNorm', x, groups, gamma, beta, epsilon, dataFormat);
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
): T {
  checkAttrs(op, epsilon, dataFormat);
  // Converted TensorLikes are the only tensors created before the kernel
  // runs; tidy disposes them if a check throws, and keeps only y.
  return tf.tidy(() => {
    const $x = toFloatTensor(op, x, 'x');
    if ($x.rank < 3 || $x.rank > 5) {
      throw new Error(
        `${op}: argument 'x' must be of rank 3, 4 or 5 ([N, ...spatial, C] or ` +
          `[N, C, ...spatial]), but got rank ${$x.rank} with shape [${$x.shape}].`,
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
    checkParameter(op, $gamma, 'gamma', channels, dataFormat);
    checkParameter(op, $beta, 'beta', channels, dataFormat);
    const attrs = {epsilon, dataFormat, groups: groups ?? channels};
    return fusedGroupNorm($x, $gamma, $beta, attrs) as T;
  });
}

function checkAttrs(op: OpName, epsilon: unknown, dataFormat: unknown): void {
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

function toFloatTensor(op: OpName, value: Tensor | TensorLike, name: string): Tensor {
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

function checkParameter(
  op: OpName,
  value: Tensor | null,
  name: string,
  channels: number,
  dataFormat: DataFormat,
): void {
  if (value != null && (value.rank !== 1 || value.shape[0] !== channels)) {
    throw new Error(
      `${op}: argument '${name}' must be 1-D of length C = ${channels} (the ` +
        `channel axis of x in ${dataFormat}), but got shape [${value.shape}].`,
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
 * neither passed to the kernels nor given a gradient.
 */
function fusedGroupNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  attrs: InstanceNormAttrs & {groups: number},
): Tensor {
  const {epsilon, dataFormat, groups} = attrs;
  const args = [x, gamma, beta].filter((t): t is Tensor => t != null);
  const run = tf.customGrad((...fArgs: unknown[]) => {
    const save = fArgs[args.length] as tf.GradSaveFunc;
    const [$gamma, $beta] = [gamma, beta].map(t =>
      t == null ? undefined : (fArgs[args.indexOf(t)] as Tensor),
    );
    const $x = fArgs[0] as Tensor;
    const [y, mean, invStd] =
      $x.size === 0
        ? [tf.zerosLike($x), tf.zeros([0]), tf.zeros([0])]
        : hasFusedKernels()
          ? (tf
              .engine()
              .runKernel(
                InstanceNorm,
                definedOnly({x: $x, gamma: $gamma, beta: $beta}),
                attrs as unknown as tf.NamedAttrMap,
              ) as Tensor[])
          : instanceNormCompositeKernel($x, $gamma, $beta, epsilon, dataFormat, groups);
    save([$x, mean, invStd, ...($gamma ? [$gamma] : [])]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const [sx, sMean, sInvStd, sGamma] = saved;
      if (sx.size === 0) {
        return args.map(t => tf.zerosLike(t));
      }
      // While a tape records this gradient (tf.grad of a function that calls
      // tf.grad), it is built from built-in ops with the statistics
      // recomputed from x: the tape then differentiates it, through the
      // statistics too. Otherwise the fused gradient kernel runs.
      const [dx, dgamma, dbeta] = tf.engine().isTapeOn()
        ? groupNormBackward(dy, sx, sGamma, epsilon, dataFormat, groups)
        : hasFusedKernels()
          ? (tf
              .engine()
              .runKernel(
                InstanceNormGrad,
                definedOnly({dy, x: sx, gamma: sGamma, mean: sMean, invStd: sInvStd}),
                attrs as unknown as tf.NamedAttrMap,
              ) as Tensor[])
          : instanceNormGradCompositeKernel(dy, sx, sGamma, sMean, sInvStd, dataFormat, groups);
      return [dx, ...(gamma ? [dgamma] : []), ...(beta ? [dbeta] : [])];
    };
    return {value: y, gradFunc};
  });
  return run(...args);
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
