import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';

/**
 * A layer class tfjs-layers registered under `className` (it registers every
 * layer class at import; it does not export the classes themselves). Read at
 * this module's import, before {@link useFusedNormalizationLayers} can
 * replace the entry.
 */
export function tfjsLayersClass<T>(className: string): T {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (entry == null) {
    throw new Error(
      `tfjs-instance-norm: tfjs-layers registered no class '${className}'; ` +
        `is @tensorflow/tfjs-layers loaded from a second copy of @tensorflow/tfjs-core?`,
    );
  }
  return entry[0] as unknown as T;
}
