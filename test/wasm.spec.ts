/**
 * wasm-specific checks of the fused kernels (kernels/wasm): they, not the
 * fallback, run under the op; group norm (the `groups` attribute) against the
 * float64 reference over ranks 3-5, both layouts and an offset of 1e4; the
 * numerics every backend keeps; outputs written into the wasm heap without
 * reading tensors back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {instanceNorm} from '../src/index';
import {DataFormat as Format, InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

import {referenceForward, referenceGradient} from './reference';
import {
  backendDataIds,
  describeEachBackend,
  expectClose,
  randomValues,
  tolerance,
  withoutKernelLeakCheck,
} from './setup';

const BACKEND = 'wasm';

interface GroupCase {
  shape: number[];
  format: Format;
  groups: number;
  offset: number;
  scale?: number;
  /** Changes x before the run (a NaN, a constant group). */
  edit?: (x: Float32Array) => void;
}

/** groups 1, 2, one in the middle and C, for a shape whose C has such divisors. */
function groupCases(shape: number[], format: Format, offset: number): GroupCase[] {
  const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const middle = channels / 2 > 2 ? channels / 2 : 2;
  return [...new Set([1, 2, middle, channels])].map(groups => ({shape, format, groups, offset}));
}

const GROUP_CASES: GroupCase[] = [
  ...groupCases([2, 9, 8], 'channelsLast', 0),
  ...groupCases([2, 8, 9], 'channelsFirst', 1e4),
  ...groupCases([2, 5, 3, 12], 'channelsLast', 1e4),
  ...groupCases([2, 12, 5, 3], 'channelsFirst', 0),
  ...groupCases([1, 3, 2, 4, 8], 'channelsLast', 0),
  ...groupCases([2, 8, 2, 3, 4], 'channelsFirst', 1e4),
];

function label(c: GroupCase): string {
  return `[${c.shape}] ${c.format} groups ${c.groups} offset ${c.offset}`;
}

/** Both kernels through runKernel (the engine's leak check on) against the reference. */
async function checkGroupCase(c: GroupCase): Promise<void> {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const xValues = randomValues(size, 11, c.scale ?? 1, c.offset);
  c.edit?.(xValues);
  const dyValues = randomValues(size, 12);
  const gammaValues = randomValues(channels, 13, 0.5, 1);
  const betaValues = randomValues(channels, 14, 0.5);
  const epsilon = 1e-5;
  const expected = referenceForward(
    xValues,
    c.shape,
    gammaValues,
    betaValues,
    epsilon,
    c.format,
    c.groups,
  );
  const expectedGrad = referenceGradient(
    dyValues,
    xValues,
    c.shape,
    gammaValues,
    epsilon,
    c.format,
    c.groups,
  );
  const [x, dy] = [xValues, dyValues].map(v => tf.tensor(v, c.shape));
  const [gamma, beta] = [gammaValues, betaValues].map(v => tf.tensor1d(v));
  const attrs = {dataFormat: c.format, groups: c.groups};
  const [y, mean, invStd] = tf
    .engine()
    .runKernel(InstanceNorm, {x, gamma, beta}, {...attrs, epsilon}) as tf.Tensor[];
  const grads = tf
    .engine()
    .runKernel(InstanceNormGrad, {dy, x, gamma, mean, invStd}, attrs) as tf.Tensor[];
  expect(mean.shape).toEqual([c.shape[0], c.groups]);
  expect(invStd.shape).toEqual([c.shape[0], c.groups]);
  expect(grads[1].shape).toEqual([channels]);
  const [yv, meanv, invStdv, dx, dgamma, dbeta] = await Promise.all(
    [y, mean, invStd, ...grads].map(t => t.data()),
  );
  const {atol, rtol} = tolerance(BACKEND);
  expectClose(yv, expected.y, atol, rtol, `y ${label(c)}`);
  expectClose(meanv, expected.mean, atol, rtol, `mean ${label(c)}`);
  expectClose(invStdv, expected.invStd, atol, rtol, `invStd ${label(c)}`);
  expectClose(dx, expectedGrad.dx, atol, rtol, `dx ${label(c)}`);
  // dgamma and dbeta sum over N * S terms of size ~1.
  expectClose(dgamma, expectedGrad.dgamma, 10 * atol, rtol, `dgamma ${label(c)}`);
  expectClose(dbeta, expectedGrad.dbeta, 10 * atol, rtol, `dbeta ${label(c)}`);
  tf.dispose([x, dy, gamma, beta, y, mean, invStd, ...grads]);
}

