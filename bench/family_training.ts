/**
 * The batch / layer norm training steps: ms per `model.trainOnBatch` (Adam,
 * MSE) of two small nets, each built with tfjs-layers' own norm layers
 * (`tfjs`), with the package's fused layers (`fused`) and with no norm
 * (`none`: the same layers with the norms taken out), run interleaved:
 *   bnCnn    a CIFAR-style ResNet on [batch, size, size, 3]: conv 3x3 32, two
 *            residual blocks of 32, conv 3x3 64 stride 2, one residual block
 *            of 64 (each conv followed by BatchNormalization, 8 in all), global
 *            average pooling, dense 10;
 *   lnMixer  an MLP-Mixer on [batch, tokens, dim]: a dense embedding, two
 *            blocks (LayerNormalization, token MLP through a permute, residual;
 *            LayerNormalization, channel MLP 4x dim, residual), a final
 *            LayerNormalization (5 in all) and a dense head.
 * torch_bench.py builds the same nets in PyTorch.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {batchNormalization, layerNormalization} from '../src/index';
import {median, randomValues} from '../support/index';
import {log} from './core';
import {
  FAMILY_NORMS,
  type FamilyNet,
  type FamilyNormKind,
  type FamilyTrainingConfig,
} from './family_cases';

export interface FamilyTrainingResult {
  backend: string;
  net: FamilyNet;
  input: number[];
  norms: number;
  /** Median ms per trainOnBatch of each net. */
  msPerStep: Record<FamilyNormKind, number>;
  msRounds: Record<FamilyNormKind, number[]>;
}

type Sym = tfl.SymbolicTensor;

/** A norm layer of `kind` (undefined: no norm), Keras' defaults but epsilon 1e-3 spelled out. */
function normLayer(net: FamilyNet, kind: FamilyNormKind): tfl.layers.Layer | undefined {
  const config = {axis: -1, epsilon: 1e-3};
  if (kind === 'none') return undefined;
  if (net === 'bnCnn') {
    return kind === 'tfjs' ? tfl.layers.batchNormalization(config) : batchNormalization(config);
  }
  return kind === 'tfjs' ? tfl.layers.layerNormalization(config) : layerNormalization(config);
}

function compile(input: Sym, output: Sym): tfl.LayersModel {
  const model = tfl.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError'});
  return model;
}

function bnCnn(c: FamilyTrainingConfig['cnn'], kind: FamilyNormKind) {
  let norms = 0;
  const norm = (t: Sym): Sym => {
    norms++;
    const layer = normLayer('bnCnn', kind);
    return layer ? (layer.apply(t) as Sym) : t;
  };
  const relu = (t: Sym): Sym => tfl.layers.reLU().apply(t) as Sym;
  const conv = (t: Sym, filters: number, strides = 1): Sym =>
    tfl.layers.conv2d({filters, kernelSize: 3, strides, padding: 'same'}).apply(t) as Sym;
  const residual = (t: Sym, filters: number): Sym => {
    const branch = norm(conv(relu(norm(conv(t, filters))), filters));
    return relu(tfl.layers.add().apply([t, branch]) as Sym);
  };
  const input = tfl.input({shape: [c.size, c.size, 3]});
  let t = relu(norm(conv(input, 32)));
  t = residual(residual(t, 32), 32);
  t = relu(norm(conv(t, 64, 2)));
  t = residual(t, 64);
  t = tfl.layers.globalAveragePooling2d({}).apply(t) as Sym;
  const output = tfl.layers.dense({units: 10}).apply(t) as Sym;
  return {
    model: compile(input, output),
    norms,
    input: [c.batch, c.size, c.size, 3],
    output: [c.batch, 10],
  };
}

function lnMixer(c: FamilyTrainingConfig['mixer'], kind: FamilyNormKind) {
  let norms = 0;
  const norm = (t: Sym): Sym => {
    norms++;
    const layer = normLayer('lnMixer', kind);
    return layer ? (layer.apply(t) as Sym) : t;
  };
  const dense = (t: Sym, units: number, activation?: 'relu'): Sym =>
    tfl.layers.dense({units, ...(activation ? {activation} : {})}).apply(t) as Sym;
  const permute = (t: Sym): Sym => tfl.layers.permute({dims: [2, 1]}).apply(t) as Sym;
  const add = (a: Sym, b: Sym): Sym => tfl.layers.add().apply([a, b]) as Sym;
  const input = tfl.input({shape: [c.tokens, c.dim]});
  let t = dense(input, c.dim);
  for (let i = 0; i < 2; i++) {
    t = add(t, permute(dense(dense(permute(norm(t)), 2 * c.tokens, 'relu'), c.tokens)));
    t = add(t, dense(dense(norm(t), 4 * c.dim, 'relu'), c.dim));
  }
  const output = dense(norm(t), c.dim);
  const shape = [c.batch, c.tokens, c.dim];
  return {model: compile(input, output), norms, input: shape, output: shape};
}

/** The three nets of `net` (the fused one where the package has its layers), trained interleaved. */
export async function benchFamilyTraining(
  backend: string,
  net: FamilyNet,
  config: FamilyTrainingConfig,
): Promise<FamilyTrainingResult> {
  const kinds = FAMILY_NORMS;
  const nets = kinds.map(k => (net === 'bnCnn' ? bnCnn(config.cnn, k) : lnMixer(config.mixer, k)));
  const {input, output, norms} = nets[0];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const xs = tf.tensor(randomValues(size(input), 5, 1, 0), input);
  const ys = tf.tensor(randomValues(size(output), 6, 1, 0), output);
  const samples = kinds.map(() => [] as number[]);
  try {
    for (const n of nets) {
      for (let i = 0; i < config.warmupSteps; i++) await n.model.trainOnBatch(xs, ys);
    }
    for (let r = 0; r < config.rounds; r++) {
      for (const [i, n] of nets.entries()) {
        const start = performance.now();
        // trainOnBatch reads the loss back: each step ends with a sync.
        for (let s = 0; s < config.steps; s++) await n.model.trainOnBatch(xs, ys);
        samples[i].push((performance.now() - start) / config.steps);
      }
    }
  } finally {
    for (const n of nets) {
      n.model.optimizer.dispose();
      n.model.dispose();
    }
    tf.dispose([xs, ys]);
  }
  const result: FamilyTrainingResult = {
    backend,
    net,
    input,
    norms,
    msPerStep: Object.fromEntries(kinds.map((k, i) => [k, median(samples[i])])) as Record<
      FamilyNormKind,
      number
    >,
    msRounds: Object.fromEntries(kinds.map((k, i) => [k, samples[i]])) as Record<
      FamilyNormKind,
      number[]
    >,
  };
  log(`${backend} ${net} training: ${JSON.stringify(result.msPerStep)}`);
  return result;
}
