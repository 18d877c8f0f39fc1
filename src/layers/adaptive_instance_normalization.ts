import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {adaptiveInstanceNorm} from '../adaptive_instance_norm';
import {checkEpsilon} from '../instance_norm';
import {checkEndAxis, checkKeys, NormalizationLayer} from './base';

/** Configuration of the AdaptiveInstanceNormalization layer. */
export interface AdaptiveInstanceNormalizationLayerArgs extends LayerArgs {
  /** Added to both variances; default 1e-5. */
  epsilon?: number;
  /** The channel axis of both inputs: -1 (default, channels last) or 1 (channels first). */
  axis?: number;
}

const INPUTS = '[content, style]';

/**
 * Adaptive instance normalization (AdaIN, Huang and Belongie 2017) as a
 * layer without weights: inputs `[content, style]` of the same channel count
 * (their spatial sizes may differ); the content is instance-normalized, then
 * scaled by the style's per-(image, channel) sqrt(variance + epsilon) and
 * shifted by its mean. Runs the fused adaptiveInstanceNorm op; differentiable
 * with respect to both inputs.
 */
export class AdaptiveInstanceNormalization extends NormalizationLayer {
  /** @nocollapse */
  static className = 'AdaptiveInstanceNormalization';
  readonly epsilon: number;
  readonly axis: -1 | 1;

  constructor(args: AdaptiveInstanceNormalizationLayerArgs = {}) {
    super(args);
    const owner = this.describe();
    checkKeys(args, ['epsilon', 'axis'], owner);
    this.epsilon = checkEpsilon(owner, args.epsilon ?? 1e-5);
    this.axis = checkEndAxis(args.axis, owner);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [content, style] = this.twoShapes(inputShape, INPUTS);
    const channel = (shape: tfl.Shape) => shape[this.axis === -1 ? shape.length - 1 : 1];
    if (content.length !== style.length || channel(content) !== channel(style)) {
      throw new Error(
        `${this.describe()}: content and style must have the same rank and channel ` +
          `count, but got ${JSON.stringify(content)} and ${JSON.stringify(style)}.`,
      );
    }
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    const [content, style] = this.twoInputs(inputs, INPUTS);
    return adaptiveInstanceNorm(
      content,
      style,
      this.epsilon,
      this.axis === -1 ? 'channelsLast' : 'channelsFirst',
    );
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return this.twoShapes(inputShape, INPUTS)[0];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), epsilon: this.epsilon, axis: this.axis};
  }
}
tf.serialization.registerClass(AdaptiveInstanceNormalization);

/** Creates an AdaptiveInstanceNormalization layer (the tf.layers factory style). */
export function adaptiveInstanceNormalization(
  args?: AdaptiveInstanceNormalizationLayerArgs,
): AdaptiveInstanceNormalization {
  return new AdaptiveInstanceNormalization(args);
}
