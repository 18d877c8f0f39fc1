import * as tf from '@tensorflow/tfjs-core';

import {BatchNormalization, TfjsLayersBatchNormalization} from './batch_normalization';
import {LayerNormalization, TfjsLayersLayerNormalization} from './layer_normalization';

type Registrable = tf.serialization.SerializableConstructor<tf.serialization.Serializable>;

/**
 * Makes `tf.loadLayersModel` (and every other deserialization) build this
 * package's fused {@link BatchNormalization} and {@link LayerNormalization}
 * for `"class_name": "BatchNormalization"` / `"LayerNormalization"`: it
 * registers them in tfjs' serialization map over tfjs-layers' classes of the
 * same names. A model loaded after it then trains fused; the model.json it
 * saves is unchanged (same class names and config), so stock tfjs loads it.
 *
 * Layers already built are not affected, and `tf.layers.batchNormalization()`
 * still makes tfjs-layers' layer (this package's factories make fused ones).
 *
 * @returns a function that registers tfjs-layers' own classes again.
 */
export function useFusedNormalizationLayers(): () => void {
  tf.serialization.registerClass(BatchNormalization);
  tf.serialization.registerClass(LayerNormalization);
  return () => {
    tf.serialization.registerClass(TfjsLayersBatchNormalization as unknown as Registrable);
    tf.serialization.registerClass(TfjsLayersLayerNormalization as unknown as Registrable);
  };
}
