import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {
  LayerNormalization as TfjsLayerNormalization,
  LayerNormalizationLayerArgs,
} from '@tensorflow/tfjs-layers/dist/layers/normalization';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';
import type {LayerVariable} from '@tensorflow/tfjs-layers/dist/variables';

import {layerNorm} from '../layer_norm';
import {tfjsLayersClass} from './tfjs_layers_classes';

export type {LayerNormalizationLayerArgs};

/** The fields of tfjs-layers' LayerNormalization that this class reads. */
interface LayerNormalizationState {
  /** After build: the normalized axes, non-negative, in the order given. */
  axis: number[];
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
}

/** tfjs-layers' own class, as it registered itself. */
export const TfjsLayersLayerNormalization =
  tfjsLayersClass<typeof TfjsLayerNormalization>('LayerNormalization');

/**
 * tfjs-layers' LayerNormalization (Ba et al., 2016; Keras'
 * `LayerNormalization`) on this package's fused kernels: the same class
 * name, arguments (`axis` -1 or a list, `epsilon` 1e-3, `center`, `scale`,
 * the initializers and regularizers), weights (`gamma`, `beta` of the
 * normalized shape) and `getConfig()` as tfjs-layers' layer. Each slice over
 * the `axis` axes is normalized with its own mean and biased variance through
 * {@link layerNorm} (fused forward and gradient, in training and inference
 * alike); it trains with `center: false, scale: false` too.
 *
 * It is not registered for deserialization at import (its class name is
 * tfjs-layers' own): call {@link useFusedNormalizationLayers} to have
 * `tf.loadLayersModel` build it.
 */
export class LayerNormalization extends TfjsLayersLayerNormalization {
  /** @nocollapse */
  static override className = 'LayerNormalization';

  constructor(args?: LayerNormalizationLayerArgs) {
    super(args);
  }

  override call(inputs: Tensor | Tensor[], kwargs: Kwargs): Tensor {
    void kwargs;
    const state = this as unknown as LayerNormalizationState;
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() => {
      const x = input.dtype === 'float32' ? input : tf.cast(input, 'float32');
      const gamma = state.scale && state.gamma ? state.gamma.read() : null;
      const beta = state.center && state.beta ? state.beta.read() : null;
      return layerNorm(x, gamma, beta, state.epsilon, {axis: state.axis});
    });
  }
}

/**
 * Creates a fused {@link LayerNormalization} layer, with tf.layers.layerNormalization's
 * arguments: `layerNormalization({axis: -1})`.
 */
export function layerNormalization(args?: LayerNormalizationLayerArgs): LayerNormalization {
  return new LayerNormalization(args);
}