describeEachBackend(
  'wasm kernels',
  () => {
    it('the op runs InstanceNorm and InstanceNormGrad, not the fallback', async () => {
      const shape = [2, 6, 5, 4];
      const x = tf.tensor(randomValues(48 * 5, 1), shape);
      const dy = tf.tensor(randomValues(48 * 5, 2), shape);
      const gamma = tf.tensor1d(randomValues(4, 3, 0.5, 1));
      const beta = tf.tensor1d(randomValues(4, 4));
      const profile = await withoutKernelLeakCheck(() =>
        tf.profile(() =>
          tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => instanceNorm(a, g, b))(
            [x, gamma, beta],
            dy,
          ),
        ),
      );
      // Besides customGrad's bookkeeping (Identity, a scope), only the two kernels ran.
      const names = profile.kernels.map(k => k.name);
      const computing = names.filter(n => n !== 'Identity' && n !== 'unnamed scope');
      expect(computing).withContext(names.join(' ')).toEqual([InstanceNorm, InstanceNormGrad]);
      expect(tf.getKernel(InstanceNorm, BACKEND)).toBeDefined();
      tf.dispose([...(profile.result as tf.Tensor[]), x, dy, gamma, beta]);
    });

    for (const c of GROUP_CASES) {
      it(`group norm against float64: ${label(c)}`, () => checkGroupCase(c));
    }

    const numerics: [string, GroupCase][] = [
      [
        'a NaN stays in its (instance, group)',
        {
          shape: [2, 4, 3, 6],
          format: 'channelsLast',
          groups: 3,
          offset: 0,
          edit: x => (x[7] = NaN),
        },
      ],
      [
        'a constant group gives finite results',
        {
          shape: [2, 6, 4, 3],
          format: 'channelsFirst',
          groups: 3,
          offset: 0,
          edit: x => x.fill(5, 0, 24),
        },
      ],
      [
        'magnitude 1e18',
        {shape: [2, 5, 4, 4], format: 'channelsLast', groups: 2, offset: 0, scale: 1e18},
      ],
    ];
    for (const [name, c] of numerics) {
      it(`${name}: ${label(c)}`, () => checkGroupCase(c));
    }

    it("throws an Error naming 'groups' when it does not divide C", () => {
      const x = tf.zeros([1, 2, 2, 6]);
      for (const groups of [4, 0, 1.5]) {
        expect(() =>
          tf
            .engine()
            .runKernel(InstanceNorm, {x}, {epsilon: 1e-5, dataFormat: 'channelsLast', groups}),
        ).toThrowError(/InstanceNorm: attribute 'groups' must be a positive divisor of C = 6/);
      }
      x.dispose();
    });

    it('writes into the wasm heap without reading tensors back, and frees nothing twice', () => {
      const backend = tf.backend() as BackendWasm;
      const x = tf.tensor(randomValues(2 * 3 * 5 * 4, 5), [2, 3, 5, 4]);
      const readSync = spyOn(backend, 'readSync').and.callThrough();
      const before = backendDataIds();
      const outputs = tf
        .engine()
        .runKernel(InstanceNorm, {x}, {epsilon: 1e-5, dataFormat: 'channelsLast'}) as tf.Tensor[];
      expect(readSync).not.toHaveBeenCalled();
      expect(backendDataIds()).toBe(before + 3);
      for (const t of outputs) {
        expect(backend.dataIdMap.get(t.dataId).memoryOffset).toBeGreaterThan(0);
      }
      tf.dispose([x, ...outputs]);
      expect(backendDataIds()).toBe(before - 1);
    });
  },
  {envs: [BACKEND]},
);
