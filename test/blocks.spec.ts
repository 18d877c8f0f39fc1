/**
 * The fused blocks: every activation, gamma and beta per channel or per
 * instance, epsilon on the standard deviation, rank 2 to 5, and adaptive
 * instance norm, forward and gradient, against the float64 reference on every
 * environment. First, the reference itself against central finite
 * differences in float64.
 */
import {adaptiveInstanceNorm, groupNorm, instanceNorm, NormOptions} from '../src/index';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

import {runForwardKernel, runGradientKernel} from './cases';

import {
  Format,
  NormSettings,
  REFERENCE_ACTIVATIONS,
  ReferenceActivation,
  ReferenceEpsilonMode,
  erf,
  referenceAdaIN,
  referenceAdaINGradient,
  referenceNorm,
  referenceNormGradient,
} from './reference';
import {
  backendDataIds,
  describeEachBackend,
  ErrorFigure,
  expectClose,
  randomValues,
  seeded,
  tf,
  toFloat16,
  tolerance,
  WEBGL_F16,
  withoutKernelLeakCheck,
} from './setup';

function float64Values(size: number, seed: number, scale = 1, offset = 0): Float64Array {
  const next = seeded(seed);
  return Float64Array.from({length: size}, () => offset + scale * (2 * next() - 1));
}

/** Central differences of `loss` at each element of `values` (changed in place, restored). */
function centralDifferences(values: Float64Array, loss: () => number, h = 1e-6): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    values[i] = v + h;
    const up = loss();
    values[i] = v - h;
    const down = loss();
    values[i] = v;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('float64 reference [other]', () => {
  it('erf matches tabulated values', () => {
    const table: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [-0.75, -0.7111556336535151],
    ];
    for (const [x, value] of table) {
      expect(Math.abs(erf(x) - value))
        .withContext(`erf(${x})`)
        .toBeLessThan(1e-14);
    }
  });

  type Shape = {shape: number[]; settings: Omit<NormSettings, 'activation'>; perInstance: boolean};
  const shapes: Shape[] = [
    {shape: [2, 3, 2, 2], settings: {epsilon: 1e-3, format: 'channelsLast'}, perInstance: false},
    {
      shape: [2, 4, 3],
      settings: {epsilon: 1e-3, format: 'channelsFirst', groups: 2, epsilonMode: 'stddev'},
      perInstance: true,
    },
    {
      shape: [3, 4],
      settings: {epsilon: 1e-2, format: 'channelsLast', groups: 2},
      perInstance: true,
    },
    {
      shape: [1, 2, 2, 1, 2],
      settings: {epsilon: 1e-3, format: 'channelsLast', epsilonMode: 'stddev', alpha: 0.1},
      perInstance: false,
    },
  ];

  for (const {shape, settings, perInstance} of shapes) {
    const tag = `[${shape}] ${JSON.stringify(settings)}${perInstance ? ' [N, C]' : ''}`;
    it(`gradient agrees with central differences — ${tag}`, () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const channels = settings.format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
      const paramSize = perInstance ? shape[0] * channels : channels;
      for (const activation of REFERENCE_ACTIVATIONS) {
        const all = {...settings, activation};
        const x = float64Values(size, 3, 1.5);
        const gamma = float64Values(paramSize, 4, 0.5, 1);
        const beta = float64Values(paramSize, 5, 1);
        const dy = float64Values(size, 6);
        const loss = () => dot(dy, referenceNorm(x, shape, gamma, beta, all).y);
        const analytic = referenceNormGradient(dy, x, shape, gamma, beta, all);
        const what = (name: string) => `${activation} ${name}`;
        expectClose(analytic.dx, centralDifferences(x, loss), 1e-6, 1e-6, what('dx'));
        expectClose(analytic.dgamma, centralDifferences(gamma, loss), 1e-6, 1e-6, what('dgamma'));
        expectClose(analytic.dbeta, centralDifferences(beta, loss), 1e-6, 1e-6, what('dbeta'));
      }
    });
  }

  it('a constant group in stddev mode stays finite, with no gradient through sigma', () => {
    const shape = [1, 2, 4];
    const x = Float64Array.from([3.25, 3.25, 3.25, 3.25, 1, -2, 0.5, 4]);
    const settings: NormSettings = {epsilon: 1e-3, format: 'channelsFirst', epsilonMode: 'stddev'};
    const dy = float64Values(8, 9);
    const forward = referenceNorm(x, shape, null, null, settings);
    expect(Array.from(forward.y.slice(0, 4))).toEqual([0, 0, 0, 0]);
    expect(forward.invStd[0]).toBeCloseTo(1e3, 9);
    const gradient = referenceNormGradient(dy, x, shape, null, null, settings);
    // Constant channel: dx = r * (dy - mean(dy)).
    const meanDy = (dy[0] + dy[1] + dy[2] + dy[3]) / 4;
    for (let k = 0; k < 4; k++) expect(gradient.dx[k]).toBeCloseTo(1e3 * (dy[k] - meanDy), 6);
  });

  it('adaptive instance norm gradients agree with central differences', () => {
    for (const format of ['channelsLast', 'channelsFirst'] as const) {
      const contentShape = format === 'channelsLast' ? [2, 3, 2, 3] : [2, 3, 3, 2];
      const styleShape = format === 'channelsLast' ? [2, 2, 2, 3] : [2, 3, 2, 2];
      const content = float64Values(36, 21, 2);
      const style = float64Values(24, 22, 1.5, 0.5);
      const dy = float64Values(36, 23);
      const loss = () =>
        dot(dy, referenceAdaIN(content, contentShape, style, styleShape, 1e-3, format));
      const analytic = referenceAdaINGradient(
        dy,
        content,
        contentShape,
        style,
        styleShape,
        1e-3,
        format,
      );
      expectClose(analytic.dcontent, centralDifferences(content, loss), 1e-6, 1e-6, 'dcontent');
      expectClose(analytic.dstyle, centralDifferences(style, loss), 1e-6, 1e-6, 'dstyle');
    }
  });
});

