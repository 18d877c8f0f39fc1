/**
 * The batch / layer norm rows: per call, on shapes users train, the
 * package's fused op and fused layer beside tfjs-layers' own layer
 * (`tf.layers.batchNormalization` / `layerNormalization`, applied with
 * `training: true`) and a copy, side by side in one run (core.ts
 * timeVariants):
 *   copy          tf.neg(x), the bandwidth yardstick;
 *   opFwd         batchNormTraining(x, gamma, beta).y / layerNorm(x, gamma, beta);
 *   tfjsFwd       tfjs-layers' layer, training (BN: moments, batchNorm and the
 *                 moving-average updates);
 *   fusedFwd      the package's layer, training (BN: its moving averages too);
 *   opGrad        tf.grads of the op w.r.t. x, gamma and beta for a fixed dy;
 *   tfjsGrad      tf.grads of tfjs-layers' layer w.r.t. x and its gamma and
 *                 beta variables (passed as xs: the tape's path reaches them);
 *   fusedGrad     the same through the package's layer.
 * BN rows are channelsLast (axis -1): tfjs-layers' layer cannot be
 * differentiated with axis 1. Epsilon 1e-3 (Keras' default) throughout.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {batchNormalization, batchNormTraining, layerNorm, layerNormalization} from '../src/index';
import {randomValues} from '../support/index';
import type {BenchConfig, Call} from './core';
import {countPrograms, log, recording, timeVariants} from './core';
import {
  FAMILY_VARIANTS,
  type FamilyCase,
  familyLabel,
  type FamilyOp,
  type FamilyVariant,
} from './family_cases';

export interface FamilyResult {
  backend: string;
  label: string;
  op: FamilyOp;
  shape: number[];
  calls: Record<FamilyVariant, number>;
  ms: Record<FamilyVariant, number>;
  msRounds: Record<FamilyVariant, number[]>;
  kernelMs: Partial<Record<FamilyVariant, number>>;
  /** GPU programs (dispatches, draws) one call runs; webgl and webgpu. */
  programs?: Partial<Record<FamilyVariant, number>>;
}

const EPSILON = 1e-3;

/** The layer's gamma and beta variables (the tensors its call reads). */
function gammaBeta(layer: tfl.layers.Layer): tf.Tensor[] {
  const byName = (part: string) => {
    const w = layer.trainableWeights.find(v => v.originalName.endsWith(part));
    if (!w) throw new Error(`${layer.getClassName()} has no ${part} weight`);
    return w.read();
  };
  return [byName('gamma'), byName('beta')];
}

function setUpFamily(c: FamilyCase): {calls: Record<FamilyVariant, Call>; dispose: () => void} {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const channels = c.shape[c.shape.length - 1];
  const x = tf.tensor(randomValues(size, 1, 2, 0.5), c.shape);
  const dy = tf.tensor(randomValues(size, 2, 1, 0), c.shape);
  const gamma = tf.tensor1d(randomValues(channels, 3, 0.5, 1));
  const beta = tf.tensor1d(randomValues(channels, 4, 0.5, 0));
  const config = {axis: -1, epsilon: EPSILON};
  const bn = c.op === 'batchNorm';
  const tfjsLayer = bn
    ? tfl.layers.batchNormalization(config)
    : tfl.layers.layerNormalization(config);
  const fusedLayer = bn ? batchNormalization(config) : layerNormalization(config);
  const op = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor =>
    bn
      ? batchNormTraining(a, g, b, EPSILON, 'channelsLast').y
      : layerNorm(a, g, b, EPSILON, {axis: -1});
  const training = (layer: tfl.layers.Layer) => (a: tf.Tensor) =>
    layer.apply(a, {training: true}) as tf.Tensor;
  // Built (their weights made) before the calls: tf.grads needs the variables.
  tf.dispose(tfjsLayer.apply(x, {training: true}) as tf.Tensor);
  tf.dispose(fusedLayer.apply(x, {training: true}) as tf.Tensor);
  const layerGrad = (layer: tfl.layers.Layer): Call => {
    const f = training(layer);
    const g = tf.grads((a: tf.Tensor) => f(a));
    const weights = gammaBeta(layer);
    return () => g([x, ...weights], dy);
  };
  const opGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => op(a, g, b));
  return {
    calls: {
      copy: () => [tf.neg(x)],
      opFwd: () => [tf.tidy(() => op(x, gamma, beta))],
      tfjsFwd: () => [tf.tidy(() => training(tfjsLayer)(x))],
      fusedFwd: () => [tf.tidy(() => training(fusedLayer)(x))],
      opGrad: () => opGrads([x, gamma, beta], dy),
      tfjsGrad: layerGrad(tfjsLayer),
      fusedGrad: layerGrad(fusedLayer),
    },
    dispose: () => {
      tf.dispose([x, dy, gamma, beta]);
      tfjsLayer.dispose();
      fusedLayer.dispose();
    },
  };
}

export async function benchFamilyCase(
  backend: string,
  c: FamilyCase,
  config: BenchConfig,
): Promise<FamilyResult> {
  const {calls, dispose} = setUpFamily(c);
  try {
    const timing = await timeVariants(backend, FAMILY_VARIANTS, calls, config);
    const result: FamilyResult = {
      backend,
      label: familyLabel(c),
      op: c.op,
      shape: c.shape,
      ...timing,
    };
    if (backend === 'webgl' || backend === 'webgpu') {
      result.programs = Object.fromEntries(
        FAMILY_VARIANTS.map(v => [v, countPrograms(calls[v])]),
      ) as Partial<Record<FamilyVariant, number>>;
    }
    return result;
  } finally {
    dispose();
  }
}

/** Every family row of `cases` on the active backend; a failing row is recorded in `errors`. */
export async function benchFamily(
  backend: string,
  cases: FamilyCase[],
  config: BenchConfig,
  errors: string[],
): Promise<FamilyResult[]> {
  const results: FamilyResult[] = [];
  for (const c of cases) {
    const label = `${backend} ${familyLabel(c)}`;
    const result = await recording(label, errors, () => benchFamilyCase(backend, c, config));
    if (!result) continue;
    results.push(result);
    log(`${label}: ${FAMILY_VARIANTS.map(v => `${v} ${result.ms[v].toFixed(3)}`).join(', ')} ms`);
  }
  return results;
}
