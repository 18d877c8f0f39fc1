/**
 * The training-step section: ms per `model.trainOnBatch` (Adam, MSE) of a
 * Johnson-style style-transfer network on 1 x size x size x 3, built four
 * ways and run interleaved: with the package's InstanceNormalization layer
 * followed by a ReLU layer (`layer`), with the layer's fused ReLU in place of
 * that pair (`block`), with a composite (tf.moments) norm layer, and with no
 * norm at all (the same network with the norm layers taken out: the same
 * convolutions, biases and ReLUs). The difference to the no-norm network is
 * the time the norms take.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {hasFusedKernels, instanceNormalization} from '../src/index';
import {CompositeNorm, median, randomValues} from '../support/index';
import {type TrainingConfig} from './core';

export const NORMS = ['layer', 'block', 'composite', 'none'] as const;
export type NormKind = (typeof NORMS)[number];

export interface TrainingResult {
  backend: string;
  fusedKernels: boolean;
  /** The input: [1, size, size, 3]. */
  size: number;
  norms: number;
  /** Median ms per trainOnBatch of each network. */
  msPerStep: Record<NormKind, number>;
  msRounds: Record<NormKind, number[]>;
}

type Sym = tfl.SymbolicTensor;

/**
 * Johnson et al.'s transformation network: conv 9x9 32, conv 3x3 64 and 128
 * with stride 2, three residual blocks of two 3x3 128 convs, two stride-2
 * transposed convs (64, 32), conv 9x9 to 3. Each conv but the last is
 * followed by a norm (11 in all) and, outside the residual sums, a ReLU:
 * `normRelu` is that pair (one fused layer in the `block` net), `norm` a norm
 * that a sum follows.
 */
export function styleNet(size: number, kind: NormKind): {model: tfl.LayersModel; norms: number} {
  let norms = 0;
  const norm = (t: Sym): Sym => {
    norms++;
    if (kind === 'none') return t;
    const layer = kind === 'composite' ? new CompositeNorm() : instanceNormalization({axis: -1});
    return layer.apply(t) as Sym;
  };
  const relu = (t: Sym): Sym => tfl.layers.reLU().apply(t) as Sym;
  const normRelu = (t: Sym): Sym => {
    if (kind !== 'block') return relu(norm(t));
    norms++;
    return instanceNormalization({axis: -1, activation: 'relu'}).apply(t) as Sym;
  };
  const conv = (t: Sym, filters: number, kernelSize: number, strides = 1): Sym =>
    tfl.layers.conv2d({filters, kernelSize, strides, padding: 'same'}).apply(t) as Sym;
  const up = (t: Sym, filters: number): Sym =>
    tfl.layers
      .conv2dTranspose({filters, kernelSize: 3, strides: 2, padding: 'same'})
      .apply(t) as Sym;

  const input = tfl.input({shape: [size, size, 3]});
  let t = normRelu(conv(input, 32, 9));
  t = normRelu(conv(t, 64, 3, 2));
  t = normRelu(conv(t, 128, 3, 2));
  for (let i = 0; i < 3; i++) {
    const branch = norm(conv(normRelu(conv(t, 128, 3)), 128, 3));
    t = tfl.layers.add().apply([t, branch]) as Sym;
  }
  t = normRelu(up(t, 64));
  t = normRelu(up(t, 32));
  const output = conv(t, 3, 9);
  const model = tfl.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError'});
  return {model, norms};
}

/**
 * Throws unless `model` is `bare` with norm layers added: the same layers
 * otherwise, in order, with the same weight shapes.
 */
function checkSameNet(model: tfl.LayersModel, bare: tfl.LayersModel): void {
  const isNorm = (l: tfl.layers.Layer) =>
    l instanceof CompositeNorm || l.getClassName().includes('InstanceNormalization');
  const describe = (m: tfl.LayersModel) =>
    m.layers
      .filter(l => !isNorm(l))
      .map(l => `${l.getClassName()}[${l.weights.map(w => w.shape.join('x'))}]`)
      .join(' ');
  if (describe(model) !== describe(bare)) {
    throw new Error(`the training nets differ beyond their norm layers: ${model.name}`);
  }
}

/** Disposes the model and its optimizer (a model owns only an optimizer it made). */
function disposeNet(model: tfl.LayersModel): void {
  model.optimizer.dispose();
  model.dispose();
}

export async function benchTraining(
  backend: string,
  config: TrainingConfig,
): Promise<TrainingResult> {
  const nets = Object.fromEntries(NORMS.map(k => [k, styleNet(config.size, k)])) as Record<
    NormKind,
    ReturnType<typeof styleNet>
  >;
  checkSameNet(nets.layer.model, nets.none.model);
  checkSameNet(nets.composite.model, nets.none.model);
  const shape = [1, config.size, config.size, 3];
  const size = config.size * config.size * 3;
  const xs = tf.tensor(randomValues(size, 5, 1, 0), shape);
  const ys = tf.tensor(randomValues(size, 6, 1, 0), shape);
  const samples = Object.fromEntries(NORMS.map(k => [k, [] as number[]])) as Record<
    NormKind,
    number[]
  >;
  for (const kind of NORMS) {
    for (let i = 0; i < config.warmupSteps; i++) await nets[kind].model.trainOnBatch(xs, ys);
  }
  for (let r = 0; r < config.rounds; r++) {
    for (const kind of NORMS) {
      const start = performance.now();
      // trainOnBatch reads the loss back: each step ends with a sync.
      for (let i = 0; i < config.steps; i++) await nets[kind].model.trainOnBatch(xs, ys);
      samples[kind].push((performance.now() - start) / config.steps);
    }
  }
  for (const kind of NORMS) disposeNet(nets[kind].model);
  tf.dispose([xs, ys]);
  return {
    backend,
    fusedKernels: hasFusedKernels(),
    size: config.size,
    norms: nets.layer.norms,
    msPerStep: Object.fromEntries(NORMS.map(k => [k, median(samples[k])])) as Record<
      NormKind,
      number
    >,
    msRounds: samples,
  };
}
