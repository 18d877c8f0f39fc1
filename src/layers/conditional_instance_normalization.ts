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
 * Style ids outside [0, numStyles - 1]: on backends whose tensors live in
 * CPU memory (cpu, wasm, tensorflow in Node, any backend other than webgl
 * and webgpu) the layer reads the ids, N int32 values, without a GPU sync and
 * throws an Error naming the layer, the id and the range. On webgl and
 * webgpu reading them would stall the GPU queue mid-model, so they are not
 * read: the output of the image with an out-of-range id is NaN (and so is a
 * loss over it), never a plausible result.
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
   * Ids outside the range throw where reading them costs no GPU sync; on
   * webgl and webgpu `outOfRange` is `[N]`: NaN for an image whose id is out
   * of range (its one-hot row is all zeros), 0 for the others.
   */
  private oneHotIds(style: Tensor, batch: number): {oneHot: Tensor; outOfRange: Tensor | null} {
    if (style.size !== batch) {
      throw new Error(
        `${this.describe()}: style ids must be int32 [batch] or [batch, 1], but got shape ` +
          `[${style.shape}].`,
      );
    }
    const ids = tf.reshape(style, [batch]);
    const oneHot = tf.cast(tf.oneHot(ids, this.numStyles), 'float32');
    if (!idsReadableWithoutSync()) {
      const inRange = tf.greater(tf.sum(oneHot, 1), 0);
      return {oneHot, outOfRange: tf.where(inRange, tf.zeros([batch]), tf.fill([batch], NaN))};
    }
    const values = ids.dataSync();
    const bad = values.findIndex(id => id < 0 || id >= this.numStyles);
    if (bad >= 0) {
      throw new Error(
        `${this.describe()}: style id ${values[bad]} (image ${bad}) is out of range: ` +
          `ids must be in [0, ${this.numStyles - 1}] (numStyles ${this.numStyles}).`,
      );
    }
    return {oneHot, outOfRange: null};
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

/**
 * Whether the active backend keeps tensors in CPU memory, so that reading N
 * ids costs no GPU sync: every backend but webgl's (which has `gpgpu`) and
 * webgpu's (which has `device`).
 */
function idsReadableWithoutSync(): boolean {
  const backend = tf.engine().backend as object;
  return !('gpgpu' in backend) && !('device' in backend);
}

/** Creates a ConditionalInstanceNormalization layer (the tf.layers factory style). */
export function conditionalInstanceNormalization(
  args: ConditionalInstanceNormalizationLayerArgs,
): ConditionalInstanceNormalization {
  return new ConditionalInstanceNormalization(args);
}
