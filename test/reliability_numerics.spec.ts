/**
 * Reliability: numerics at the edges a long training run meets — zero
 * variance, large offsets, huge and tiny magnitudes, a NaN — forward and
 * gradient, against the float64 reference, on every backend and in the
 * float16 WebGL mode. Each case prints its worst errors (RELIABILITY lines).
 */
import {describeEachBackend, F16_MAX, DataFormat, seeded, TestEnv, WEBGL_F16} from './setup';
import {CheckInput, computeOnBackend, referenceFor, Report} from './reliability_util';

const SUITE = 'numerics';

interface NumericsCase {
  name: string;
  /** [N, H, W, C]; the channelsFirst run uses [N, C, H, W] with the same values. */
  shape: [number, number, number, number];
  epsilon: number;
  /** The value at (instance n, pixel p, channel c); rand is seeded per case. */
  value: (rand: () => number, n: number, p: number, c: number) => number;
  /** Least scale of the error figure: 0 makes it purely relative (tiny results). */
  floor?: number;
  /**
   * On 'webgl-f16', when the case cannot be stored in float16 (beyond 65504 or
   * below its resolution), the closest case that can, and why.
   */
  f16?: {replacement: NumericsCase; why: string};
}

const uniform = (rand: () => number) => 2 * rand() - 1;

const CASES: NumericsCase[] = [
  {name: 'constant input (zero variance)', shape: [2, 6, 6, 3], epsilon: 1e-5, value: () => 3.3},
  {
    name: 'constant input, epsilon 1e-12',
    shape: [2, 6, 6, 3],
    epsilon: 1e-12,
    value: () => 3.3,
    f16: {
      why: 'invStd = 1e6 exceeds float16 (max 65504)',
      replacement: {
        name: 'constant input, epsilon 1e-8',
        shape: [2, 6, 6, 3],
        epsilon: 1e-8,
        value: () => 3.3,
      },
    },
  },
  {
    name: 'offset 1e4, unit spread',
    shape: [2, 16, 16, 3],
    epsilon: 1e-5,
    value: (r, _n, _p, c) => 1e4 + c + uniform(r),
  },
  {
    name: 'offset 1e6, unit spread',
    shape: [2, 16, 16, 3],
    epsilon: 1e-5,
    value: (r, _n, _p, c) => 1e6 + c + uniform(r),
    f16: {
      why: '1e6 exceeds float16 (max 65504); 3e4 is the largest offset it holds with room',
      replacement: {
        name: 'offset 3e4, spread 100',
        shape: [2, 16, 16, 3],
        epsilon: 1e-5,
        value: (r, _n, _p, c) => 3e4 + 10 * c + 100 * uniform(r),
      },
    },
  },
  {
    // 1e18 squared is 1e36 (float32 holds 3.4e38), but 4096 of them sum to
    // 1.4e39: a kernel that sums raw squares in float32 overflows.
    name: 'magnitude 1e18 over 4096 pixels (sum of squares overflows float32)',
    shape: [1, 64, 64, 2],
    epsilon: 1e-5,
    value: (r, _n, _p, c) => (c + 1) * 1e18 * uniform(r),
    floor: 0,
    f16: {
      why: '1e18 exceeds float16 (max 65504); 3e4 is the float16 analogue: its squares overflow',
      replacement: {
        name: 'magnitude 3e4 over 4096 pixels (squares overflow float16)',
        shape: [1, 64, 64, 2],
        epsilon: 1e-5,
        value: (r, _n, _p, c) => (c + 1) * 1.5e4 * uniform(r),
      },
    },
  },
  {
    name: 'tiny variance: spread 1e-4 at 1, epsilon 1e-12',
    shape: [2, 8, 8, 3],
    epsilon: 1e-12,
    value: r => 1 + 1e-4 * uniform(r),
    f16: {
      why:
        'in float16 the spread rounds away (its spacing at 1 is 1e-3): a constant channel ' +
        'with epsilon 1e-12 has invStd = 1e6, beyond float16 (max 65504)',
      replacement: {
        name: 'tiny variance: spread 1e-2 at 1, epsilon 1e-12',
        shape: [2, 8, 8, 3],
        epsilon: 1e-12,
        value: r => 1 + 1e-2 * uniform(r),
      },
    },
  },
  {
    name: 'tiny variance: spread 1e-6 at 0, epsilon 1e-12',
    shape: [2, 8, 8, 3],
    epsilon: 1e-12,
    value: r => 1e-6 * uniform(r),
    f16: {
      why: 'invStd ~ 9e5 exceeds float16 (max 65504)',
      replacement: {
        name: 'tiny variance: spread 1e-2 at 0, epsilon 1e-12',
        shape: [2, 8, 8, 3],
        epsilon: 1e-12,
        value: r => 1e-2 * uniform(r),
      },
    },
  },
  {
    name: 'a NaN in one instance-channel',
    shape: [2, 5, 5, 3],
    epsilon: 1e-5,
    value: (r, n, p, c) => (n === 1 && p === 7 && c === 2 ? NaN : uniform(r)),
  },
];