// ---------------------------------------------------------------------------
// The op on every environment.

type ParameterKind = 'none' | 'C' | 'NC';

interface Block {
  shape: number[];
  format: Format;
  /** null: instanceNorm; a number: groupNorm. */
  groups: number | null;
  activation: ReferenceActivation;
  alpha?: number;
  epsilonMode?: ReferenceEpsilonMode;
  epsilon?: number;
  gamma: ParameterKind;
  beta: ParameterKind;
  /** x = offset + scale * U(-1, 1). */
  scale?: number;
  offset?: number;
  /** gamma = gammaCenter + 0.5 * U(-1, 1) (relu6 needs z beyond 6). */
  gammaCenter?: number;
  /** Channels set to one constant value in every instance. */
  constantChannels?: number[];
  seed?: number;
}

function describeBlock(b: Block): string {
  const op = b.groups == null ? 'instanceNorm' : `groupNorm(${b.groups})`;
  const options = [b.activation, b.epsilonMode ?? '', b.alpha != null ? `alpha ${b.alpha}` : '']
    .filter(Boolean)
    .join(' ');
  return `${op} [${b.shape}] ${b.format} ${options} gamma ${b.gamma} beta ${b.beta}`;
}

function channelsOf(shape: number[], format: Format): number {
  return format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
}

interface BlockData {
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  dy: Float32Array;
}

function blockData(b: Block): BlockData {
  const seed = b.seed ?? 17;
  const size = b.shape.reduce((p, q) => p * q, 1);
  const channels = channelsOf(b.shape, b.format);
  const x = randomValues(size, seed, b.scale ?? 1, b.offset ?? 0);
  if (b.constantChannels != null) {
    const spatial = size / (b.shape[0] * channels);
    for (let i = 0; i < size; i++) {
      const ch = b.format === 'channelsLast' ? i % channels : Math.floor(i / spatial) % channels;
      if (b.constantChannels.includes(ch)) x[i] = 3.25;
    }
  }
  const parameterSize = (kind: ParameterKind) => (kind === 'NC' ? b.shape[0] * channels : channels);
  const gamma =
    b.gamma === 'none'
      ? null
      : randomValues(parameterSize(b.gamma), seed + 1, 0.5, b.gammaCenter ?? 1);
  const beta = b.beta === 'none' ? null : randomValues(parameterSize(b.beta), seed + 2, 1);
  return {x, gamma, beta, dy: randomValues(size, seed + 3, 1)};
}

function parameterTensor(values: Float32Array | null, kind: ParameterKind, b: Block) {
  if (values == null) return null;
  return kind === 'NC'
    ? tf.tensor2d(values, [b.shape[0], channelsOf(b.shape, b.format)])
    : tf.tensor1d(values);
}

function settingsOf(b: Block): NormSettings {
  return {
    epsilon: b.epsilon ?? 1e-5,
    format: b.format,
    groups: b.groups ?? undefined,
    epsilonMode: b.epsilonMode,
    activation: b.activation,
    alpha: b.alpha,
  };
}

function optionsOf(b: Block): NormOptions {
  return {
    activation: b.activation,
    ...(b.alpha != null ? {alpha: b.alpha} : {}),
    ...(b.epsilonMode != null ? {epsilonMode: b.epsilonMode} : {}),
  };
}

function runOp(b: Block, x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null) {
  const epsilon = b.epsilon ?? 1e-5;
  return b.groups == null
    ? instanceNorm(x, gamma, beta, epsilon, b.format, optionsOf(b))
    : groupNorm(x, b.groups, gamma, beta, epsilon, b.format, optionsOf(b));
}

