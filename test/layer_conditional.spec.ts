/**
 * ConditionalInstanceNormalization (style tables, ids or mixing weights) and
 * AdaptiveInstanceNormalization (AdaIN) layers: forward against the float64
 * reference, training through the fused kernels, save and load.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {
  AdaptiveInstanceNormalization,
  ConditionalInstanceNormalization,
  InstanceNorm,
  InstanceNormGrad,
} from '../src/index';

import {saveToMemory, weightValues} from './layer_util';
import {gpuBackendKind, valuesInCpuMemory} from '../src/cpu_values';

import {referenceAdaIN, referenceNorm} from './reference';
import {describeEachBackend, expectClose, randomValues, tf, withoutKernelLeakCheck} from './setup';

const STYLES = 3;
const C = 4;

/** Rows of a [STYLES, C] table mixed by [N, STYLES] weights, in float64. */
function mixRows(table: ArrayLike<number>, weights: number[][]): number[] {
  return weights.flatMap(w =>
    Array.from({length: C}, (_, c) => w.reduce((sum, ws, s) => sum + ws * table[s * C + c], 0)),
  );
}

function conditionalModel(format: 'channelsLast' | 'channelsFirst', styleInput: 'ids' | 'weights') {
  const shape = format === 'channelsLast' ? [5, 3, C] : [C, 5, 3];
  const x = tfl.input({shape});
  const style =
    styleInput === 'ids' ? tfl.input({shape: [1], dtype: 'int32'}) : tfl.input({shape: [STYLES]});
  const norm = new ConditionalInstanceNormalization({
    numStyles: STYLES,
    axis: format === 'channelsLast' ? -1 : 1,
    activation: 'relu',
    gammaInitializer: tfl.initializers.randomUniform({minval: 0.5, maxval: 1.5, seed: 3}),
    betaInitializer: tfl.initializers.randomUniform({minval: -0.5, maxval: 0.5, seed: 4}),
  });
  const y = norm.apply([x, style]) as tfl.SymbolicTensor;
  return {model: tfl.model({inputs: [x, style], outputs: y}), norm, shape};
}

/**
 * `ids` + 0 computed by the backend of `family`; on webgl and webgpu by a GPU
 * program (tfjs' forwarding of small ops to the CPU turned off), so that the
 * result is only on the GPU.
 */
function computedOnDevice(ids: tf.Tensor, family: string): tf.Tensor {
  const forward = {webgl: 'WEBGL_CPU_FORWARD', webgpu: 'WEBGPU_CPU_FORWARD'}[family];
  if (forward == null) return tf.tidy(() => tf.add(ids, tf.scalar(0, 'int32')));
  const saved = tf.env().getBool(forward);
  tf.env().set(forward, false);
  try {
    return tf.tidy(() => tf.add(ids, tf.scalar(0, 'int32')));
  } finally {
    tf.env().set(forward, saved);
  }
}

