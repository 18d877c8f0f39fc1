/**
 * The fused-block rows: for each block (cases.ts BLOCK_CASES) the calls the
 * bench times side by side, all through the package's public functions and
 * tfjs-core:
 *   copy       tf.neg(x), the bandwidth yardstick;
 *   norm       the plain fused norm of the same x (no activation, [C] gamma/beta);
 *   block      the fused block: one op (activation, [N, C] gamma/beta or AdaIN
 *              inside the package's kernels);
 *   split      the fused norm followed by the separate tfjs ops that finish
 *              the block (what an app writes without the block);
 *   comp       the composite: tf.moments and built-in ops throughout.
 * Each forward, and forward + gradient (tf.grads for a fixed dy, with respect
 * to x and every trainable input of the block).
 */
import * as tf from '@tensorflow/tfjs-core';

import {
  adaptiveInstanceNorm,
  groupNorm,
  groupNormComposite,
  instanceNorm,
  instanceNormComposite,
} from '../src/index';
import {type DataFormat, randomValues} from '../support/index';
import type {BlockCase, BlockVariant} from './cases';
import {channelsOf, elementsOf} from './cases';
import type {Call} from './core';

type Fn = (...inputs: tf.Tensor[]) => tf.Tensor;

/** One block's four functions of the same inputs (the first is x). */
interface BlockFns {
  inputs: tf.Tensor[];
  norm: Fn;
  block: Fn;
  split: Fn;
  comp: Fn;
  /** Tensors the closures hold (freed with the inputs). */
  held: tf.Tensor[];
}

/** Spatial axes of a tensor of rank `rank` in `dataFormat`. */
const spatialAxes = (rank: number, dataFormat: DataFormat): number[] =>
  Array.from({length: rank - 2}, (_, i) => i + (dataFormat === 'channelsLast' ? 1 : 2));

/** How a per-(n, c) [N, C] tensor broadcasts against x. */
function perInstanceShape(shape: number[], dataFormat: DataFormat): number[] {
  const [batch] = shape;
  const channels = dataFormat === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const ones = Array.from({length: shape.length - 2}, () => 1);
  return dataFormat === 'channelsLast' ? [batch, ...ones, channels] : [batch, channels, ...ones];
}

/** y * scale + shift with [N, C] scale and shift. */
function affinePerInstance(
  y: tf.Tensor,
  scale: tf.Tensor,
  shift: tf.Tensor,
  f: DataFormat,
): tf.Tensor {
  const shape = perInstanceShape(y.shape, f);
  return tf.add(tf.mul(y, tf.reshape(scale, shape)), tf.reshape(shift, shape));
}

const swish = (z: tf.Tensor): tf.Tensor => tf.mul(z, tf.sigmoid(z));

