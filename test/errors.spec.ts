/**
 * Bad input to the op and to the layer gives a clear Error (it names the
 * argument and what is wrong) and leaks no tensor: the count before the call
 * equals the count after the throw. The op: wrong ranks, dtypes, lengths,
 * epsilons and formats, disposed tensors (also those of a disposed model),
 * TensorLikes, bad input under a gradient. The layer: bad config, axes out of
 * range, wrong rank or channels, disposed inputs and weights, a wrong gamma
 * dtype. On every environment, float16 WebGL included.
 */
import * as tfl from '@tensorflow/tfjs-layers';

import {instanceNorm, instanceNormalization} from '../src/index';

import {describeEachBackend, tf} from './setup';

/**
 * The weights of a tf.layers model after model.dispose(): a conv kernel of
 * shape [3, 3, 3, 3] (shaped like an NHWC input with C = 3) and a bias [3]
 * (shaped like gamma).
 */
function disposedModelWeights(): {kernel: tf.Tensor; bias: tf.Tensor} {
  const model = tfl.sequential({
    layers: [tfl.layers.conv2d({filters: 3, kernelSize: 3, inputShape: [4, 4, 3]})],
  });
  const [kernel, bias] = model.getWeights();
  model.dispose();
  return {kernel, bias};
}

/**
 * Runs call (it must throw), and checks the Error, its message, and that the
 * tensor count is back to where it was.
 */
function expectCleanThrow(call: () => unknown, message: RegExp): string {
  const before = tf.memory().numTensors;
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown instanceof Error)
    .withContext(`an Error is thrown (got ${String(thrown)})`)
    .toBe(true);
  const text = thrown instanceof Error ? thrown.message : '';
  expect(text).toMatch(message);
  expect(tf.memory().numTensors).withContext('tensors after the throw').toBe(before);
  return text;
}

describeEachBackend('bad input to the op', opErrorSpecs, {f16: true});
describeEachBackend('bad input to the layer', layerErrorSpecs, {f16: true});

