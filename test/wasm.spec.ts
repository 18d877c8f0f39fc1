/**
 * wasm-specific checks of the fused kernels (kernels/wasm), on each of their
 * two paths: the SIMD module on the backend's heap, and the float64
 * TypeScript loops that run where the backend has no SIMD (the tfjs flag
 * WASM_HAS_SIMD_SUPPORT false). On each: they, not the fallback, run under the
 * op; every attribute (groups, both layouts, rank 2-5, epsilonMode, the 12
 * activations, gamma / beta [C], [N, C] or absent) against the float64
 * reference, forward and gradient, with cpu's tolerances; the hard numerics
 * (offset 1e4, magnitude 1e18, a NaN, a constant group, a pivot far from the
 * mean); outputs written into the wasm heap without reading tensors back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {instanceNorm} from '../src/index';
import {
  ACTIVATIONS,
  Activation,
  DataFormat as Format,
  EpsilonMode,
  InstanceNorm,
  InstanceNormGrad,
} from '../src/kernel_names';
import {simdKernels} from '../kernels/wasm/simd_module';

import {
  referenceForward,
  referenceGradient,
  referenceNorm,
  referenceNormGradient,
} from './reference';
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

/** A case with every attribute. */
interface AttributeCase {
  shape: number[];
  format: Format;
  groups?: number;
  epsilonMode: EpsilonMode;
  activation: Activation;
  alpha?: number;
  gamma: 'absent' | 'C' | 'NC';
  beta: 'absent' | 'C' | 'NC';
  offset?: number;
  scale?: number;
  /** gamma and beta times this (default 1). */
  paramScale?: number;
  edit?: (x: Float32Array) => void;
}

function attributeLabel(c: AttributeCase): string {
  return (
    `[${c.shape}] ${c.format} groups ${c.groups ?? 'C'} ${c.epsilonMode} ${c.activation}` +
    `${c.alpha != null ? ` alpha ${c.alpha}` : ''} gamma ${c.gamma} beta ${c.beta}` +
    `${c.offset ? ` offset ${c.offset}` : ''}${c.scale ? ` scale ${c.scale}` : ''}` +
    `${c.paramScale ? ` gamma and beta x${c.paramScale}` : ''}${c.edit ? ' edited' : ''}`
  );
}

/** Both kernels with every attribute through runKernel against referenceNorm(Gradient). */
async function checkAttributeCase(c: AttributeCase, exactGradient = true): Promise<void> {
  const size = c.shape.reduce((a, b) => a * b, 1);
  const batch = c.shape[0];
  const channels = c.format === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];
  const xValues = randomValues(size, 21, c.scale ?? 1.5, c.offset ?? 0);
  c.edit?.(xValues);
  const dyValues = randomValues(size, 22);
  const paramScale = c.paramScale ?? 1;
  const paramValues = (kind: AttributeCase['gamma'], seed: number, offset: number) =>
    kind === 'absent'
      ? null
      : randomValues(
          kind === 'C' ? channels : batch * channels,
          seed,
          0.5 * paramScale,
          offset * paramScale,
        );
  const gammaValues = paramValues(c.gamma, 23, 1);
  const betaValues = paramValues(c.beta, 24, 0.2);
  const settings = {
    epsilon: 1e-3,
    format: c.format,
    groups: c.groups,
    epsilonMode: c.epsilonMode,
    activation: c.activation,
    alpha: c.alpha,
  };
  const expected = referenceNorm(xValues, c.shape, gammaValues, betaValues, settings);
  const expectedGrad = referenceNormGradient(
    dyValues,
    xValues,
    c.shape,
    gammaValues,
    betaValues,
    settings,
  );
  const paramTensor = (values: Float32Array | null, kind: AttributeCase['gamma']) =>
    values == null
      ? undefined
      : kind === 'C'
        ? tf.tensor1d(values)
        : tf.tensor2d(values, [batch, channels]);
  const x = tf.tensor(xValues, c.shape);
  const dy = tf.tensor(dyValues, c.shape);
  const gamma = paramTensor(gammaValues, c.gamma);
  const beta = paramTensor(betaValues, c.beta);
  const attrs = {
    epsilon: 1e-3,
    dataFormat: c.format,
    groups: c.groups,
    epsilonMode: c.epsilonMode,
    activation: c.activation,
    alpha: c.alpha,
  };
  const params = {...(gamma ? {gamma} : {}), ...(beta ? {beta} : {})};
  const [y, mean, invStd] = tf
    .engine()
    .runKernel(InstanceNorm, {x, ...params}, attrs as never) as tf.Tensor[];
  const grads = tf
    .engine()
    .runKernel(InstanceNormGrad, {dy, x, ...params, mean, invStd}, attrs as never) as tf.Tensor[];
  expect(grads[1].shape).toEqual(gamma?.shape ?? [channels]);
  expect(grads[2].shape).toEqual(beta?.shape ?? [channels]);
  const [yv, meanv, invStdv, dx, dgamma, dbeta] = await Promise.all(
    [y, mean, invStd, ...grads].map(t => t.data()),
  );
  const {atol, rtol} = tolerance(BACKEND);
  const what = (name: string) => `${name} ${attributeLabel(c)}`;
  expectClose(yv, expected.y, atol, rtol, what('y'));
  expectClose(meanv, expected.mean, atol, rtol, what('mean'));
  expectClose(invStdv, expected.invStd, atol, rtol, what('invStd'));
  if (exactGradient) {
    expectClose(dx, expectedGrad.dx, atol, rtol, what('dx'));
    // dgamma and dbeta sum over up to N * S * C / groups terms of size ~1.
    expectClose(dgamma, expectedGrad.dgamma, 10 * atol, rtol, what('dgamma'));
    expectClose(dbeta, expectedGrad.dbeta, 10 * atol, rtol, what('dbeta'));
  } else {
    for (const [name, values] of [
      ['dx', dx],
      ['dgamma', dgamma],
      ['dbeta', dbeta],
    ] as const) {
      expect(Array.from(values).every(Number.isFinite)).withContext(what(name)).toBe(true);
    }
  }
  tf.dispose([
    x,
    dy,
    ...(gamma ? [gamma] : []),
    ...(beta ? [beta] : []),
    y,
    mean,
    invStd,
    ...grads,
  ]);
}

