import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import type {LayerVariable} from '@tensorflow/tfjs-layers/dist/variables';

/**
 * The fields of tfjs-layers' BatchNormalization and LayerNormalization that
 * say which of gamma and beta a call applies (private in their typings).
 */
export interface TfjsAffineState {
  center: boolean;
  scale: boolean;
  gamma?: LayerVariable | null;
  beta?: LayerVariable | null;
}

/**
 * What a call of the fused BatchNormalization or LayerNormalization reads, as
 * tfjs-layers' layers read it: the input (the first of a list) as float32,
 * and gamma and beta (null where `scale` / `center` is off). Call it inside
 * the call's tidy.
 */
export function tfjsAffineCallInputs(
  inputs: Tensor | Tensor[],
  state: TfjsAffineState,
): {x: Tensor; gamma: Tensor | null; beta: Tensor | null} {
  const input = Array.isArray(inputs) ? inputs[0] : inputs;
  return {
    x: input.dtype === 'float32' ? input : tf.cast(input, 'float32'),
    gamma: state.scale && state.gamma ? state.gamma.read() : null,
    beta: state.center && state.beta ? state.beta.read() : null,
  };
}