describeEachBackend('conditional and adaptive instance normalization layers', env => {
  const {atol, rtol} = env.tolerance;

  for (const format of ['channelsLast', 'channelsFirst'] as const) {
    it(`ConditionalInstanceNormalization picks table rows by style id (${format})`, async () => {
      const start = tf.memory().numTensors;
      const {model, norm, shape} = conditionalModel(format, 'ids');
      const x = tf.tensor(randomValues(4 * 60, 11, 2, 0.3), [4, ...shape]);
      const ids = tf.tensor1d([2, 0, 2, 1], 'int32');
      const y = model.predict([x, ids]) as tf.Tensor;
      const [gamma, beta] = await weightValues(model);
      const pick = (table: Float32Array) =>
        [2, 0, 2, 1].flatMap(s => [...table.slice(s * C, s * C + C)]);
      const expected = referenceNorm(await x.data(), x.shape, pick(gamma), pick(beta), {
        epsilon: norm.epsilon,
        format,
        activation: 'relu',
      }).y;
      expectClose(await y.data(), expected, atol, rtol, 'y', 1);
      tf.dispose([x, ids, y]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  }

  it('ConditionalInstanceNormalization mixes the tables by style weights (Magenta)', async () => {
    const {model, norm, shape} = conditionalModel('channelsLast', 'weights');
    const mix = [
      [1, 0, 0],
      [0.25, 0.75, 0],
      [0.2, 0.3, 0.5],
    ];
    const x = tf.tensor(randomValues(3 * 60, 12, 2), [3, ...shape]);
    const w = tf.tensor2d(mix);
    const y = model.predict([x, w]) as tf.Tensor;
    const [gamma, beta] = await weightValues(model);
    const expected = referenceNorm(
      await x.data(),
      x.shape,
      mixRows(gamma, mix),
      mixRows(beta, mix),
      {
        epsilon: norm.epsilon,
        format: 'channelsLast',
        activation: 'relu',
      },
    ).y;
    expectClose(await y.data(), expected, atol, rtol, 'y', 1);
    tf.dispose([x, w, y]);
    model.dispose();
  });

  it('ConditionalInstanceNormalization trains through the fused kernels, only the rows it used, and round-trips', async () => {
    const {model, shape} = conditionalModel('channelsLast', 'ids');
    const x = tf.tensor(randomValues(4 * 60, 13, 2), [4, ...shape]);
    const ids = tf.tensor1d([0, 2, 0, 2], 'int32');
    const target = tf.tensor(randomValues(4 * 60, 14, 1, 0.5), [4, ...shape]);
    const before = await weightValues(model);
    model.compile({optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError'});
    const train = () =>
      withoutKernelLeakCheck(() =>
        tf.profile(
          () => model.fit([x, ids], target, {epochs: 2, batchSize: 4, verbose: 0}) as never,
        ),
      );
    const info = await train();
    if (env.fused) {
      expect(info.kernelNames).toContain(InstanceNorm);
      expect(info.kernelNames).toContain(InstanceNormGrad);
    }
    const after = await weightValues(model);
    for (const [t, table] of after.entries()) {
      // Style 1 was never picked: its row keeps its values; the others moved.
      expect(table.slice(C, 2 * C)).toEqual(before[t].slice(C, 2 * C));
      expect(table.slice(0, C)).not.toEqual(before[t].slice(0, C));
    }
    const artifacts = await saveToMemory(model);
    expect(JSON.stringify(artifacts.modelTopology)).toContain('"num_styles":3');
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    const [a, b] = [model.predict([x, ids]) as tf.Tensor, loaded.predict([x, ids]) as tf.Tensor];
    expect(await b.data()).toEqual(await a.data());
    expect(loaded.layers[2].getConfig()).toEqual(model.layers[2].getConfig());
    tf.dispose([x, ids, target, a, b]);
    model.dispose();
    loaded.dispose();
  });

  /** Whether the environment's backend keeps tensors on a GPU (webgl, webgpu). */
  const gpu = env.family === 'webgl' || env.family === 'webgpu';

  /** The message for style id `bad` of image 1 in the model of conditionalModel. */
  const outOfRange = (norm: tfl.layers.Layer, bad: number) =>
    `ConditionalInstanceNormalization layer '${norm.name}': style id ${bad} (image 1) is out ` +
    `of range: ids must be in [0, ${STYLES - 1}] (numStyles ${STYLES}).`;

  /**
   * Expects `y` to be `reference` for images 0 and 2 (and beyond) and NaN for
   * image 1 (60 values an image).
   */
  async function expectNaNImage1(y: tf.Tensor, reference: tf.Tensor): Promise<void> {
    const [values, expected] = [await y.data(), await reference.data()];
    const image = 60;
    expect(values.slice(image, 2 * image).every(Number.isNaN)).toBe(true);
    expect(values.slice(0, image)).toEqual(expected.slice(0, image));
    expect(values.slice(2 * image)).toEqual(expected.slice(2 * image));
  }

  it('ConditionalInstanceNormalization with out-of-range style ids made from JS values: an Error naming the layer, the id and the range, on every backend', () => {
    const {model} = conditionalModel('channelsLast', 'ids');
    const norm = model.layers[2];
    const x = tf.randomUniform([3, 5, 3, C]);
    for (const bad of [STYLES, 7, -1]) {
      const ids = tf.tensor1d([0, bad, 2], 'int32');
      const ids2d = tf.tensor2d([[0], [bad], [2]], [3, 1], 'int32');
      const before = tf.memory().numTensors;
      expect(() => model.predict([x, ids])).toThrowError(outOfRange(norm, bad));
      expect(() => model.predict([x, ids2d])).toThrowError(outOfRange(norm, bad));
      expect(() => norm.apply([x, ids])).toThrowError(outOfRange(norm, bad));
      expect(tf.memory().numTensors).toBe(before);
      // Checked before any GPU op took them: the ids stay in CPU memory.
      expect(valuesInCpuMemory(ids)).toEqual(new Int32Array([0, bad, 2]));
      tf.dispose([ids, ids2d]);
    }
    x.dispose();
    model.dispose();
  });

  it(`ConditionalInstanceNormalization with out-of-range style ids computed by an op: ${gpu ? 'NaN for that image while only the GPU holds them, an Error once read back' : 'an Error'}`, async () => {
    const {model} = conditionalModel('channelsLast', 'ids');
    const norm = model.layers[2];
    const x = tf.tensor(randomValues(3 * 60, 17, 2), [3, 5, 3, C]);
    const good = tf.tensor1d([0, 1, 2], 'int32');
    const reference = model.predict([x, good]) as tf.Tensor;
    for (const bad of [STYLES, 7, -1]) {
      const ids = tf.tensor1d([0, bad, 2], 'int32');
      const computed = computedOnDevice(ids, env.family);
      const before = tf.memory().numTensors;
      if (!gpu) {
        expect(() => model.predict([x, computed])).toThrowError(outOfRange(norm, bad));
        expect(tf.memory().numTensors).toBe(before);
      } else {
        expect(valuesInCpuMemory(computed)).toBeNull();
        const [viaPredict, viaApply] = [
          model.predict([x, computed]) as tf.Tensor,
          norm.apply([x, computed]) as tf.Tensor,
        ];
        await expectNaNImage1(viaPredict, reference);
        await expectNaNImage1(viaApply, reference);
        tf.dispose([viaPredict, viaApply]);
        expect(tf.memory().numTensors).toBe(before);
        // A read-back keeps the values in CPU memory: the layer, given that tensor, checks them.
        expect(await computed.data()).toEqual(new Int32Array([0, bad, 2]));
        expect(() => norm.apply([x, computed])).toThrowError(outOfRange(norm, bad));
        expect(tf.memory().numTensors).toBe(before);
      }
      tf.dispose([ids, computed]);
    }
    tf.dispose([x, good, reference]);
    model.dispose();
  });

  // model.predict slices its inputs per batch; webgl and webgpu cut a slice on the CPU only
  // from a tensor of fewer values than their CPU hand-off size, else on the GPU.
  const handOff = {
    webgl: 'CPU_HANDOFF_SIZE_THRESHOLD',
    webgpu: 'WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD',
  }[env.family];
  it(`ConditionalInstanceNormalization with an out-of-range style id among ${handOff == null ? '130' : `tfjs' CPU hand-off size (${handOff})`} ids passed to predict: ${handOff == null ? 'an Error' : 'NaN for that image (predict slices the ids on the GPU)'}`, async () => {
    const {model} = conditionalModel('channelsLast', 'ids');
    const norm = model.layers[2];
    const batch = handOff == null ? 130 : tf.env().getNumber(handOff);
    const x = tf.tensor(randomValues(batch * 60, 18, 2), [batch, 5, 3, C]);
    const goodIds = Array.from({length: batch}, (_, n) => n % STYLES);
    const good = tf.tensor1d(goodIds, 'int32');
    const bad = tf.tensor1d([0, 7, ...goodIds.slice(2)], 'int32');
    const reference = model.predict([x, good]) as tf.Tensor;
    const before = tf.memory().numTensors;
    if (handOff == null) {
      expect(() => model.predict([x, bad])).toThrowError(outOfRange(norm, 7));
    } else {
      const y = model.predict([x, bad]) as tf.Tensor;
      await expectNaNImage1(y, reference);
      y.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, good, bad, reference]);
    model.dispose();
  });

  it('ConditionalInstanceNormalization rejects bad arguments, naming the layer', () => {
    expect(() => new ConditionalInstanceNormalization({numStyles: 0, name: 'c'})).toThrowError(
      /ConditionalInstanceNormalization layer 'c': numStyles must be a positive integer/,
    );
    const layer = new ConditionalInstanceNormalization({numStyles: 3, name: 'c2'});
    expect(() =>
      layer.build([
        [null, 4, 4, 2],
        [null, 5],
      ]),
    ).toThrowError(/'c2': the style input must be styleIds \[batch\] or \[batch, 1\]/);
  });

  it('AdaptiveInstanceNormalization matches AdaIN with a style of another size, trains and round-trips', async () => {
    const content = tfl.input({shape: [6, 5, C]});
    const style = tfl.input({shape: [3, 4, C]});
    // A 1x1 convolution written as a dense layer over the channels: tfjs-backend-wasm
    // has no Conv2DBackpropFilter, and the dense layer trains on every backend.
    const conv = tfl.layers.dense({
      units: C,
      useBias: false,
      kernelInitializer: tfl.initializers.glorotUniform({seed: 5}),
    });
    const adain = new AdaptiveInstanceNormalization({epsilon: 1e-5});
    const y = adain.apply([conv.apply(content) as tfl.SymbolicTensor, style]) as tfl.SymbolicTensor;
    const model = tfl.model({inputs: [content, style], outputs: y});
    const c = tf.tensor(randomValues(2 * 30 * C, 15, 2), [2, 6, 5, C]);
    const s = tf.tensor(randomValues(2 * 12 * C, 16, 3, 1), [2, 3, 4, C]);
    const convOut = conv.apply(c) as tf.Tensor;
    const expected = referenceAdaIN(
      await convOut.data(),
      convOut.shape,
      await s.data(),
      s.shape,
      1e-5,
      'channelsLast',
    );
    const out = model.predict([c, s]) as tf.Tensor;
    expectClose(await out.data(), expected, atol, rtol, 'y', 1);

    model.compile({optimizer: tf.train.sgd(0.05), loss: 'meanSquaredError'});
    const target = tf.zerosLike(out);
    const train = () =>
      withoutKernelLeakCheck(() =>
        tf.profile(() => model.fit([c, s], target, {epochs: 1, batchSize: 2, verbose: 0}) as never),
      );
    const info = await train();
    if (env.fused) {
      expect(info.kernelNames).toContain(InstanceNormGrad);
    }
    const artifacts = await saveToMemory(model);
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.layers.map(l => l.getClassName())).toContain('AdaptiveInstanceNormalization');
    const [a, b] = [model.predict([c, s]) as tf.Tensor, loaded.predict([c, s]) as tf.Tensor];
    expect(await b.data()).toEqual(await a.data());
    tf.dispose([c, s, convOut, out, target, a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('AdaptiveInstanceNormalization rejects a style with another channel count', () => {
    const layer = new AdaptiveInstanceNormalization({name: 'ada'});
    expect(() =>
      layer.build([
        [null, 4, 4, 3],
        [null, 4, 4, 2],
      ]),
    ).toThrowError(
      /AdaptiveInstanceNormalization layer 'ada': content and style must have the same rank and channel count/,
    );
  });
});

describeEachBackend(
  "the seam to the GPU backends' per-tensor records (src/cpu_values.ts)",
  env => {
    const kindName = env.family === 'webgl' ? 'MathBackendWebGL' : 'WebGPUBackend';

    it('recognises the backend and reads values held in CPU memory, not those only on the GPU', async () => {
      expect(gpuBackendKind(tf.backend())?.name).toBe(kindName);
      const start = tf.memory().numTensors;
      const ids = tf.tensor1d([2, 0, 1], 'int32');
      expect(valuesInCpuMemory(ids)).toEqual(new Int32Array([2, 0, 1]));
      const computed = computedOnDevice(ids, env.family);
      expect(valuesInCpuMemory(computed)).toBeNull();
      expect(await computed.data()).toEqual(new Int32Array([2, 0, 1]));
      expect(valuesInCpuMemory(computed)).toEqual(new Int32Array([2, 0, 1]));
      // A slice of a tensor on the GPU (a shallow slice on webgl-unpacked) is not read.
      const sliced = tf.slice(computed, 1, 2);
      expect(valuesInCpuMemory(sliced)).toBeNull();
      tf.dispose([ids, computed, sliced]);
      expect(tf.memory().numTensors).toBe(start);
    });

    for (const [how, value] of [
      ['removed', undefined],
      ['of another type', 'renamed'],
      ['without get()', {has: () => true}],
    ] as const) {
      it(`counts every tensor as GPU-resident, after one warning, with the records member ${how}`, () => {
        const backend = tf.backend();
        const kind = gpuBackendKind(backend);
        const view = Object.create(backend) as object;
        Object.defineProperty(view, kind!.storage, {value});
        const warn = spyOn(console, 'warn');
        const ids = tf.tensor1d([2, 0, 1], 'int32');
        expect(valuesInCpuMemory(ids, view)).toBeNull();
        expect(valuesInCpuMemory(ids, view)).toBeNull();
        expect(warn).toHaveBeenCalledTimes(1);
        expect(String(warn.calls.argsFor(0)[0])).toContain(
          `${kind!.name} has no member '${kind!.storage}' of the expected type`,
        );
        expect(valuesInCpuMemory(ids)).toEqual(new Int32Array([2, 0, 1]));
        ids.dispose();
      });
    }
  },
  {envs: ['webgl', 'webgl-unpacked', 'webgpu']},
);

describeEachBackend(
  "the seam to the GPU backends' per-tensor records on backends with tensors in CPU memory",
  () => {
    it('reads the values with dataSync()', () => {
      expect(gpuBackendKind(tf.backend())).toBeNull();
      const ids = tf.tensor1d([2, 0, 1], 'int32');
      const computed = tf.add(ids, ids);
      expect(valuesInCpuMemory(computed)).toEqual(new Int32Array([4, 0, 2]));
      tf.dispose([ids, computed]);
    });
  },
  {envs: ['cpu', 'wasm', 'cpu-without-instance-norm']},
);