/**
 * Shapes over rank 2-5 and both layouts: channel counts that fill f32x4 lanes
 * and ones that leave a tail, pixel counts below, at and above one block.
 */
const ATTRIBUTE_SHAPES: [number[], Format, number | undefined][] = [
  [[3, 6], 'channelsLast', 2],
  [[2, 5, 7, 8], 'channelsLast', undefined],
  [[2, 6, 5, 3], 'channelsFirst', 3],
  [[2, 3, 4, 5, 12], 'channelsLast', 3],
  [[2, 4, 33], 'channelsFirst', 2],
  [[2, 3, 3, 5], 'channelsLast', 5],
  [[1, 21, 23, 8], 'channelsLast', 2],
  [[2, 4, 19, 23], 'channelsFirst', undefined],
];
const PARAM_KINDS: AttributeCase['gamma'][] = ['C', 'NC', 'absent'];

/** Every activation on every shape, the other attributes varied along. */
const ATTRIBUTE_CASES: AttributeCase[] = ATTRIBUTE_SHAPES.flatMap(([shape, format, groups], s) =>
  ACTIVATIONS.map((activation, a) => ({
    shape,
    format,
    groups,
    epsilonMode: (s + a) % 2 === 0 ? 'variance' : 'stddev',
    activation,
    alpha: activation === 'leakyRelu' && s % 2 === 0 ? 0.05 : undefined,
    gamma: PARAM_KINDS[(s + a) % 3],
    beta: PARAM_KINDS[(s + 2 * a + 1) % 3],
  })),
);

