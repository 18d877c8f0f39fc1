import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {LayerArgs} from '@tensorflow/tfjs-layers/dist/engine/topology';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {adaptiveInstanceNorm} from '../adaptive_instance_norm';
import {checkEpsilon, checkKeys} from './base';

/** Configuration of the AdaptiveInstanceNormalization layer. */
export interface AdaptiveInstanceNormalizationLayerArgs extends LayerArgs {
  /** Added to both variances; default 1e-5. */
  epsilon?: number;
  /** The channel axis of both inputs: -1 (default, channels last) or 1 (channels first). */
  axis?: number;
}

/**
 * Adaptive instance normalization (AdaIN, Huang and Belongie 2017) as a
 * layer without weights: inputs `[content, style]` of the same channel count
 * (their spatial sizes may differ); the content is instance-normalized, then
 * scaled by the style's per-(image, channel) sqrt(variance + epsilon) and
 * shifted by its mean. Runs the fused adaptiveInstanceNorm op; differentiable
 * with respect to both inputs.
 */
export class AdaptiveInstanceNormalization extends tfl.layers.Layer {
  /** @nocollapse */
  static className = 'AdaptiveInstanceNormalization';
  readonly epsilon: number;
  readonly axis: number;

  constructor(args: AdaptiveInstanceNormalizationLayerArgs = {}) {
    super(args);
    const owner = this.describe();
    checkKeys(args, ['epsilon', 'axis'], owner);
    this.epsilon = checkEpsilon(args.epsilon ?? 1e-5, owner);
    const axis = args.axis ?? -1;
    if (axis !== -1 && axis !== 1) {
      throw new Error(
        `${owner}: axis must be -1 (channels last) or 1 (channels first), but got ` +
          `${JSON.stringify(axis)}.`,
      );
    }
    this.axis = axis;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [content, style] = this.twoShapes(inputShape);
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
    if (!Array.isArray(inputs) || inputs.length !== 2) {
      throw new Error(`${this.describe()}: expects two inputs, [content, style].`);
    }
    const [content, style] = inputs;
    return adaptiveInstanceNorm(
      content,
      style,
      this.epsilon,
      this.axis === -1 ? 'channelsLast' : 'channelsFirst',
    );
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return this.twoShapes(inputShape)[0];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), epsilon: this.epsilon, axis: this.axis};
  }

  private twoShapes(inputShape: tfl.Shape | tfl.Shape[]): [tfl.Shape, tfl.Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new Error(
        `${this.describe()}: expects two inputs, [content, style], but got ` +
          `${JSON.stringify(inputShape)}.`,
      );
    }
    return inputShape as [tfl.Shape, tfl.Shape];
  }

  private describe(): string {
    return `AdaptiveInstanceNormalization layer '${this.name}'`;
  }
}
tf.serialization.registerClass(AdaptiveInstanceNormalization);

/** Creates an AdaptiveInstanceNormalization layer (the tf.layers factory style). */
export function adaptiveInstanceNormalization(
  args?: AdaptiveInstanceNormalizationLayerArgs,
): AdaptiveInstanceNormalization {
  return new AdaptiveInstanceNormalization(args);
}
