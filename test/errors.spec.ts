import {instanceNorm} from '../src/index';

import {describeEachBackend, tf} from './setup';

describeEachBackend('bad input', () => {
  // Each case: the call, and a pattern its message must match (it names the
  // argument and the expectation).
  type Args = Parameters<typeof instanceNorm>;
  const x4 = () => tf.zeros([1, 2, 2, 3]);
  // Each case: the arguments (built before counting tensors), and a pattern
  // the message must match: it names the argument and the expectation.
  const cases: Array<[string, () => Args, RegExp]> = [
    ['rank 2 x', () => [tf.zeros([2, 3])], /'x' must be of rank 3, 4 or 5.*rank 2/],
    ['rank 6 x', () => [tf.zeros([1, 1, 1, 1, 1, 2])], /'x' must be of rank 3, 4 or 5/],
    ['int32 x', () => [tf.zeros([1, 2, 2, 3], 'int32')], /'x' must be a float32 tensor.*int32/],
    ['bool x', () => [tf.zeros([1, 2, 2, 3], 'bool')], /'x' must be a float32 tensor.*bool/],
    [
      'gamma of wrong length',
      () => [x4(), tf.ones([4])],
      /'gamma' must be 1-D of length C = 3.*\[4\]/,
    ],
    ['gamma of rank 2', () => [x4(), tf.ones([1, 3])], /'gamma' must be 1-D of length C = 3/],
    [
      'beta of wrong length (channelsFirst)',
      () => [tf.zeros([1, 3, 2, 2]), null, tf.ones([2]), 1e-5, 'channelsFirst'],
      /'beta' must be 1-D of length C = 3/,
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
      /'gamma' must be 1-D of length C = 2/,
    ],
    ['a string TensorLike x', () => [[[['a', 'b']]] as unknown as number[][][]], /'x' must be/],
  ];

  for (const [name, makeArgs, message] of cases) {
    it(`throws a clear Error and leaks nothing: ${name}`, () => {
      const args = makeArgs();
      const before = tf.memory().numTensors;
      let thrown: unknown;
      try {
        instanceNorm(...args);
      } catch (e) {
        thrown = e;
      }
      expect(thrown instanceof Error)
        .withContext('an Error is thrown')
        .toBe(true);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).toMatch(/^instanceNorm: /);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(args.filter((a): a is tf.Tensor => a instanceof tf.Tensor && !a.isDisposed));
    });
  }

  it('leaks no converted TensorLike when a check throws', () => {
    const before = tf.memory().numTensors;
    expect(() => instanceNorm([[[1, 2]]], [1, 2, 3])).toThrowError(/'gamma'/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