interface BlockResult {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array | null;
  dbeta: Float32Array | null;
}

/** y, and the gradients of sum(dy * y), on the active backend; checks shapes and leaks. */
async function computeBlock(b: Block, d: BlockData): Promise<BlockResult> {
  const x = tf.tensor(d.x, b.shape);
  const dy = tf.tensor(d.dy, b.shape);
  const gamma = parameterTensor(d.gamma, b.gamma, b);
  const beta = parameterTensor(d.beta, b.beta, b);
  const inputs = [x, gamma, beta].filter((t): t is tf.Tensor => t != null);
  const before = tf.memory().numTensors;
  const dataBefore = backendDataIds();
  const {value, grads} = await withoutKernelLeakCheck(() =>
    tf.valueAndGrads((...args: tf.Tensor[]) =>
      runOp(b, args[0], gamma ? args[1] : null, beta ? args[args.length - 1] : null),
    )(inputs, dy),
  );
  expect(grads.map(t => t.shape))
    .withContext('gradient shapes')
    .toEqual(inputs.map(t => t.shape));
  const result: BlockResult = {
    y: (await value.data()) as Float32Array,
    dx: (await grads[0].data()) as Float32Array,
    dgamma: gamma ? ((await grads[1].data()) as Float32Array) : null,
    dbeta: beta ? ((await grads[grads.length - 1].data()) as Float32Array) : null,
  };
  tf.dispose([value, ...grads]);
  expect(tf.memory().numTensors).withContext('tensors after').toBe(before);
  expect(backendDataIds()).withContext('backend data after').toBe(dataBefore);
  tf.dispose([...inputs, dy]);
  return result;
}

/** The reference of the values the backend holds (float16-rounded on webgl-f16). */
function referenceOf(envName: string, b: Block, d: BlockData) {
  const held = (v: Float32Array | null) => (v == null || envName !== WEBGL_F16 ? v : toFloat16(v));
  const [x, gamma, beta, dy] = [held(d.x)!, held(d.gamma), held(d.beta), held(d.dy)!];
  const settings = settingsOf(b);
  return {
    ...referenceNorm(x, b.shape, gamma, beta, settings),
    ...referenceNormGradient(dy, x, b.shape, gamma, beta, settings),
  };
}

/** Worst scaled error per activation and environment, printed after each suite. */
class ErrorLog {
  private worst = new Map<string, number>();
  constructor(private envName: string) {}
  add(key: string, figure: ErrorFigure): void {
    this.worst.set(key, Math.max(this.worst.get(key) ?? 0, figure.scaled));
  }
  print(): void {
    const parts = [...this.worst].map(([k, e]) => `${k} ${e.toExponential(1)}`);
    console.log(`blocks [${this.envName}]: worst scaled error ${parts.join(', ')}`);
  }
}

/**
 * Checks y, dx, dgamma and dbeta of a block against the reference: each
 * within the environment's tolerance, atol scaled by the largest expected
 * magnitude (floor 1), as float32 error grows with it.
 */
async function checkBlock(
  envName: string,
  b: Block,
  log?: ErrorLog,
  {gradients = true} = {},
): Promise<BlockResult> {
  const {atol, rtol} = tolerance(envName);
  const d = blockData(b);
  const got = await computeBlock(b, d);
  const want = referenceOf(envName, b, d);
  const what = (name: string) => `${describeBlock(b)}: ${name}`;
  const figures = [expectClose(got.y, want.y, atol, rtol, what('y'), 1)];
  if (gradients) {
    // float16 textures hold the saved mean to 11 bits: the gradient's xhat =
    // (x - mean) * invStd is then off by up to 2^-11 * |mean| * invStd, which
    // exceeds the table's float16 tolerance only for a group whose mean is
    // large against its spread (e.g. two close values). Scale atol by that
    // condition number, from the reference's own statistics.
    const condition =
      envName === WEBGL_F16
        ? Math.max(1, ...Array.from(want.mean, (m, i) => Math.abs(m) * want.invStd[i]))
        : 1;
    const gradAtol = atol * condition;
    figures.push(expectClose(got.dx, want.dx, gradAtol, rtol, what('dx'), 1));
    if (got.dgamma)
      figures.push(expectClose(got.dgamma, want.dgamma, gradAtol, rtol, what('dgamma'), 1));
    if (got.dbeta)
      figures.push(expectClose(got.dbeta, want.dbeta, gradAtol, rtol, what('dbeta'), 1));
  }
  for (const figure of figures) log?.add(b.activation, figure);
  return got;
}

/**
 * Shapes the activations rotate over: both formats, rank 2 to 5, odd sizes,
 * one and many channels, groups.
 */
