/**
 * Reliability: the sizes that break reductions and dispatch — a million
 * pixels per channel, 4096 channels of 4 pixels, 256 instances, one element,
 * no instance at all — forward and gradient against the float64 reference, on
 * every backend and in the float16 WebGL mode. Every element is compared
 * (reading back and checking 4M values costs less than the kernels on
 * SwiftShader); each case prints its worst errors and its time.
 */
import {describeEachBackend, DataFormat, randomValues, TestEnv} from './setup';
import {computeOnBackend, referenceFor, Report} from './reliability_util';

const SUITE = 'sizes';

interface SizeCase {
  shape: number[];
  format: DataFormat;
}

const CASES: SizeCase[] = [
  {shape: [1, 1024, 1024, 4], format: 'channelsLast'},
  {shape: [1, 4, 1024, 1024], format: 'channelsFirst'},
  {shape: [1, 2, 2, 4096], format: 'channelsLast'},
  {shape: [1, 4096, 2, 2], format: 'channelsFirst'},
  {shape: [256, 4, 4, 8], format: 'channelsLast'},
  {shape: [256, 8, 4, 4], format: 'channelsFirst'},
  {shape: [1, 1, 1, 1], format: 'channelsLast'},
  {shape: [1, 1, 1, 1], format: 'channelsFirst'},
  {shape: [0, 4, 4, 3], format: 'channelsLast'},
  {shape: [0, 3, 4, 4], format: 'channelsFirst'},
];

describeEachBackend('reliability: sizes', sizesSpecs, {f16: true});

function sizesSpecs(env: TestEnv): void {
  const report = new Report(SUITE, env);
  afterAll(() => report.print());

  for (const {shape, format} of CASES) {
    // The fallback is tfjs' own ops on the cpu (20 s for a million pixels);
    // the million-pixel cases are for the fused kernels of cpu, webgl, webgpu.
    if (!env.fused && shape.reduce((a, b) => a * b, 1) > 1e6) continue;
    it(`[${shape}] ${format}: forward and gradient match the reference`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const channels = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
      const spatial = size / Math.max(1, shape[0] * channels);
      const x = randomValues(size, 31, 1);
      // An offset per channel, so a mix-up of channels shows.
      for (let i = 0; i < size; i++) {
        x[i] += format === 'channelsLast' ? i % channels : Math.floor(i / spatial) % channels;
      }
      const input = {
        shape,
        format,
        epsilon: 1e-5,
        x,
        gamma: randomValues(channels, 32, 0.5, 1),
        beta: randomValues(channels, 33, 1),
        dy: randomValues(size, 34, 1),
      };
      const started = performance.now();
      const got = await computeOnBackend(input);
      const seconds = (performance.now() - started) / 1000;
      const want = referenceFor(env.name, input);
      const label = `[${shape}] ${format}`;
      report.check(label, 'y', got.y, want.y);
      report.check(label, 'dx', got.dx, want.dx);
      report.check(label, 'dgamma', got.dgamma!, want.dgamma);
      report.check(label, 'dbeta', got.dbeta!, want.dbeta);
      expect(got.y.length).toBe(size);
      report.figures({name: label, seconds: Number(seconds.toFixed(2))});
    });
  }
}
