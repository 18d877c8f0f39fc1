/**
 * What a port from PyTorch uses: InstanceNormalization's running statistics
 * (`trackRunningStats`, `momentum`) against PyTorch's update rule in float64,
 * loading a state dict with setWeights, the 'silu' alias of 'swish' (ops and
 * layers), and GroupNormalization's epsilonMode.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  groupNorm,
  groupNormalization,
  GroupNormalization,
  instanceNorm,
  instanceNormalization,
  InstanceNormalization,
} from '../src/index';

import {saveToMemory} from './layer_util';
import {activate, referenceNorm} from './reference';
import {describeEachBackend, expectClose, randomValues, tf, withoutKernelLeakCheck} from './setup';

/** [N, H, W, C] = [3, 4, 5, 2] (channelsLast) or [3, 2, 4, 5] (channelsFirst). */
const [N, H, W, C] = [3, 4, 5, 2];

/** Per (n, c): the mean and the unbiased variance over the spatial positions, in float64. */
function instanceStatistics(
  x: ArrayLike<number>,
  format: 'channelsLast' | 'channelsFirst',
): {mean: number[][]; unbiased: number[][]} {
  const spatial = H * W;
  const at = (n: number, s: number, c: number) =>
    format === 'channelsLast' ? (n * spatial + s) * C + c : (n * C + c) * spatial + s;
  const mean: number[][] = [];
  const unbiased: number[][] = [];
  for (let n = 0; n < N; n++) {
    mean.push([]);
    unbiased.push([]);
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let s = 0; s < spatial; s++) sum += x[at(n, s, c)];
      const m = sum / spatial;
      let squares = 0;
      for (let s = 0; s < spatial; s++) squares += (x[at(n, s, c)] - m) ** 2;
      mean[n].push(m);
      unbiased[n].push(squares / (spatial - 1));
    }
  }
  return {mean, unbiased};
}

/**
 * PyTorch's InstanceNorm with track_running_stats in training, in float64:
 * aten's instance_norm runs batch_norm on the [1, N * C, ...] view with the
 * running statistics repeated N times (each copy updated with momentum from
 * its own instance's mean and unbiased variance), then stores their mean
 * over the batch.
 */
function pytorchRunningUpdate(
  running: {mean: number[]; variance: number[]},
  x: ArrayLike<number>,
  format: 'channelsLast' | 'channelsFirst',
  momentum: number,
): {mean: number[]; variance: number[]} {
  const {mean, unbiased} = instanceStatistics(x, format);
  const repeatedUpdate = (value: number, batchStatistic: number) =>
    (1 - momentum) * value + momentum * batchStatistic;
  const average = (rows: number[][], c: number, start: number) =>
    rows.reduce((sum, row) => sum + repeatedUpdate(start, row[c]), 0) / rows.length;
  return {
    mean: running.mean.map((m, c) => average(mean, c, m)),
    variance: running.variance.map((v, c) => average(unbiased, c, v)),
  };
}