const SHAPES: Pick<Block, 'shape' | 'format' | 'groups'>[] = [
  {shape: [2, 5, 7, 3], format: 'channelsLast', groups: null},
  {shape: [2, 3, 5, 7], format: 'channelsFirst', groups: null},
  {shape: [3, 6], format: 'channelsLast', groups: 2},
  {shape: [2, 5, 11], format: 'channelsFirst', groups: null},
  {shape: [2, 3, 4, 5, 6], format: 'channelsLast', groups: 3},
  {shape: [3, 6], format: 'channelsFirst', groups: 3},
  {shape: [2, 11, 5], format: 'channelsLast', groups: null},
  {shape: [1, 6, 3, 4, 5], format: 'channelsFirst', groups: 2},
  {shape: [2, 6, 5, 1], format: 'channelsLast', groups: null},
  {shape: [2, 64, 3, 3], format: 'channelsFirst', groups: 32},
  {shape: [2, 3, 5, 67], format: 'channelsLast', groups: null},
  {shape: [2, 1, 6, 5], format: 'channelsFirst', groups: 1},
  {shape: [2, 4, 4, 8], format: 'channelsLast', groups: 1},
];
const KINDS: [ParameterKind, ParameterKind][] = [
  ['C', 'C'],
  ['NC', 'NC'],
  ['C', 'NC'],
  ['NC', 'C'],
  ['none', 'none'],
  ['C', 'none'],
  ['none', 'NC'],
];

/**
 * Every activation on two shapes of SHAPES (rotating: every shape used, both
 * formats for each activation), the gamma/beta kinds and epsilon modes
 * rotating too.
 */
function activationBlocks(): Block[] {
  const blocks: Block[] = [];
  REFERENCE_ACTIVATIONS.forEach((activation, a) => {
    for (let j = 0; j < 2; j++) {
      const k = a * 2 + j;
      const [gamma, beta] = KINDS[k % KINDS.length];
      blocks.push({
        ...SHAPES[k % SHAPES.length],
        activation,
        gamma,
        beta,
        epsilonMode: k % 4 === 3 ? 'stddev' : undefined,
        alpha: activation === 'leakyRelu' && j === 1 ? 0.01 : undefined,
        gammaCenter: activation === 'relu6' ? 3 : undefined,
        seed: 40 + k,
      });
    }
  });
  return blocks;
}