/** The case's data in the layout of format. */
function makeInput(c: NumericsCase, format: DataFormat): CheckInput {
  const [n, h, w, ch] = c.shape;
  const pixels = h * w;
  const size = n * pixels * ch;
  const rand = seeded(17);
  const x = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < pixels; p++) {
      for (let k = 0; k < ch; k++) {
        const at =
          format === 'channelsLast' ? (i * pixels + p) * ch + k : (i * ch + k) * pixels + p;
        x[at] = c.value(rand, i, p, k);
      }
    }
  }
  const gamma = new Float32Array(ch).map(() => 0.5 + rand());
  const beta = new Float32Array(ch).map(() => uniform(rand));
  const dy = new Float32Array(size).map(() => uniform(rand));
  const shape = format === 'channelsLast' ? [n, h, w, ch] : [n, ch, h, w];
  return {shape, x, gamma, beta, dy, epsilon: c.epsilon, format};
}

function count(values: ArrayLike<number>, test: (v: number) => boolean): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) if (test(values[i])) k++;
  return k;
}

describeEachBackend('reliability: numerics', numericsSpecs, {f16: true});

function numericsSpecs(env: TestEnv): void {
  const report = new Report(SUITE, env);
  afterAll(() => report.print());

  for (const original of CASES) {
    for (const format of ['channelsLast', 'channelsFirst'] as DataFormat[]) {
      const replaced = env.name === WEBGL_F16 && original.f16 != null;
      const c = replaced ? original.f16!.replacement : original;
      const title = replaced ? `${c.name} (for "${original.name}": ${original.f16!.why})` : c.name;
      it(`${title}, ${format}: forward and gradient match the reference`, async () => {
        const input = makeInput(c, format);
        const label = `${c.name} ${format}`;
        const got = await computeOnBackend(input);
        const want = referenceFor(env.name, input);
        if (env.name === WEBGL_F16) {
          // The reference is of the float16-rounded values: they, and the
          // saved statistics, must fit float16.
          expect(input.x.every(v => Number.isNaN(v) || Math.abs(v) < F16_MAX))
            .withContext('x fits float16')
            .toBe(true);
          expect(want.invStd.every(v => Number.isNaN(v) || v < F16_MAX))
            .withContext('invStd fits float16')
            .toBe(true);
        }
        const scale = {floor: c.floor ?? 1};
        report.check(label, 'y', got.y, want.y, scale);
        report.check(label, 'dx', got.dx, want.dx, scale);
        report.check(label, 'dgamma', got.dgamma!, want.dgamma, scale);
        report.check(label, 'dbeta', got.dbeta!, want.dbeta, scale);

        const spatial = c.shape[1] * c.shape[2];
        if (c.name.startsWith('constant input')) {
          // The reference's y is exactly beta here (x - mean is exactly 0 in
          // float64), so the y check above is the y = beta check.
          for (const [what, values] of Object.entries(got)) {
            expect(count(values as Float32Array, v => !Number.isFinite(v)))
              .withContext(`${what} is finite`)
              .toBe(0);
          }
        }
        if (c.name.startsWith('a NaN')) {
          // The NaN reaches its own (instance, channel) and nothing else; dgamma
          // of that channel sums it, dbeta does not (dy is finite).
          expect(count(got.y, Number.isNaN)).withContext('NaNs in y').toBe(spatial);
          expect(count(got.dx, Number.isNaN)).withContext('NaNs in dx').toBe(spatial);
          expect(count(got.dgamma!, Number.isNaN)).withContext('NaNs in dgamma').toBe(1);
          expect(count(got.dbeta!, Number.isNaN)).withContext('NaNs in dbeta').toBe(0);
        }
      });
    }
  }
}