describeEachBackend('layers for PyTorch ports', env => {
  const {atol, rtol} = env.tolerance;

  for (const format of ['channelsLast', 'channelsFirst'] as const) {
    it(`InstanceNormalization trackRunningStats updates running_mean and running_var as PyTorch does, and infers with them (${format})`, async () => {
      const start = tf.memory().numTensors;
      const shape = format === 'channelsLast' ? [N, H, W, C] : [N, C, H, W];
      const momentum = 0.3;
      const layer = instanceNormalization({
        axis: format === 'channelsLast' ? -1 : 1,
        epsilon: 1e-5,
        trackRunningStats: true,
        momentum,
        activation: 'leakyRelu',
      });
      const gamma = [1.5, -0.5];
      const beta = [0.25, -1];
      // Built by an inference call, which leaves the running statistics as they start.
      tf.tidy(() => {
        layer.apply(tf.zeros(shape));
      });
      const weights = [gamma, beta].map(v => tf.tensor1d(v));
      layer.setWeights([...weights, ...layer.getWeights().slice(2)]);
      tf.dispose(weights);
      let running = {mean: [0, 0], variance: [1, 1]};
      for (let step = 0; step < 3; step++) {
        const values = randomValues(N * H * W * C, 100 + step, 3, step - 1);
        const x = tf.tensor(values, shape);
        const y = tf.tidy(() => layer.apply(x, {training: true}) as tf.Tensor);
        running = pytorchRunningUpdate(running, values, format, momentum);
        // Training normalizes with each instance's own statistics.
        const settings = {epsilon: 1e-5, format, activation: 'leakyRelu' as const};
        const expected = referenceNorm(values, shape, gamma, beta, settings).y;
        expectClose(await y.data(), expected, atol, rtol, `training y, step ${step}`, 1);
        tf.dispose([x, y]);
      }
      const [runningMean, runningVar] = layer.getWeights().slice(2);
      expect(layer.getWeights().length).toBe(4);
      expect(layer.nonTrainableWeights.map(w => w.originalName.split('/').pop())).toEqual([
        'running_mean',
        'running_var',
      ]);
      const meanError = expectClose(
        await runningMean.data(),
        running.mean,
        atol,
        rtol,
        'running_mean',
      );
      const varError = expectClose(
        await runningVar.data(),
        running.variance,
        atol,
        rtol,
        'running_var',
        1,
      );
      // The worst error against PyTorch's rule, for the record.
      console.log(
        `[${env.name}] running stats vs PyTorch's rule (float64), ${format}: ` +
          `running_mean max |err| ${meanError.maxAbs.toExponential(2)}, ` +
          `running_var max |err| ${varError.maxAbs.toExponential(2)}`,
      );

      // Inference: (x - running_mean) / sqrt(running_var + eps) * gamma + beta, then leakyRelu.
      const values = randomValues(N * H * W * C, 200, 2, 0.5);
      const x = tf.tensor(values, shape);
      const y = layer.apply(x) as tf.Tensor;
      const channelOf = (i: number) =>
        format === 'channelsLast' ? i % C : Math.floor(i / (H * W)) % C;
      const expected = Array.from(values, (v, i) => {
        const c = channelOf(i);
        const z =
          ((v - running.mean[c]) / Math.sqrt(running.variance[c] + 1e-5)) * gamma[c] + beta[c];
        return activate('leakyRelu', z);
      });
      expectClose(await y.data(), expected, atol, rtol, 'inference y', 1);
      tf.dispose([x, y]);
      layer.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  }

  it('InstanceNormalization trackRunningStats: fit updates the running statistics, predict uses them, save and load keep them', async () => {
    const model = tfl.sequential({
      layers: [
        instanceNormalization({inputShape: [H, W, C], trackRunningStats: true, epsilon: 1e-5}),
      ],
    });
    const values = randomValues(N * H * W * C, 300, 2, 1);
    const x = tf.tensor4d(values, [N, H, W, C]);
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const target = tf.zerosLike(x);
    await withoutKernelLeakCheck(() =>
      model.fit(x, target, {epochs: 1, batchSize: N, shuffle: false, verbose: 0}),
    );
    const running = pytorchRunningUpdate(
      {mean: [0, 0], variance: [1, 1]},
      values,
      'channelsLast',
      0.1,
    );
    const weights = model.getWeights();
    expectClose(await weights[2].data(), running.mean, atol, rtol, 'running_mean after fit');
    expectClose(await weights[3].data(), running.variance, atol, rtol, 'running_var after fit', 1);
    const config = model.layers[0].getConfig();
    expect(config['trackRunningStats']).toBe(true);
    expect(config['momentum']).toBe(0.1);
    const artifacts = await saveToMemory(model);
    expect(artifacts.weightSpecs!.map(w => w.name.split('/').pop())).toEqual([
      'gamma',
      'beta',
      'running_mean',
      'running_var',
    ]);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(await b.data()).toEqual(await a.data());
    // predict used the running statistics, not the instance's.
    const own = instanceNorm(x, null, null, 1e-5);
    const ownValues = await own.data();
    expect((await a.data()).some((v, i) => Math.abs(v - ownValues[i]) > 1e-2)).toBe(true);
    tf.dispose([x, target, a, b, own]);
    model.dispose();
    loaded.dispose();
  });

  it('loads a PyTorch InstanceNorm2d state dict (weight, bias, running_mean, running_var) with setWeights', async () => {
    // nn.InstanceNorm2d(2, affine=True, track_running_stats=True).state_dict(),
    // its tensors as arrays (num_batches_tracked is not a weight here).
    const stateDict = {
      weight: [1.25, 0.75],
      bias: [0.1, -0.2],
      running_mean: [0.5, -1],
      running_var: [2, 0.25],
    };
    const layer = new InstanceNormalization({axis: 1, epsilon: 1e-5, trackRunningStats: true});
    const values = randomValues(N * C * H * W, 400, 2);
    const x = tf.tensor4d(values, [N, C, H, W]);
    (layer.apply(x) as tf.Tensor).dispose();
    const tensors = Object.values(stateDict).map(v => tf.tensor1d(v));
    layer.setWeights(tensors);
    const y = layer.apply(x) as tf.Tensor;
    const expected = Array.from(values, (v, i) => {
      const c = Math.floor(i / (H * W)) % C;
      const {weight, bias, running_mean: mean, running_var: variance} = stateDict;
      return ((v - mean[c]) / Math.sqrt(variance[c] + 1e-5)) * weight[c] + bias[c];
    });
    expectClose(await y.data(), expected, atol, rtol, 'y', 1);
    tf.dispose([x, y, ...tensors]);
    layer.dispose();
  });

  it('InstanceNormalization rejects bad running-statistics settings, naming the layer', () => {
    expect(() =>
      instanceNormalization({name: 'r', momentum: 1.5, trackRunningStats: true}),
    ).toThrowError(/InstanceNormalization layer 'r': momentum must be a number in \[0, 1\]/);
    expect(() =>
      instanceNormalization({name: 'r', axis: null, trackRunningStats: true}),
    ).toThrowError(
      /InstanceNormalization layer 'r': trackRunningStats needs an integer channel axis/,
    );
    const layer = instanceNormalization({name: 'r1', trackRunningStats: true});
    const x = tf.zeros([2, 1, 1, 3]);
    expect(() => layer.apply(x, {training: true})).toThrowError(
      /InstanceNormalization layer 'r1': trackRunningStats needs more than one value per instance and channel/,
    );
    x.dispose();
    layer.dispose();
  });

  it("'silu' is 'swish': the ops and the layers take it, and a layer's config keeps the name given", async () => {
    const values = randomValues(2 * 3 * 4 * 4, 500, 2);
    const x = tf.tensor4d(values, [2, 3, 4, 4]);
    const expected = referenceNorm(values, x.shape, null, null, {
      epsilon: 1e-5,
      format: 'channelsLast',
      groups: 2,
      activation: 'swish',
    }).y;
    const [op, swish] = [
      groupNorm(x, 2, null, null, 1e-5, 'channelsLast', {activation: 'silu'}),
      groupNorm(x, 2, null, null, 1e-5, 'channelsLast', {activation: 'swish'}),
    ];
    expectClose(await op.data(), expected, atol, rtol, 'groupNorm silu', 1);
    expect(await op.data()).toEqual(await swish.data());
    const layer = groupNormalization({groups: 2, epsilon: 1e-5, activation: 'silu'});
    const y = layer.apply(x) as tf.Tensor;
    expectClose(await y.data(), expected, atol, rtol, 'GroupNormalization silu', 1);
    expect(layer.getConfig()['activation']).toBe('silu');
    const copy = GroupNormalization.fromConfig(GroupNormalization, layer.getConfig());
    expect(copy.getConfig()).toEqual(layer.getConfig());
    const inSilu = instanceNormalization({activation: 'silu'});
    expect(inSilu.getConfig()['activation']).toBe('silu');
    expect(() =>
      instanceNorm(x, null, null, 1e-5, 'channelsLast', {activation: 'SiLU' as never}),
    ).toThrowError(/instanceNorm: option 'activation' must be one of .*'silu'.*but got "SiLU"/);
    tf.dispose([x, op, swish, y]);
    layer.dispose();
  });

  it("GroupNormalization takes epsilonMode: 'stddev' divides by sqrt(variance) + epsilon, and its config keeps it", async () => {
    const values = randomValues(2 * 3 * 3 * 4, 600, 2, 0.5);
    const x = tf.tensor4d(values, [2, 3, 3, 4]);
    const layer = groupNormalization({groups: 2, epsilon: 0.1, epsilonMode: 'stddev'});
    const y = layer.apply(x) as tf.Tensor;
    const expected = referenceNorm(values, x.shape, null, null, {
      epsilon: 0.1,
      format: 'channelsLast',
      groups: 2,
      epsilonMode: 'stddev',
    }).y;
    expectClose(await y.data(), expected, atol, rtol, 'y', 1);
    expect(layer.getConfig()['epsilonMode']).toBe('stddev');
    expect(groupNormalization({groups: 2}).getConfig()['epsilonMode']).toBeUndefined();
    const copy = GroupNormalization.fromConfig(GroupNormalization, layer.getConfig());
    expect(copy.getConfig()).toEqual(layer.getConfig());
    expect(() => groupNormalization({name: 'g', epsilonMode: 'std' as never})).toThrowError(
      /GroupNormalization layer 'g': option 'epsilonMode' must be one of 'variance', 'stddev'/,
    );
    tf.dispose([x, y]);
    layer.dispose();
  });
});
