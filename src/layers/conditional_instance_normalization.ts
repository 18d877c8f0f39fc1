import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type {Kwargs} from '@tensorflow/tfjs-layers/dist/types';

import {
  AffineNormalization,
  checkEndAxis,
  KERAS_KEYS,
  NormalizationLayerArgs,
  PACKAGE_KEYS,
} from './base';
import {valuesInCpuMemory} from '../cpu_values';

/** Configuration of the ConditionalInstanceNormalization layer. */
export interface ConditionalInstanceNormalizationLayerArgs extends NormalizationLayerArgs {
  /** Rows of the gamma and beta tables: the number of styles. */
  numStyles: number;
  /** The channel axis of x: -1 (default, channels last) or 1 (channels first). */
  axis?: number;
}

const INPUTS = '[x, styleIds or styleWeights]';

/**
 * Conditional instance normalization (Dumoulin et al. 2017, Magenta's
 * `conditional_instance_norm` and `weighted_instance_norm`): instance norm
 * whose gamma and beta are rows of `[numStyles, C]` tables, picked per image.
 * Inputs `[x, styleIds]` with styleIds int32 `[N]` or `[N, 1]` (row
 * styleIds[n] for image n; a tfjs-layers model declares it
 * `tf.input({shape: [1], dtype: 'int32'})`), or `[x, styleWeights]` with
 * styleWeights float32 `[N, numStyles]` (image n gets
 * `sum_s styleWeights[n, s] * table[s]`, mixing styles). The rows are picked
 * (a one-hot matMul, whose gradient every backend has) or mixed into `[N, C]`
 * gamma and beta for the fused instanceNorm kernel, forward and gradient.
 * `y = act((x - mean) / sqrt(variance + epsilon) * gamma[n] + beta[n])`;
 * epsilon default 1e-5, as Magenta.
 *
 * Style ids outside [0, numStyles - 1] throw an Error naming the layer, the
 * id and the range wherever the layer can read the ids without a GPU sync
 * (src/cpu_values.ts): always on backends that keep tensors in CPU memory
 * (cpu, wasm, tensorflow in Node); on webgl and webgpu while the backend
 * still holds them in CPU memory, as it holds ids made from JS values (like
 * `tf.tensor1d([2, 0], 'int32')`) until it uploads them for a GPU op, and
 * ids read back with `data()`/`dataSync()` (when the layer gets that tensor
 * itself; `predict` passes it batches sliced from its inputs). Ids only on
 * the GPU (the output of a GPU op, ids a GPU op has uploaded, or the slices
 * `predict` cuts on the GPU from ids already there, or from 128 or more ids
 * on webgl, 1000 or more on webgpu) are not read, as a read-back would
 * stall the GPU queue mid-model: the output of the image with an
 * out-of-range id is NaN (and so is a loss over it), never a plausible
 * result.
 */
export class ConditionalInstanceNormalization extends AffineNormalization {
  /** @nocollapse */
  static className = 'ConditionalInstanceNormalization';
  readonly numStyles: number;
  readonly axis: -1 | 1;
  private gamma: tfl.LayerVariable | null = null;
  private beta: tfl.LayerVariable | null = null;

