import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorLike} from '@tensorflow/tfjs-core';

import {instanceNormCompositeKernel, instanceNormGradCompositeKernel} from './composite';
import {DataFormat, InstanceNorm, InstanceNormGrad} from './kernel_names';

const OP = 'instanceNorm';

/**
 * Instance normalization: for every instance n and channel c,
 * `y = (x - mean) / sqrt(variance + epsilon) * gamma[c] + beta[c]`, with the
 * mean and the biased variance taken over the spatial axes of (n, c).
 *
 * Runs the fused `InstanceNorm` kernel of the active backend (cpu, webgl,
 * webgpu, wasm) and, for the gradient, the fused `InstanceNormGrad` kernel; on a
 * backend without them (tensorflow, ...) it computes the same numbers
 * and gradients with built-in ops. Differentiable with `tf.grads`,
 * `tf.variableGrads` and `optimizer.minimize` with respect to x, gamma and beta.
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
  checkAttrs(epsilon, dataFormat);
  // Converted TensorLikes are the only tensors created before the kernel
  // runs; tidy disposes them if a check throws, and keeps only y.
  return tf.tidy(() => {
    const $x = toFloatTensor(x, 'x');
    if ($x.rank < 3 || $x.rank > 5) {
      throw new Error(
        `${OP}: argument 'x' must be of rank 3, 4 or 5 ([N, ...spatial, C] or ` +
          `[N, C, ...spatial]), but got rank ${$x.rank} with shape [${$x.shape}].`,
      );
    }
    const channels = (
      dataFormat === 'channelsLast' ? $x.shape[$x.rank - 1] : $x.shape[1]
    ) as number;
    const $gamma = gamma == null ? null : toFloatTensor(gamma, 'gamma');
    const $beta = beta == null ? null : toFloatTensor(beta, 'beta');
    checkParameter($gamma, 'gamma', channels, dataFormat);
    checkParameter($beta, 'beta', channels, dataFormat);
    return fusedInstanceNorm($x, $gamma, $beta, epsilon, dataFormat) as T;
  });
}

function checkAttrs(epsilon: unknown, dataFormat: unknown): void {
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) {
    throw new Error(
      `${OP}: argument 'epsilon' must be a positive finite number, but got ${String(epsilon)}.`,
    );
  }
  if (dataFormat !== 'channelsLast' && dataFormat !== 'channelsFirst') {
    throw new Error(
      `${OP}: argument 'dataFormat' must be 'channelsLast' or 'channelsFirst', ` +
        `but got ${JSON.stringify(dataFormat)}.`,
    );
  }
}

function toFloatTensor(value: Tensor | TensorLike, name: string): Tensor {
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) {
      throw new Error(`${OP}: argument '${name}' is a disposed tensor.`);
    }
    if (value.dtype !== 'float32') {
      throw new Error(
        `${OP}: argument '${name}' must be a float32 tensor, but got dtype ${value.dtype}.`,
      );
    }
    return value;
  }
  const flat = Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value];
  if (!flat.every(v => typeof v === 'number') && !ArrayBuffer.isView(value)) {
    throw new Error(`${OP}: argument '${name}' must be a float32 Tensor or a numeric TensorLike.`);
  }
  return tf.tensor(value as TensorLike, undefined, 'float32');
}

function checkParameter(
  value: Tensor | null,
  name: string,
  channels: number,
  dataFormat: DataFormat,
): void {
  if (value != null && (value.rank !== 1 || value.shape[0] !== channels)) {
    throw new Error(
      `${OP}: argument '${name}' must be 1-D of length C = ${channels} (the ` +
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
function fusedInstanceNorm(
  x: Tensor,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
  dataFormat: DataFormat,
): Tensor {
  const args = [x, gamma, beta].filter((t): t is Tensor => t != null);
  const run = tf.customGrad((...fArgs: unknown[]) => {
    const save = fArgs[args.length] as tf.GradSaveFunc;
    const [$gamma, $beta] = [gamma, beta].map(t =>
      t == null ? undefined : (fArgs[args.indexOf(t)] as Tensor),
    );
    const $x = fArgs[0] as Tensor;
    const useKernels = hasFusedKernels();
    const [y, mean, invStd] =
      $x.size === 0
        ? [tf.zerosLike($x), tf.zeros([0]), tf.zeros([0])]
        : useKernels
          ? (tf.engine().runKernel(InstanceNorm, definedOnly({x: $x, gamma: $gamma, beta: $beta}), {
              epsilon,
              dataFormat,
            } as unknown as tf.NamedAttrMap) as Tensor[])
          : instanceNormCompositeKernel($x, $gamma, $beta, epsilon, dataFormat);
    save([$x, mean, invStd, ...($gamma ? [$gamma] : [])]);
    const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
      const [sx, sMean, sInvStd, sGamma] = saved;
      if (sx.size === 0) {
        return args.map(t => tf.zerosLike(t));
      }
      const grads = hasFusedKernels()
        ? (tf
            .engine()
            .runKernel(
              InstanceNormGrad,
              definedOnly({dy, x: sx, gamma: sGamma, mean: sMean, invStd: sInvStd}),
              {dataFormat} as unknown as tf.NamedAttrMap,
            ) as Tensor[])
        : instanceNormGradCompositeKernel(dy, sx, sGamma, sMean, sInvStd, dataFormat);
      const [dx, dgamma, dbeta] = grads;
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