describeEachBackend(
  'fused blocks',
  env => {
    const log = new ErrorLog(env.name);
    afterAll(() => log.print());

    it('every activation: y, dx, dgamma and dbeta match the float64 reference', async () => {
      for (const b of activationBlocks()) await checkBlock(env.name, b, log);
    });

    it('gamma and beta [C] or [N, C] in all four combinations (and absent)', async () => {
      for (const [gamma, beta] of KINDS) {
        for (const activation of ['linear', 'swish'] as const) {
          await checkBlock(env.name, {
            shape: [3, 4, 5, 6],
            format: activation === 'linear' ? 'channelsLast' : 'channelsFirst',
            groups: activation === 'linear' ? null : 2,
            activation,
            gamma,
            beta,
          });
        }
      }
    });

    it("epsilonMode 'stddev': a constant channel and a constant group stay finite", async () => {
      const blocks: Block[] = [
        {
          shape: [2, 6, 6, 3],
          format: 'channelsLast',
          groups: null,
          activation: 'linear',
          epsilonMode: 'stddev',
          epsilon: 1e-3,
          gamma: 'C',
          beta: 'C',
          constantChannels: [1],
        },
        {
          shape: [2, 4, 5, 5],
          format: 'channelsFirst',
          groups: 2,
          activation: 'relu',
          epsilonMode: 'stddev',
          epsilon: 1e-3,
          gamma: 'NC',
          beta: 'C',
          constantChannels: [2, 3],
        },
        {
          shape: [3, 4],
          format: 'channelsLast',
          groups: 2,
          activation: 'elu',
          epsilonMode: 'stddev',
          epsilon: 1e-2,
          gamma: 'C',
          beta: 'NC',
          constantChannels: [0, 1],
        },
      ];
      for (const b of blocks) {
        const got = await checkBlock(env.name, b, log);
        for (const [what, values] of Object.entries(got)) {
          if (values == null) continue;
          expect((values as Float32Array).every(Number.isFinite))
            .withContext(`${describeBlock(b)}: ${what} is finite`)
            .toBe(true);
        }
      }
    });

    it('the hard-numerics inputs (offset 1e4, scale 1e3) stay NaN/Inf-free for every activation', async () => {
      for (const [a, activation] of REFERENCE_ACTIVATIONS.entries()) {
        const b: Block = {
          ...SHAPES[a % 2],
          activation,
          gamma: 'C',
          beta: 'C',
          ...(a % 2 === 0 ? {offset: 1e4} : {scale: 1e3}),
          epsilonMode: a % 3 === 2 ? 'stddev' : undefined,
        };
        // float16 holds 1e4 to within 8: the values are checked by the
        // reliability spec's float16 cases; here, finiteness. At an offset of
        // 1e4 the float32 saved mean is off by up to half an ulp (5e-4): the
        // gradient recomputes z from it, so act'(z) of a non-linear activation
        // moves by up to act'' * 5e-4 * invStd * gamma (1e-3 on cpu): its
        // gradients are checked for finiteness only; y and the linear
        // gradients against the reference.
        const gradients = b.offset == null || activation === 'linear';
        const got =
          env.name === WEBGL_F16
            ? await computeBlock(b, blockData(b))
            : await checkBlock(env.name, b, log, {gradients});
        for (const [what, values] of Object.entries(got)) {
          if (values == null) continue;
          expect((values as Float32Array).every(Number.isFinite))
            .withContext(`${describeBlock(b)}: ${what} is finite`)
            .toBe(true);
        }
      }
    });

    it('a one-pixel input and a one-element group: y = act(beta), dx exactly 0', async () => {
      const blocks: Block[] = [
        {
          shape: [3, 1, 1, 4],
          format: 'channelsLast',
          groups: null,
          activation: 'linear',
          gamma: 'C',
          beta: 'C',
        },
        {
          shape: [3, 4, 1, 1],
          format: 'channelsFirst',
          groups: null,
          activation: 'relu',
          gamma: 'NC',
          beta: 'C',
        },
        {
          shape: [3, 1, 1, 4],
          format: 'channelsLast',
          groups: null,
          activation: 'swish',
          gamma: 'C',
          beta: 'NC',
        },
        {
          shape: [3, 4],
          format: 'channelsLast',
          groups: 4,
          activation: 'gelu',
          gamma: 'C',
          beta: 'C',
        },
        {
          shape: [2, 6, 1],
          format: 'channelsFirst',
          groups: 6,
          activation: 'linear',
          gamma: 'NC',
          beta: 'NC',
          epsilonMode: 'stddev',
        },
      ];
      for (const b of blocks) {
        const got = await checkBlock(env.name, b, log);
        // -0 is 0.
        expect(Array.from(got.dx).filter(v => v !== 0))
          .withContext(`${describeBlock(b)}: dx`)
          .toEqual([]);
      }
    });

    // The fallback runs no kernels of this package.
    if (env.fused)
      it('the two kernels run directly take every attribute (engine leak check on)', async () => {
        const {atol, rtol} = env.tolerance;
        const blocks: Block[] = [
          {
            shape: [2, 3, 5, 4],
            format: 'channelsLast',
            groups: 2,
            activation: 'swish',
            epsilonMode: 'stddev',
            epsilon: 1e-3,
            gamma: 'NC',
            beta: 'C',
          },
          {
            shape: [3, 4, 7],
            format: 'channelsFirst',
            groups: null,
            activation: 'leakyRelu',
            alpha: 0.05,
            gamma: 'C',
            beta: 'NC',
          },
          {
            shape: [4, 6],
            format: 'channelsLast',
            groups: 3,
            activation: 'gelu',
            gamma: 'NC',
            beta: 'NC',
          },
        ];
        for (const b of blocks) {
          const d = blockData(b);
          const want = referenceOf(env.name, b, d);
          const x = tf.tensor(d.x, b.shape);
          const dy = tf.tensor(d.dy, b.shape);
          const gamma = parameterTensor(d.gamma, b.gamma, b);
          const beta = parameterTensor(d.beta, b.beta, b);
          const channels = channelsOf(b.shape, b.format);
          const more = {
            groups: b.groups ?? channels,
            activation: b.activation,
            ...(b.alpha != null ? {alpha: b.alpha} : {}),
            ...(b.epsilonMode != null ? {epsilonMode: b.epsilonMode} : {}),
          };
          const epsilon = b.epsilon ?? 1e-5;
          const [y, mean, invStd] = runForwardKernel(x, gamma, beta, epsilon, b.format, more);
          const [dx, dgamma, dbeta] = runGradientKernel(dy, x, gamma, mean, invStd, b.format, {
            ...more,
            epsilon,
            beta,
          });
          const what = (name: string) => `${describeBlock(b)} (kernels): ${name}`;
          const groups = b.groups ?? channels;
          expect([mean.shape, invStd.shape]).toEqual([
            [b.shape[0], groups],
            [b.shape[0], groups],
          ]);
          expect([dgamma.shape, dbeta.shape])
            .withContext(what('parameter gradient shapes'))
            .toEqual([gamma!.shape, beta!.shape]);
          expectClose(await y.data(), want.y, atol, rtol, what('y'), 1);
          expectClose(await mean.data(), want.mean, atol, rtol, what('mean'), 1);
          expectClose(await invStd.data(), want.invStd, atol, rtol, what('invStd'), 1);
          expectClose(await dx.data(), want.dx, atol, rtol, what('dx'), 1);
          expectClose(await dgamma.data(), want.dgamma, atol, rtol, what('dgamma'), 1);
          expectClose(await dbeta.data(), want.dbeta, atol, rtol, what('dbeta'), 1);
          tf.dispose([x, dy, gamma!, beta!, y, mean, invStd, dx, dgamma, dbeta]);
        }
      });

    it('second order (tf.grad of tf.grad) through fused activations matches float64', async () => {
      const {rtol} = env.tolerance;
      const blocks: Block[] = [
        {
          shape: [2, 4, 3, 3],
          format: 'channelsFirst',
          groups: 2,
          activation: 'swish',
          epsilon: 1e-3,
          gamma: 'C',
          beta: 'C',
        },
        {
          shape: [3, 4],
          format: 'channelsLast',
          groups: 1,
          activation: 'gelu',
          epsilon: 1e-3,
          gamma: 'NC',
          beta: 'NC',
          epsilonMode: 'stddev',
        },
      ];
      for (const b of blocks) {
        const d = blockData(b);
        const w = randomValues(d.x.length, 61, 1);
        const v = randomValues(d.x.length, 62, 1);
        const expected = secondOrderReference(b, d, w, v);
        const x = tf.tensor(d.x, b.shape);
        const gamma = parameterTensor(d.gamma, b.gamma, b)!;
        const beta = parameterTensor(d.beta, b.beta, b)!;
        const wt = tf.tensor(w, b.shape);
        const vt = tf.tensor(v, b.shape);
        const before = tf.memory().numTensors;
        // L = sum(dx^2) + sum(dgamma^2) + sum(y * v), (dx, dgamma) the
        // gradient of sum(y * w).
        const loss = (xo: tf.Tensor, go: tf.Tensor, bo: tf.Tensor): tf.Scalar => {
          const [dx, dgamma] = tf.grads((xi: tf.Tensor, gi: tf.Tensor) =>
            tf.sum(tf.mul(runOp(b, xi, gi, bo), wt)),
          )([xo, go]);
          const penalty = tf.add(tf.sum(tf.square(dx)), tf.sum(tf.square(dgamma)));
          return tf.add(penalty, tf.sum(tf.mul(runOp(b, xo, go, bo), vt)));
        };
        const grads = await withoutKernelLeakCheck(() => tf.grads(loss)([x, gamma, beta]));
        for (const [k, name] of ['dx', 'dgamma', 'dbeta'].entries()) {
          const scale = Math.max(...expected[k].map(Math.abs));
          expectClose(
            await grads[k].data(),
            expected[k],
            rtol * 10 * scale,
            rtol * 10,
            `${describeBlock(b)}: second order ${name}`,
          );
        }
        tf.dispose(grads);
        expect(tf.memory().numTensors).withContext('tensors after').toBe(before);
        tf.dispose([x, gamma, beta, wt, vt]);
      }
    });

    it('adaptiveInstanceNorm: values and both gradients match the float64 reference', async () => {
      const {atol, rtol} = env.tolerance;
      const pairs: [number[], number[], Format][] = [
        [[2, 5, 6, 3], [2, 4, 3, 3], 'channelsLast'],
        [[2, 3, 5, 6], [2, 3, 7, 2], 'channelsFirst'],
        [[2, 9, 4], [2, 5, 4], 'channelsLast'],
        [[1, 2, 3, 2, 5], [1, 2, 2, 2, 5], 'channelsLast'],
        [[3, 1, 1, 2], [3, 4, 4, 2], 'channelsLast'],
      ];
      for (const [contentShape, styleShape, format] of pairs) {
        const what = (name: string) =>
          `AdaIN [${contentShape}] <- [${styleShape}] ${format}: ${name}`;
        const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
        const c = randomValues(size(contentShape), 71, 1.5, 0.5);
        const st = randomValues(size(styleShape), 72, 2, -1);
        const g = randomValues(size(contentShape), 73, 1);
        const held = (v: Float32Array) => (env.name === WEBGL_F16 ? toFloat16(v) : v);
        const expectedY = referenceAdaIN(held(c), contentShape, held(st), styleShape, 1e-5, format);
        const expected = referenceAdaINGradient(
          held(g),
          held(c),
          contentShape,
          held(st),
          styleShape,
          1e-5,
          format,
        );
        const content = tf.tensor(c, contentShape);
        const style = tf.tensor(st, styleShape);
        const dy = tf.tensor(g, contentShape);
        const before = tf.memory().numTensors;
        const dataBefore = backendDataIds();
        const {value, grads} = await withoutKernelLeakCheck(() =>
          tf.valueAndGrads((ci: tf.Tensor, si: tf.Tensor) =>
            adaptiveInstanceNorm(ci, si, 1e-5, format),
          )([content, style], dy),
        );
        expect(value.shape).toEqual(contentShape);
        expect(grads.map(t => t.shape)).toEqual([contentShape, styleShape]);
        log.add('adaIN', expectClose(await value.data(), expectedY, atol, rtol, what('y'), 1));
        log.add(
          'adaIN',
          expectClose(await grads[0].data(), expected.dcontent, atol, rtol, what('dcontent'), 1),
        );
        log.add(
          'adaIN',
          expectClose(await grads[1].data(), expected.dstyle, atol, rtol, what('dstyle'), 1),
        );
        tf.dispose([value, ...grads]);
        expect(tf.memory().numTensors).withContext('tensors after').toBe(before);
        expect(backendDataIds()).withContext('backend data after').toBe(dataBefore);
        tf.dispose([content, style, dy]);
      }
    });

    it('adaptiveInstanceNorm: second order (tf.grad of tf.grad) matches float64', async () => {
      const {rtol} = tolerance(env.name);
      const contentShape = [2, 3, 2, 3];
      const styleShape = [2, 2, 2, 3];
      const format: Format = 'channelsLast';
      const c = Float64Array.from(randomValues(36, 91, 1.5));
      const st = Float64Array.from(randomValues(24, 92, 2, 0.5));
      const w = randomValues(36, 93, 1);
      const v = randomValues(36, 94, 1);
      const referenceLoss = () => {
        const inner = referenceAdaINGradient(w, c, contentShape, st, styleShape, 1e-3, format);
        const y = referenceAdaIN(c, contentShape, st, styleShape, 1e-3, format);
        return dot(inner.dcontent, inner.dcontent) + dot(inner.dstyle, inner.dstyle) + dot(y, v);
      };
      const expected = [c, st].map(values => centralDifferences(values, referenceLoss, 1e-5));
      const content = tf.tensor(Float32Array.from(c), contentShape);
      const style = tf.tensor(Float32Array.from(st), styleShape);
      const wt = tf.tensor(w, contentShape);
      const vt = tf.tensor(v, contentShape);
      const before = tf.memory().numTensors;
      const adain = (ci: tf.Tensor, si: tf.Tensor) => adaptiveInstanceNorm(ci, si, 1e-3, format);
      const grads = await withoutKernelLeakCheck(() =>
        tf.grads((co: tf.Tensor, so: tf.Tensor): tf.Scalar => {
          const [dc, ds] = tf.grads((ci: tf.Tensor, si: tf.Tensor) =>
            tf.sum(tf.mul(adain(ci, si), wt)),
          )([co, so]);
          const penalty = tf.add(tf.sum(tf.square(dc)), tf.sum(tf.square(ds)));
          return tf.add(penalty, tf.sum(tf.mul(adain(co, so), vt)));
        })([content, style]),
      );
      for (const [k, name] of ['dcontent', 'dstyle'].entries()) {
        const scale = Math.max(...expected[k].map(Math.abs));
        expectClose(
          await grads[k].data(),
          expected[k],
          rtol * 10 * scale,
          rtol * 10,
          `AdaIN second order ${name}`,
        );
      }
      tf.dispose(grads);
      expect(tf.memory().numTensors).withContext('tensors after').toBe(before);
      tf.dispose([content, style, wt, vt]);
    });

    it('adaptiveInstanceNorm takes the style statistics from the fused kernel where it exists', async () => {
      const content = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 81);
      const style = tf.randomNormal([1, 2, 5, 3], 2, 3, 'float32', 82);
      const profile = await withoutKernelLeakCheck(() =>
        tf.profile(() =>
          tf.grads((c: tf.Tensor, s: tf.Tensor) => adaptiveInstanceNorm(c, s))([content, style]),
        ),
      );
      const names = profile.kernels.map(k => k.name);
      // The style's statistics, the content, and the style's gradient (the style normalized
      // again with [N, C] gamma dgamma / M and beta dbeta / M).
      expect(names.filter(n => n === InstanceNorm).length).toBe(env.fused ? 3 : 0);
      expect(names.includes(InstanceNormGrad)).toBe(env.fused);
      tf.dispose(profile.result as tf.Tensor[]);
      tf.dispose([content, style]);
    });

    it('bad options, parameters and styles: an Error naming the argument, nothing leaked', () => {
      const x = tf.zeros([2, 3, 3, 3]);
      const cases: [string, () => unknown, RegExp][] = [
        [
          'unknown activation',
          () => instanceNorm(x, null, null, 1e-5, 'channelsLast', {activation: 'relu7' as 'relu'}),
          /^instanceNorm: option 'activation' must be one of 'linear', 'relu', .*'gelu_new', 'silu', but got "relu7"/,
        ],
        [
          'unknown epsilonMode',
          () => groupNorm(x, 3, null, null, 1e-5, 'channelsLast', {epsilonMode: 'std' as 'stddev'}),
          /^groupNorm: option 'epsilonMode' must be one of 'variance', 'stddev', but got "std"/,
        ],
        [
          'NaN alpha',
          () =>
            instanceNorm(x, null, null, 1e-5, 'channelsLast', {
              activation: 'leakyRelu',
              alpha: NaN,
            }),
          /option 'alpha' \(leakyRelu's slope\) must be a finite number, but got NaN/,
        ],
        [
          'unknown option key',
          () =>
            instanceNorm(x, null, null, 1e-5, 'channelsLast', {activaton: 'relu'} as NormOptions),
          /'options' has the unknown key 'activaton'; the valid keys are activation, alpha, epsilonMode/,
        ],
        [
          'gamma [N, C] with the wrong N',
          () => instanceNorm(x, tf.ones([3, 3])),
          /'gamma' must be of shape \[C\] = \[3\] or \[N, C\] = \[2, 3\].*got shape \[3,3\]/,
        ],
        [
          'beta [N, C] with the wrong C',
          () => groupNorm(x, 1, null, tf.ones([2, 4])),
          /^groupNorm: argument 'beta' must be of shape \[C\] = \[3\] or \[N, C\] = \[2, 3\]/,
        ],
        [
          'instanceNorm of rank 2',
          () => instanceNorm(tf.zeros([2, 3])),
          /^instanceNorm: argument 'x' must be of rank 3, 4 or 5/,
        ],
        [
          'groupNorm of rank 6',
          () => groupNorm(tf.zeros([1, 1, 1, 1, 1, 2]), 1),
          /^groupNorm: argument 'x' must be of rank 2, 3, 4 or 5/,
        ],
        [
          'a style with another C',
          () => adaptiveInstanceNorm(x, tf.zeros([2, 4, 4, 4])),
          /^adaptiveInstanceNorm: argument 'style' must have the N and C of content \(N = 2, C = 3/,
        ],
        [
          'a style with another N',
          () => adaptiveInstanceNorm(x, tf.zeros([1, 3, 3, 3])),
          /argument 'style' must have the N and C of content.*\[1,3,3,3\]/,
        ],
        [
          'a style of rank 2',
          () => adaptiveInstanceNorm(x, tf.zeros([2, 3])),
          /^adaptiveInstanceNorm: argument 'style' must be of rank 3, 4 or 5/,
        ],
        [
          'an int32 content',
          () => adaptiveInstanceNorm(tf.zeros([2, 3, 3, 3], 'int32'), x),
          /^adaptiveInstanceNorm: argument 'content' must be a float32 tensor/,
        ],
        [
          'a zero epsilon for adaIN',
          () => adaptiveInstanceNorm(x, x, 0),
          /^adaptiveInstanceNorm: argument 'epsilon' must be a positive finite number/,
        ],
      ];
      for (const [name, run, pattern] of cases) {
        // The arguments are made inside the tidy (and freed by it): any
        // tensor the op leaves behind after the throw shows in the count.
        const before = tf.memory().numTensors;
        let message = '';
        tf.tidy(() => {
          try {
            run();
          } catch (e) {
            message = (e as Error).message;
          }
        });
        expect(message).withContext(name).toMatch(pattern);
        expect(tf.memory().numTensors).withContext(`${name}: tensors after`).toBe(before);
      }
      x.dispose();
    });
  },
  {f16: true},
);

/**
 * Central differences, in float64, of L = sum(dx^2) + sum(dgamma^2) +
 * sum(y * v), with (dx, dgamma) the reference gradient of sum(y * w): the
 * gradient of L with respect to x, gamma and beta.
 */
function secondOrderReference(
  b: Block,
  d: BlockData,
  w: Float32Array,
  v: Float32Array,
): Float64Array[] {
  const settings = settingsOf(b);
  const values = [Float64Array.from(d.x), Float64Array.from(d.gamma!), Float64Array.from(d.beta!)];
  const loss = () => {
    const [x, gamma, beta] = values;
    const inner = referenceNormGradient(w, x, b.shape, gamma, beta, settings);
    const {y} = referenceNorm(x, b.shape, gamma, beta, settings);
    return dot(inner.dx, inner.dx) + dot(inner.dgamma, inner.dgamma) + dot(y, v);
  };
  return values.map(array => centralDifferences(array, loss, 1e-5));
}