function blockFns(c: BlockCase): BlockFns {
  const channels = channelsOf(c);
  const f = c.dataFormat;
  const x = tf.tensor(randomValues(elementsOf(c), 1, 2, 0.5), c.shape);
  const gamma = tf.tensor1d(randomValues(channels, 3, 0.5, 1));
  const beta = tf.tensor1d(randomValues(channels, 4, 0.5, 0));
  switch (c.block) {
    case 'inRelu': {
      const eps = 1e-5;
      return {
        inputs: [x, gamma, beta],
        norm: (a, g, b) => instanceNorm(a, g, b, eps, f),
        block: (a, g, b) => instanceNorm(a, g, b, eps, f, {activation: 'relu'}),
        split: (a, g, b) => tf.relu(instanceNorm(a, g, b, eps, f)),
        comp: (a, g, b) => tf.relu(instanceNormComposite(a, g, b, eps, f)),
        held: [],
      };
    }
    case 'gnSilu': {
      const eps = 1e-6;
      const groups = c.groups ?? 32;
      return {
        inputs: [x, gamma, beta],
        norm: (a, g, b) => groupNorm(a, groups, g, b, eps, f),
        block: (a, g, b) => groupNorm(a, groups, g, b, eps, f, {activation: 'swish'}),
        split: (a, g, b) => swish(groupNorm(a, groups, g, b, eps, f)),
        comp: (a, g, b) => swish(groupNormComposite(a, groups, g, b, eps, f)),
        held: [],
      };
    }
    case 'adain': {
      const eps = 1e-5;
      const styleShape = c.styleShape ?? c.shape;
      const style = tf.tensor(
        randomValues(
          styleShape.reduce((p, d) => p * d, 1),
          5,
          1.5,
          0.2,
        ),
        styleShape,
      );
      tf.dispose([gamma, beta]);
      /** The style's per-(n, c) std and mean, by tf.moments. */
      const styleStats = (s: tf.Tensor) => {
        const {mean, variance} = tf.moments(s, spatialAxes(s.rank, f));
        return {std: tf.sqrt(tf.add(variance, eps)), mean};
      };
      return {
        inputs: [x, style],
        norm: a => instanceNorm(a, null, null, eps, f),
        block: (a, s) => adaptiveInstanceNorm(a, s, eps, f),
        split: (a, s) => {
          const {std, mean} = styleStats(s);
          return affinePerInstance(instanceNorm(a, null, null, eps, f), std, mean, f);
        },
        comp: (a, s) => {
          const {std, mean} = styleStats(s);
          return affinePerInstance(instanceNormComposite(a, null, null, eps, f), std, mean, f);
        },
        held: [],
      };
    }
    case 'conditional': {
      const eps = 1e-5;
      const styles = c.styles ?? 4;
      const batch = c.shape[0];
      const gammaTable = tf.tensor2d(randomValues(styles * channels, 6, 0.5, 1), [
        styles,
        channels,
      ]);
      const betaTable = tf.tensor2d(randomValues(styles * channels, 7, 0.5, 0), [styles, channels]);
      // Image n paints in style n mod styles. The rows are picked by a
      // one-hot matMul (as a layer given style weights does): the gradient of
      // tf.gather needs UnsortedSegmentSum, which tfjs' wasm backend lacks.
      const oneHot = tf.tidy(() => {
        const ids = tf.tensor1d(
          Array.from({length: batch}, (_, n) => n % styles),
          'int32',
        );
        return tf.cast(tf.oneHot(ids, styles), 'float32');
      });
      const rows = (table: tf.Tensor) => tf.matMul(oneHot, table);
      return {
        inputs: [x, gammaTable, betaTable],
        norm: a => instanceNorm(a, gamma, beta, eps, f),
        block: (a, gt, bt) => instanceNorm(a, rows(gt), rows(bt), eps, f),
        split: (a, gt, bt) =>
          affinePerInstance(instanceNorm(a, null, null, eps, f), rows(gt), rows(bt), f),
        comp: (a, gt, bt) =>
          affinePerInstance(instanceNormComposite(a, null, null, eps, f), rows(gt), rows(bt), f),
        held: [oneHot, gamma, beta],
      };
    }
  }
}

/**
 * The tensors of a block row and its nine calls; `dispose` frees the tensors.
 * The plain norm's gradient is taken with respect to x, and its [C] gamma/beta
 * where they are the block's inputs too.
 */
export function setUpBlock(c: BlockCase): {
  calls: Record<BlockVariant, Call>;
  dispose: () => void;
} {
  const fns = blockFns(c);
  const {inputs} = fns;
  const [x] = inputs;
  const dy = tf.tensor(randomValues(elementsOf(c), 2, 1, 0), c.shape);
  // The plain norm of the AdaIN and conditional rows takes x alone (its [C]
  // gamma/beta, if any, are held by the closure).
  const normInputs = c.block === 'conditional' || c.block === 'adain' ? [x] : inputs;
  const grads = (fn: Fn, args: tf.Tensor[]): Call => {
    const g = tf.grads((...a: tf.Tensor[]) => fn(...a));
    return () => g(args, dy);
  };
  return {
    calls: {
      copy: () => [tf.neg(x)],
      normFwd: () => [fns.norm(...normInputs)],
      blockFwd: () => [tf.tidy(() => fns.block(...inputs))],
      splitFwd: () => [tf.tidy(() => fns.split(...inputs))],
      compFwd: () => [tf.tidy(() => fns.comp(...inputs))],
      normGrad: grads(fns.norm, normInputs),
      blockGrad: grads(fns.block, inputs),
      splitGrad: grads(fns.split, inputs),
      compGrad: grads(fns.comp, inputs),
    },
    dispose: () => tf.dispose([...inputs, dy, ...fns.held]),
  };
}
