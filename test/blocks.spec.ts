/**
 * The fused blocks: every activation, gamma and beta per channel or per
 * instance, epsilon on the standard deviation, rank 2 to 5, and adaptive
 * instance norm, forward and gradient, against the float64 reference on every
 * environment. First, the reference itself against central finite
 * differences in float64.
 */
import {
  NormSettings,
  REFERENCE_ACTIVATIONS,
  erf,
  referenceAdaIN,
  referenceAdaINGradient,
  referenceNorm,
  referenceNormGradient,
} from './reference';
import {expectClose, seededRandom} from './setup';

function float64Values(size: number, seed: number, scale = 1, offset = 0): Float64Array {
  const next = seededRandom(seed);
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