function opErrorSpecs(): void {
  let x4Kept: tf.Tensor;
  beforeEach(() => (x4Kept = tf.zeros([1, 2, 2, 3])));
  afterEach(() => x4Kept.dispose());
  const x4 = () => tf.zeros([1, 2, 2, 3]);
  type Args = Parameters<typeof instanceNorm>;
  // Each case: the arguments (built before counting tensors), and a pattern
  // the message must match.
  const cases: Array<[string, () => Args, RegExp]> = [
    ['rank 2 x', () => [tf.zeros([2, 3])], /'x' must be of rank 3, 4 or 5.*rank 2/],
    ['rank 6 x', () => [tf.zeros([1, 1, 1, 1, 1, 2])], /'x' must be of rank 3, 4 or 5/],
    ['int32 x', () => [tf.zeros([1, 2, 2, 3], 'int32')], /'x' must be a float32 tensor.*int32/],
    ['bool x', () => [tf.zeros([1, 2, 2, 3], 'bool')], /'x' must be a float32 tensor.*bool/],
    [
      'gamma of wrong length',
      () => [x4(), tf.ones([4])],
      /'gamma' must be of shape \[C\] = \[3\] or \[N, C\] = \[1, 3\].*got shape \[4\]/,
    ],
    [
      'gamma [N, C] of the wrong N',
      () => [x4(), tf.ones([2, 3])],
      /'gamma' must be of shape \[C\] = \[3\] or \[N, C\] = \[1, 3\].*got shape \[2,3\]/,
    ],
    [
      'beta of wrong length (channelsFirst)',
      () => [tf.zeros([1, 3, 2, 2]), null, tf.ones([2]), 1e-5, 'channelsFirst'],
      /'beta' must be of shape \[C\] = \[3\] or \[N, C\]/,
    ],
    ['int32 gamma', () => [x4(), tf.ones([3], 'int32')], /'gamma' must be a float32 tensor/],
    ['zero epsilon', () => [x4(), null, null, 0], /'epsilon' must be a positive finite number.*0/],
    [
      'negative epsilon',
      () => [x4(), null, null, -1],
      /'epsilon' must be a positive finite number/,
    ],
    [
      'NaN epsilon',
      () => [x4(), null, null, NaN],
      /'epsilon' must be a positive finite number.*NaN/,
    ],
    [
      'infinite epsilon',
      () => [x4(), null, null, Infinity],
      /'epsilon' must be a positive finite number/,
    ],
    [
      'string epsilon',
      () => [x4(), null, null, '1e-5' as unknown as number],
      /'epsilon' must be a positive finite number/,
    ],
    [
      'unknown dataFormat',
      () => [x4(), null, null, 1e-5, 'NHWC' as 'channelsLast'],
      /'dataFormat' must be 'channelsLast' or 'channelsFirst'.*NHWC/,
    ],
    [
      'a disposed x',
      () => {
        const x = x4();
        x.dispose();
        return [x];
      },
      /'x' is a disposed tensor/,
    ],
    [
      'a disposed gamma',
      () => {
        const g = tf.ones([3]);
        g.dispose();
        return [x4(), g];
      },
      /'gamma' is a disposed tensor/,
    ],
    [
      'a TensorLike x of rank 2',
      () => [
        [
          [1, 2],
          [3, 4],
        ],
      ],
      /'x' must be of rank 3, 4 or 5/,
    ],
    [
      'a TensorLike gamma of wrong length',
      () => [[[[1, 2]]], [1, 2, 3]],
      /'gamma' must be of shape \[C\] = \[2\]/,
    ],
    ['a string TensorLike x', () => [[[['a', 'b']]] as unknown as number[][][]], /'x' must be/],
    ['bool gamma', () => [x4(), tf.ones([3], 'bool')], /'gamma' must be a float32 tensor.*bool/],
    [
      'int32 beta',
      () => [x4(), null, tf.ones([3], 'int32')],
      /'beta' must be a float32 tensor.*int32/,
    ],
    [
      'string gamma',
      () => [x4(), tf.tensor(['a', 'b', 'c'])],
      /'gamma' must be a float32 tensor.*string/,
    ],
    [
      'complex64 gamma',
      () => [x4(), complex64Vector()],
      /'gamma' must be a float32 tensor.*complex64/,
    ],
    [
      'a string TensorLike gamma',
      () => [x4(), ['a', 'b', 'c'] as unknown as number[]],
      /'gamma' must be/,
    ],
    [
      'an epsilon that is a tensor',
      () => [x4(), null, null, tf.scalar(1e-5) as unknown as number],
      /'epsilon' must be a positive finite number/,
    ],
    [
      'gamma from a disposed model (its bias)',
      () => [x4(), disposedModelWeights().bias],
      /'gamma' is a disposed tensor/,
    ],
    [
      'beta from a disposed model (its bias)',
      () => [x4(), null, disposedModelWeights().bias],
      /'beta' is a disposed tensor/,
    ],
    [
      'x from a disposed model (its conv kernel)',
      () => [disposedModelWeights().kernel],
      /'x' is a disposed tensor/,
    ],
  ];

  for (const [name, makeArgs, message] of cases) {
    it(`throws a clear Error and leaks nothing: ${name}`, () => {
      const args = makeArgs();
      const text = expectCleanThrow(() => instanceNorm(...args), message);
      expect(text).toMatch(/^instanceNorm: /);
      tf.dispose(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor && !a.isDisposed));
    });
  }

  it('leaks no converted TensorLike when a check throws', () => {
    const before = tf.memory().numTensors;
    expect(() => instanceNorm([[[1, 2]]], [1, 2, 3])).toThrowError(/'gamma'/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('model.dispose() disposes the weights these cases use', () => {
    const {kernel, bias} = disposedModelWeights();
    expect(kernel.isDisposed).toBe(true);
    expect(bias.isDisposed).toBe(true);
  });

  it('bad input under tf.grads: a clear Error, the tape left clean', () => {
    const gamma = tf.ones([4]);
    expectCleanThrow(
      () => tf.grads((x: tf.Tensor, g: tf.Tensor) => instanceNorm(x, g))([x4Kept, gamma]),
      /'gamma' must be of shape \[C\] = \[3\]/,
    );
    const disposed = tf.ones([3]);
    disposed.dispose();
    expectCleanThrow(
      () =>
        tf.valueAndGrads((x: tf.Tensor, g: tf.Tensor) => instanceNorm(x, g))([x4Kept, disposed]),
      /disposed/,
    );
    gamma.dispose();
    // The op still works afterwards.
    const y = instanceNorm(x4Kept);
    expect(y.shape).toEqual([1, 2, 2, 3]);
    y.dispose();
  });
}

function layerErrorSpecs(): void {
  beforeAll(() => tf.env().set('IS_TEST', false));
  let x: tf.Tensor;
  beforeEach(() => (x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 3)));
  afterEach(() => x.dispose());

  const configCases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['axis 0 (the batch axis)', {axis: 0}, /axis 0 is the batch axis/],
    ['a fractional axis', {axis: 1.5}, /axis must be an integer or null.*1\.5/],
    ['a string axis', {axis: '-1'}, /axis must be an integer or null/],
    ['zero epsilon', {epsilon: 0}, /argument 'epsilon' must be a positive finite number.*0/],
    ['negative epsilon', {epsilon: -1e-3}, /argument 'epsilon' must be a positive finite number/],
    ['NaN epsilon', {epsilon: NaN}, /argument 'epsilon' must be a positive finite number/],
    [
      'infinite epsilon',
      {epsilon: Infinity},
      /argument 'epsilon' must be a positive finite number/,
    ],
    ['string epsilon', {epsilon: '1e-3'}, /argument 'epsilon' must be a positive finite number/],
    ['a non-boolean center', {center: 'yes'}, /center must be true or false/],
    ['groups 2 (group norm)', {groups: 2}, /groups must be -1/],
    ['an unknown config key', {renorm: true}, /unknown config key 'renorm'/],
    ['an unknown initializer', {gammaInitializer: 'noSuchInitializer'}, /gammaInitializer/],
  ];
  for (const [name, config, message] of configCases) {
    it(`config: ${name} throws a clear Error and leaks nothing`, () => {
      expectCleanThrow(
        () => instanceNormalization(config as Parameters<typeof instanceNormalization>[0]),
        message,
      );
    });
  }

  const applyCases: Array<[string, () => [Record<string, unknown>, tf.Tensor], RegExp]> = [
    [
      'axis 4 on rank 4 (out of range)',
      () => [{axis: 4}, x],
      /axis 4 is out of range for inputs of rank 4/,
    ],
    [
      'axis -5 on rank 4 (out of range)',
      () => [{axis: -5}, x],
      /axis -5 is out of range for inputs of rank 4/,
    ],
    ['a rank 2 input with axis -1', () => [{}, tf.zeros([2, 3])], /input needs rank >= 3/],
    [
      'a disposed input',
      () => {
        const t = tf.zeros([1, 2, 2, 3]);
        t.dispose();
        return [{}, t];
      },
      /disposed/,
    ],
    [
      'an input from a disposed model (its conv kernel)',
      () => [{}, disposedModelWeights().kernel],
      /disposed/,
    ],
  ];
  for (const [name, make, message] of applyCases) {
    it(`apply: ${name} throws a clear Error and leaks nothing`, () => {
      const [config, input] = make();
      const layer = instanceNormalization(config);
      if (input.isDisposed) {
        // Built first on a good input of that shape: building creates gamma
        // and beta, which belong to the layer and are not a leak.
        (layer.apply(x) as tf.Tensor).dispose();
      }
      expectCleanThrow(() => layer.apply(input), message);
      if (input !== x && !input.isDisposed) input.dispose();
      if (layer.built) layer.dispose();
    });
  }

  it('apply: channels other than those it was built for throw a clear Error', () => {
    const layer = instanceNormalization();
    const y = layer.apply(x) as tf.Tensor;
    y.dispose();
    const other = tf.zeros([2, 4, 4, 5]);
    expectCleanThrow(() => layer.apply(other), /axis -1 .*3|expected axis/i);
    other.dispose();
    layer.dispose();
  });

  it('setWeights: a wrong gamma dtype or shape throws a clear Error', () => {
    const layer = instanceNormalization();
    (layer.apply(x) as tf.Tensor).dispose();
    const intGamma = tf.ones([3], 'int32');
    const beta = tf.zeros([3]);
    const longGamma = tf.ones([4]);
    expectCleanThrow(() => layer.setWeights([intGamma, beta]), /dtype|int32/);
    expectCleanThrow(() => layer.setWeights([longGamma, beta]), /shape|\[4\]/);
    tf.dispose([intGamma, beta, longGamma]);
    layer.dispose();
  });

  it('a layer whose model was disposed throws a clear Error when applied', () => {
    const layer = instanceNormalization();
    const model = tfl.sequential({layers: [tfl.layers.inputLayer({inputShape: [4, 4, 3]}), layer]});
    (model.predict(x) as tf.Tensor).dispose();
    model.dispose();
    expectCleanThrow(() => layer.apply(x), /disposed/);
  });
}

/**
 * A complex64 [3] tensor of ones: tf.complex where the backend has the
 * Complex kernel; tfjs-backend-wasm has none, and stores a complex64 tensor
 * written directly as interleaved (real, imaginary) float32 pairs.
 */
function complex64Vector(): tf.Tensor {
  if (tf.getKernel('Complex', tf.getBackend()) != null) {
    return tf.complex([1, 1, 1], [0, 0, 0]);
  }
  return tf.engine().makeTensor(new Float32Array([1, 0, 1, 0, 1, 0]), [3], 'complex64');
}
