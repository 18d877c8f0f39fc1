import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {instanceNorm} from '../instance_norm';
import type {Activation, DataFormat} from '../kernel_names';
import {
  addProjectedWeight,
  checkActivation,
  checkBoolean,
  checkEpsilon,
  checkKeys,
  KERAS_KEYS,
  KerasWeightArgs,
  NormalizationLayerArgs,
  resolveWeightArgs,
  serializeWeightArgs,
} from './base';

/** Configuration of the ConditionalInstanceNormalization layer. */
export interface ConditionalInstanceNormalizationLayerArgs extends NormalizationLayerArgs {
  /** Rows of the gamma and beta tables: the number of styles. */
  numStyles: number;
  /** The channel axis of x: -1 (default, channels last) or 1 (channels first). */
  axis?: number;
}

/**
 * Conditional instance normalization (Dumoulin et al. 2017, Magenta's
 * `conditional_instance_norm` and `weighted_instance_norm`): instance norm
 * whose gamma and beta are rows of `[numStyles, C]` tables, picked per image.
 * Inputs `[x, styleIds]` with styleIds int32 `[N]` or `[N, 1]` (row
 * styleIds[n] for image n; a tfjs-layers model declares it
 * `tf.input({shape: [1], dtype: 'int32'})`), or `[x, styleWeights]` with
 * styleWeights float32
 * `[N, numStyles]` (image n gets `sum_s styleWeights[n, s] * table[s]`,
 * mixing styles). The rows are gathered (or mixed) into `[N, C]` gamma and
 * beta for the fused instanceNorm kernel, forward and gradient.
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma[n] + beta[n])`;
 * epsilon default 1e-5, as Magenta.
 */
export class ConditionalInstanceNormalization extends tfl.layers.Layer {
  /** @nocollapse */
  static className = 'ConditionalInstanceNormalization';
  readonly numStyles: number;
  readonly axis: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly activation: Activation;
  readonly alpha: number;
  private readonly weightArgs: KerasWeightArgs;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  constructor(args: ConditionalInstanceNormalizationLayerArgs) {
    super(args);
    const owner = this.describe();
    checkKeys(args ?? {}, [...KERAS_KEYS, 'numStyles', 'activation', 'alpha'], owner);
    const numStyles = args?.numStyles;
    if (typeof numStyles !== 'number' || !Number.isInteger(numStyles) || numStyles < 1) {
      throw new Error(
        `${owner}: numStyles must be a positive integer, but got ${JSON.stringify(numStyles)}.`,
      );
    }
    this.numStyles = numStyles;
    const axis = args.axis ?? -1;
    if (axis !== -1 && axis !== 1) {
      throw new Error(
        `${owner}: axis must be -1 (channels last) or 1 (channels first), but got ` +
          `${JSON.stringify(axis)}.`,
      );
    }
    this.axis = axis;
    this.epsilon = checkEpsilon(args.epsilon ?? 1e-5, owner);
    this.center = checkBoolean(args.center, true, owner, 'center');
    this.scale = checkBoolean(args.scale, true, owner, 'scale');
    [this.activation, this.alpha] = checkActivation(args.activation, args.alpha, owner);
    this.weightArgs = resolveWeightArgs(args, 'ones', owner);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [xShape, styleShape] = this.twoShapes(inputShape);
    const channels = xShape[this.axis === -1 ? xShape.length - 1 : 1];
    if (xShape.length < 3 || xShape.length > 5 || channels == null) {
      throw new Error(
        `${this.describe()}: x must be of rank 3 to 5 with a defined channel axis ` +
          `${this.axis}, but got shape ${JSON.stringify(xShape)}.`,
      );
    }
    const width = styleShape.length === 1 ? 1 : styleShape[1];
    if (styleShape.length > 2 || (width !== 1 && width !== this.numStyles)) {
      throw new Error(
        `${this.describe()}: the style input must be styleIds [batch] or [batch, 1] ` +
          `(int32) or styleWeights [batch, ${this.numStyles}], but got shape ` +
          `${JSON.stringify(styleShape)}.`,
      );
    }
    const tableShape = [this.numStyles, channels];
    if (this.scale) {
      this.gamma = addProjectedWeight(this, 'gamma', tableShape, this.weightArgs.gamma);
    }
    if (this.center) {
      this.beta = addProjectedWeight(this, 'beta', tableShape, this.weightArgs.beta);
    }
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      if (!Array.isArray(inputs) || inputs.length !== 2) {
        throw new Error(`${this.describe()}: expects two inputs, [x, styleIds or styleWeights].`);
      }
      const [input, style] = inputs;
      const x = input.dtype === 'float32' ? input : tf.cast(input, 'float32');
      const batch = x.shape[0];
      if (style.shape[0] !== batch) {
        throw new Error(
          `${this.describe()}: the style input has ${style.shape[0]} rows, but x has ` +
            `${batch} images.`,
        );
      }
      // int32 ids pick rows; float weights mix them.
      const ids = style.dtype === 'int32' ? tf.reshape(style, [batch]) : null;
      if (ids == null && (style.rank !== 2 || style.shape[1] !== this.numStyles)) {
        throw new Error(
          `${this.describe()}: float styleWeights must be [batch, ${this.numStyles}], but ` +
            `got shape [${style.shape}]; style ids must be int32.`,
        );
      }
      const rows = (table: tfl.LayerVariable | null): Tensor | null => {
        if (table == null) {
          return null;
        }
        return ids != null ? tf.gather(table.read(), ids) : tf.matMul(style, table.read());
      };
      const format: DataFormat = this.axis === -1 ? 'channelsLast' : 'channelsFirst';
      return instanceNorm(x, rows(this.gamma), rows(this.beta), this.epsilon, format, {
        activation: this.activation,
        alpha: this.alpha,
      });
    });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return this.twoShapes(inputShape)[0];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      numStyles: this.numStyles,
      axis: this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      ...serializeWeightArgs(this.weightArgs),
      activation: this.activation,
      ...(this.activation === 'leakyRelu' ? {alpha: this.alpha} : {}),
    };
  }

  private twoShapes(inputShape: tfl.Shape | tfl.Shape[]): [tfl.Shape, tfl.Shape] {
    if (!Array.isArray(inputShape[0]) || inputShape.length !== 2) {
      throw new Error(
        `${this.describe()}: expects two inputs, [x, styleIds or styleWeights], but got ` +
          `${JSON.stringify(inputShape)}.`,
      );
    }
    return inputShape as [tfl.Shape, tfl.Shape];
  }

  private describe(): string {
    return `ConditionalInstanceNormalization layer '${this.name}'`;
  }
}
tf.serialization.registerClass(ConditionalInstanceNormalization);

/** Creates a ConditionalInstanceNormalization layer (the tf.layers factory style). */
export function conditionalInstanceNormalization(
  args: ConditionalInstanceNormalizationLayerArgs,
): ConditionalInstanceNormalization {
  return new ConditionalInstanceNormalization(args);
}