/** The numerics every path keeps, with attributes. */
const HARD_CASES: [string, AttributeCase][] = [
  [
    'offset 1e4',
    {
      shape: [2, 9, 7, 8],
      format: 'channelsLast',
      epsilonMode: 'variance',
      activation: 'linear',
      gamma: 'C',
      beta: 'NC',
      offset: 1e4,
      scale: 1,
    },
  ],
  [
    'offset 1e4 through an activation',
    {
      shape: [2, 8, 9, 7],
      format: 'channelsFirst',
      groups: 4,
      epsilonMode: 'stddev',
      activation: 'gelu',
      gamma: 'NC',
      beta: 'C',
      offset: 1e4,
      scale: 1,
    },
  ],
  [
    'magnitude 1e18',
    {
      shape: [2, 6, 6, 8],
      format: 'channelsLast',
      groups: 2,
      epsilonMode: 'variance',
      activation: 'linear',
      gamma: 'C',
      beta: 'C',
      scale: 1e18,
    },
  ],
  [
    'magnitude 1e18, channels first',
    {
      shape: [2, 4, 40],
      format: 'channelsFirst',
      epsilonMode: 'variance',
      activation: 'tanh',
      gamma: 'C',
      beta: 'C',
      scale: 1e18,
    },
  ],
  [
    'a pivot (first pixel) far from the mean',
    {
      shape: [2, 4, 200],
      format: 'channelsFirst',
      groups: 2,
      epsilonMode: 'variance',
      activation: 'linear',
      gamma: 'C',
      beta: 'C',
      scale: 1,
      edit: x => {
        x[0] = 3000;
        x[800] = -2000;
      },
    },
  ],
  [
    'a pivot far from the mean, channels last',
    {
      shape: [1, 200, 8],
      format: 'channelsLast',
      epsilonMode: 'variance',
      activation: 'linear',
      gamma: 'C',
      beta: 'C',
      scale: 1,
      edit: x => (x[3] = 5000),
    },
  ],
  [
    'a constant group in stddev mode',
    {
      shape: [2, 6, 4, 3],
      format: 'channelsFirst',
      groups: 3,
      epsilonMode: 'stddev',
      activation: 'swish',
      gamma: 'C',
      beta: 'C',
      edit: x => x.fill(5, 0, 24),
    },
  ],
];

/**
 * Every activation through the SIMD module's remainder lanes (channels last
 * C = 7: a quad and three channels past it; channels first: rows of 21, odd)
 * and its limits: gamma and beta times 40 put z out to about +-200 (exp
 * underflowing and overflowing, sigmoid, tanh and erf at their limits); and a
 * NaN in one channel (past the quad, channels last), which relu turns into 0
 * and the others keep.
 */
const LIMIT_CASES: AttributeCase[] = (
  [
    [[2, 5, 3, 7], 'channelsLast', 6],
    [[2, 5, 3, 7], 'channelsFirst', 0],
  ] as const
).flatMap(([shape, format, nanAt]) =>
  ACTIVATIONS.flatMap((activation, a): AttributeCase[] => {
    const base = {
      shape: [...shape],
      format,
      epsilonMode: a % 2 === 0 ? ('variance' as const) : ('stddev' as const),
      activation,
      gamma: 'C' as const,
      beta: 'NC' as const,
    };
    return [
      {...base, paramScale: 40},
      {...base, edit: (x: Float32Array) => (x[nanAt] = NaN)},
    ];
  }),
);

const PATHS = [
  {path: 'SIMD module', simd: true},
  {path: 'float64 loops (WASM_HAS_SIMD_SUPPORT false)', simd: false},
];

describeEachBackend(
  'wasm kernels',
  () => {
    for (const {path, simd} of PATHS) {
      describe(path, () => {
        let saved = false;
        beforeAll(async () => {
          saved = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
          tf.env().set('WASM_HAS_SIMD_SUPPORT', simd && saved);
        });
        afterAll(() => tf.env().set('WASM_HAS_SIMD_SUPPORT', saved));
        kernelSpecs(simd);
      });
    }
  },
  {envs: [BACKEND]},
);

function kernelSpecs(simd: boolean): void {
  it(`takes this path (SIMD module ${simd ? 'on' : 'off'})`, () => {
    expect(simdKernels(tf.backend() as BackendWasm) != null).toBe(simd);
  });

  for (const c of ATTRIBUTE_CASES) {
    it(`every attribute against float64: ${attributeLabel(c)}`, () => checkAttributeCase(c));
  }

  for (const c of LIMIT_CASES) {
    it(`remainder lanes and limits: ${attributeLabel(c)}`, () => checkAttributeCase(c));
  }

  for (const [name, c] of HARD_CASES) {
    // The float64 loops (as cpu's) recompute z for a non-linear activation's
    // derivative from the float32 saved mean, up to half an ulp off at an
    // offset of 1e4: there their gradients are held to finiteness, as on cpu
    // (blocks.spec). The SIMD module recovers the exact mean and is held to
    // the reference.
    const exactGradient = simd || c.activation === 'linear' || !c.offset;
    it(`${name}: ${attributeLabel(c)}`, () => checkAttributeCase(c, exactGradient));
  }

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
}
