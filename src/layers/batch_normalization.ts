import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {
  BatchNormalization as TfjsBatchNormalization,
  BatchNormalizationLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';
import type {LayerVariable} from '@tensorflow/tfjs-layers/dist/variables';

import {batchNormTraining} from '../batch_norm';
import {tfjsLayersClass} from './tfjs_layers_classes';

export type {BatchNormalizationLayerArgs};

/** The fields of tfjs-layers' BatchNormalization that this class reads (private in its typings). */
interface BatchNormalizationState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma?: LayerVariable;
  beta?: LayerVariable;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

/** tfjs-layers' own class, as it registered itself. */
export const TfjsLayersBatchNormalization =
  tfjsLayersClass<typeof TfjsBatchNormalization>('BatchNormalization');

/**
 * tfjs-layers' BatchNormalization (Ioffe and Szegedy, 2015; Keras'
 * `BatchNormalization`) that trains on this package's fused kernels: the same
 * class name, constructor arguments (`axis` -1, `momentum` 0.99, `epsilon`
 * 1e-3, `center`, `scale`, the four initializers, the regularizers and
 * constraints), weights (`gamma`, `beta`, `moving_mean`, `moving_variance`,
 * in that order, the moving ones not trainable) and `getConfig()` as
 * tfjs-layers' layer, so weights and saved models move between the two.
 *
 * In training (`model.fit`, `apply(x, {training: true})`) it normalizes with
 * the batch's mean and biased variance through {@link batchNormTraining}
 * (fused forward and gradient) and updates the moving statistics as
 * tfjs-layers does: `moving = moving - (moving - batch) * (1 - momentum)`,
 * with the biased batch variance. Channels first (`axis: 1`) and layers
 * without gamma or beta train too. Inference (`training` false or absent)
 * uses the moving statistics with built-in ops.
 *
 * It is not registered for deserialization at import (its class name is
 * tfjs-layers' own): call {@link useFusedNormalizationLayers} to have
 * `tf.loadLayersModel` build it.
 */
export class BatchNormalization extends TfjsLayersBatchNormalization {
  /** @nocollapse */
  static override className = 'BatchNormalization';

  constructor(args?: BatchNormalizationLayerArgs) {
    super(args);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    const state = this as unknown as BatchNormalizationState;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = (kwargs['training'] as boolean | undefined) ?? false;
    return tf.tidy(() => {
      const x = input.dtype === 'float32' ? input : tf.cast(input, 'float32');
      const rank = x.rank;
      const axis = state.axis >= 0 ? state.axis : state.axis + rank;
      const gamma = state.scale && state.gamma ? state.gamma.read() : null;
      const beta = state.center && state.beta ? state.beta.read() : null;
      if (!training) {
        return normalizeInference(x, axis, state, gamma, beta);
      }
      const {y, mean, variance} = normalizeTraining(x, axis, gamma, beta, state.epsilon);
      for (const [moving, batch] of [
        [state.movingMean, mean],
        [state.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const original = moving.read();
          moving.write(tf.sub(original, tf.mul(tf.sub(original, batch), 1 - state.momentum)));
        });
      }
      return y;
    });
  }
}

/**
 * The batch statistics' normalization: the channel axis last or first runs
 * the op directly; another axis is transposed to the end and back.
 */
function normalizeTraining(
  x: Tensor,
  axis: number,
  gamma: Tensor | null,
  beta: Tensor | null,
  epsilon: number,
): {y: Tensor; mean: Tensor; variance: Tensor} {
  const rank = x.rank;
  if (axis === rank - 1) {
    return batchNormTraining(x, gamma, beta, epsilon, 'channelsLast');
  }
  if (axis === 1) {
    return batchNormTraining(x, gamma, beta, epsilon, 'channelsFirst');
  }
  const order = [...Array.from({length: rank}, (_, i) => i).filter(i => i !== axis), axis];
  const inverse = order.map((_, i) => order.indexOf(i));
  const result = batchNormTraining(tf.transpose(x, order), gamma, beta, epsilon, 'channelsLast');
  return {...result, y: tf.transpose(result.y, inverse)};
}

/**
 * `(x - movingMean) / sqrt(movingVariance + epsilon) * gamma + beta`: tf.batchNorm
 * (as tfjs-layers) along the last axis, broadcasting ops along another.
 */
function normalizeInference(
  x: Tensor,
  axis: number,
  state: BatchNormalizationState,
  gamma: Tensor | null,
  beta: Tensor | null,
): Tensor {
  const [mean, variance] = [state.movingMean.read(), state.movingVariance.read()];
  if (axis === x.rank - 1) {
    return tf.batchNorm(x, mean, variance, beta ?? undefined, gamma ?? undefined, state.epsilon);
  }
  const shape = x.shape.map((size, i) => (i === axis ? size : 1));
  const along = (t: Tensor) => tf.reshape(t, shape);
  let y = tf.mul(tf.sub(x, along(mean)), tf.rsqrt(tf.add(along(variance), state.epsilon)));
  if (gamma != null) y = tf.mul(y, along(gamma));
  if (beta != null) y = tf.add(y, along(beta));
  return y;
}

/**
 * Creates a fused {@link BatchNormalization} layer, with tf.layers.batchNormalization's
 * arguments: `model.add(batchNormalization({axis: 1}))`.
 */
export function batchNormalization(args?: BatchNormalizationLayerArgs): BatchNormalization {
  return new BatchNormalization(args);
}