  constructor(args: ConditionalInstanceNormalizationLayerArgs) {
    super(args ?? {}, {
      keys: [...KERAS_KEYS, ...PACKAGE_KEYS, 'numStyles'],
      epsilon: 1e-5,
      epsilonMode: 'variance',
      gammaInitializer: 'ones',
    });
    const owner = this.describe();
    const numStyles = args?.numStyles;
    if (typeof numStyles !== 'number' || !Number.isInteger(numStyles) || numStyles < 1) {
      throw new Error(
        `${owner}: numStyles must be a positive integer, but got ${JSON.stringify(numStyles)}.`,
      );
    }
    this.numStyles = numStyles;
    this.axis = checkEndAxis(args.axis, owner);
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [xShape, styleShape] = this.twoShapes(inputShape, INPUTS);
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
    ({gamma: this.gamma, beta: this.beta} = this.addGammaBeta([this.numStyles, channels]));
    this.built = true;
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const [input, style] = this.twoInputs(inputs, INPUTS);
      const x = input.dtype === 'float32' ? input : tf.cast(input, 'float32');
      const batch = x.shape[0];
      if (style.shape[0] !== batch) {
        throw new Error(
          `${this.describe()}: the style input has ${style.shape[0]} rows, but x has ` +
            `${batch} images.`,
        );
      }
      const ids = style.dtype === 'int32' ? this.oneHotIds(style, batch) : null;
      const weights = ids?.oneHot ?? style;
      if (weights.rank !== 2 || weights.shape[1] !== this.numStyles) {
        throw new Error(
          `${this.describe()}: float styleWeights must be [batch, ${this.numStyles}], but ` +
            `got shape [${style.shape}]; style ids must be int32.`,
        );
      }
      // One-hot rows pick a table row exactly (1 * v + 0 * others); weights mix.
      const rows = (table: tfl.LayerVariable | null) =>
        table == null ? null : tf.matMul(weights, table.read());
      const format = this.axis === -1 ? 'channelsLast' : 'channelsFirst';
      const y = this.normalizeInput(x, null, rows(this.gamma), rows(this.beta), format);
      if (ids?.outOfRange == null) {
        return y;
      }
      // Added after the fused activation, which may map NaN to a number (relu: max(z, 0)).
      const perImage = [batch, ...Array<number>(x.rank - 1).fill(1)];
      return tf.add(y, tf.reshape(ids.outOfRange, perImage));
    });
  }

  /**
   * int32 ids `[N]` or `[N, 1]` as one-hot rows `[N, numStyles]` (float32).
   * Ids outside the range throw where their values are in CPU memory (read
   * before any op here uploads them); where they are only on the GPU,
   * `outOfRange` is `[N]`: NaN for an image whose id is out of range (its
   * one-hot row is all zeros), 0 for the others.
   */
  private oneHotIds(style: Tensor, batch: number): {oneHot: Tensor; outOfRange: Tensor | null} {
    if (style.size !== batch) {
      throw new Error(
        `${this.describe()}: style ids must be int32 [batch] or [batch, 1], but got shape ` +
          `[${style.shape}].`,
      );
    }
    const values = valuesInCpuMemory(style);
    if (values != null) {
      this.checkStyleIds(values);
    }
    const ids = tf.reshape(style, [batch]);
    const oneHot = tf.cast(tf.oneHot(ids, this.numStyles), 'float32');
    if (values != null) {
      return {oneHot, outOfRange: null};
    }
    const inRange = tf.greater(tf.sum(oneHot, 1), 0);
    return {oneHot, outOfRange: tf.where(inRange, tf.zeros([batch]), tf.fill([batch], NaN))};
  }

  /** Throws for the first id outside [0, numStyles - 1], naming it and its image. */
  private checkStyleIds(values: ArrayLike<number>): void {
    for (let image = 0; image < values.length; image++) {
      const id = values[image];
      if (!(id >= 0 && id < this.numStyles)) {
        throw new Error(
          `${this.describe()}: style id ${id} (image ${image}) is out of range: ` +
            `ids must be in [0, ${this.numStyles - 1}] (numStyles ${this.numStyles}).`,
        );
      }
    }
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return this.twoShapes(inputShape, INPUTS)[0];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...this.kerasConfig(),
      numStyles: this.numStyles,
      ...(this.epsilonMode === 'variance' ? {} : {epsilonMode: this.epsilonMode}),
      ...this.activationConfig(),
    };
  }
}
tf.serialization.registerClass(ConditionalInstanceNormalization);

/** Creates a ConditionalInstanceNormalization layer (the tf.layers factory style). */
export function conditionalInstanceNormalization(
  args: ConditionalInstanceNormalizationLayerArgs,
): ConditionalInstanceNormalization {
  return new ConditionalInstanceNormalization(args);
}
