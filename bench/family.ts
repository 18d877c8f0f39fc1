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
 *
 * The fused API is read from the package's exports at run time: a build of
 * the package without it (the `before` bundle of a side-by-side run) times
 * the copy and tfjs-layers' layer alone, its fused variants recorded as
 * missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import * as pkg from '../src/index';
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

/** The family API as the package exports it (looked up at run time, see above). */
export interface FamilyApi {
  batchNormTraining?: (
    x: tf.Tensor,
    gamma: tf.Tensor | null | undefined,
    beta: tf.Tensor | null | undefined,
    epsilon?: number,
    dataFormat?: 'channelsLast' | 'channelsFirst',
    options?: Record<string, unknown>,
  ) => {y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor};
  layerNorm?: (
    x: tf.Tensor,
    gamma?: tf.Tensor | null,
    beta?: tf.Tensor | null,
    epsilon?: number,
    options?: {axis?: number | number[]},
  ) => tf.Tensor;
  batchNormalization?: (args: Record<string, unknown>) => tfl.layers.Layer;
  layerNormalization?: (args: Record<string, unknown>) => tfl.layers.Layer;
}

export const family = pkg as unknown as FamilyApi;

export interface FamilyResult {
  backend: string;
  label: string;
  op: FamilyOp;
  shape: number[];
  /** Variants the package of this build lacks (timed as missing). */
  missing: FamilyVariant[];
  calls: Partial<Record<FamilyVariant, number>>;
  ms: Partial<Record<FamilyVariant, number>>;
  msRounds: Partial<Record<FamilyVariant, number[]>>;
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

function setUpFamily(c: FamilyCase): {
  calls: Partial<Record<FamilyVariant, Call>>;
  dispose: () => void;
} {
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
  const fusedFactory = bn ? family.batchNormalization : family.layerNormalization;
  const fusedLayer = fusedFactory?.(config);
  const op: ((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor) | undefined = bn
    ? family.batchNormTraining &&
      ((a, g, b) => family.batchNormTraining!(a, g, b, EPSILON, 'channelsLast').y)
    : family.layerNorm && ((a, g, b) => family.layerNorm!(a, g, b, EPSILON, {axis: -1}));
  const training = (layer: tfl.layers.Layer) => (a: tf.Tensor) =>
    layer.apply(a, {training: true}) as tf.Tensor;
  // Built (its weights made) before the calls: tf.grads needs the variables.
  tf.dispose(tfjsLayer.apply(x, {training: true}) as tf.Tensor);
  if (fusedLayer) tf.dispose(fusedLayer.apply(x, {training: true}) as tf.Tensor);
  const layerGrad = (layer: tfl.layers.Layer): Call => {
    const f = training(layer);
    const g = tf.grads((a: tf.Tensor) => f(a));
    const weights = gammaBeta(layer);
    return () => g([x, ...weights], dy);
  };
  const calls: Partial<Record<FamilyVariant, Call>> = {
    copy: () => [tf.neg(x)],
    tfjsFwd: () => [tf.tidy(() => training(tfjsLayer)(x))],
    tfjsGrad: layerGrad(tfjsLayer),
  };
  if (op) {
    const g = tf.grads((a: tf.Tensor, ga: tf.Tensor, b: tf.Tensor) => op(a, ga, b));
    calls.opFwd = () => [tf.tidy(() => op(x, gamma, beta))];
    calls.opGrad = () => g([x, gamma, beta], dy);
  }
  if (fusedLayer) {
    calls.fusedFwd = () => [tf.tidy(() => training(fusedLayer)(x))];
    calls.fusedGrad = layerGrad(fusedLayer);
  }
  return {
    calls,
    dispose: () => {
      tf.dispose([x, dy, gamma, beta]);
      tfjsLayer.dispose();
      fusedLayer?.dispose();
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
    const present = FAMILY_VARIANTS.filter(v => calls[v] !== undefined);
    const timing = await timeVariants(
      backend,
      present,
      calls as Record<FamilyVariant, Call>,
      config,
    );
    const result: FamilyResult = {
      backend,
      label: familyLabel(c),
      op: c.op,
      shape: c.shape,
      missing: FAMILY_VARIANTS.filter(v => calls[v] === undefined),
      ...timing,
    };
    if (backend === 'webgl' || backend === 'webgpu') {
      result.programs = Object.fromEntries(
        present.map(v => [v, countPrograms(calls[v] as Call)]),
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
    log(
      `${label}: ${FAMILY_VARIANTS.map(v => `${v} ${result.ms[v]?.toFixed(3) ?? '-'}`).join(', ')} ms`,
    );
  }
  return results;
}
