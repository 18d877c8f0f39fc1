/**
 * What the tests, the benchmarks and the demo share, written once: seeded
 * data, the median, and the composite norm layer (the yardstick the package's layers
 * are compared with and timed against). It uses tfjs-core, tfjs-layers and
 * the package's public exports only, so it runs in a browser and in Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {type DataFormat, groupNormComposite, instanceNormComposite} from '../src/index';

export type {DataFormat};

/**
 * Mulberry32: a small seeded generator of uniform numbers in [0, 1), so every
 * run (and every backend) sees the same data.
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` seeded values uniform in [offset - scale, offset + scale). */
export function randomValues(size: number, seed: number, scale = 1, offset = 0): Float32Array {
  const next = seeded(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = offset + scale * (2 * next() - 1);
  return values;
}

/** The median (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface CompositeNormArgs {
  /** Where the channels are (default 'channelsLast'). */
  dataFormat?: DataFormat;
  /** Group norm with this many groups (a divisor of C); absent or null: instance norm. */
  groups?: number | null;
  /** Added to the variance (default 1e-3, the package layers' default). */
  epsilon?: number;
  name?: string;
}

/**
 * Instance norm (or group norm) as tfjs users write it by hand, in a minimal
 * layer: `instanceNormComposite` / `groupNormComposite` (tf.moments and
 * autograd through built-in ops) with a per-channel gamma and beta made like
 * the package layers' (the same names and order, initialized to 1 and 0), so
 * two models built alike start from the same weights.
 */
export class CompositeNorm extends tfl.layers.Layer {
  static className = 'CompositeNorm';
  readonly dataFormat: DataFormat;
  readonly groups: number | null;
  readonly epsilon: number;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;

  constructor({
    dataFormat = 'channelsLast',
    groups = null,
    epsilon = 1e-3,
    name,
  }: CompositeNormArgs = {}) {
    super(name == null ? {} : {name});
    this.dataFormat = dataFormat;
    this.groups = groups;
    this.epsilon = epsilon;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = (
      this.dataFormat === 'channelsLast' ? shape[shape.length - 1] : shape[1]
    ) as number;
    this.gamma = this.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const [gamma, beta] = [this.gamma.read(), this.beta.read()];
    return this.groups == null
      ? instanceNormComposite(x, gamma, beta, this.epsilon, this.dataFormat)
      : groupNormComposite(x, this.groups, gamma, beta, this.epsilon, this.dataFormat);
  }
}
