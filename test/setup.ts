/**
 * The test harness, shared by every spec: the table of environments a spec
 * runs on (`ENVS` of `TestEnv`), the one entry point that runs a spec over
 * them and hands each suite its `TestEnv` (`describeEachBackend`), the
 * closeness check; seeded data comes from support/.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
// A backend imported here (with what it needs, e.g. setWasmPaths for wasm)
// activates its entry of ENVS below.
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import {MathBackendWebGL, setWebGLContext} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormGrad} from '../src/index';

// The .wasm binaries, served by Karma (karma.conf.js); without cross-origin
// isolation the backend picks the plain or the SIMD one.
setWasmPaths('/base/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

export {tf};
// Seeded data and the format type, shared with the bench and the demo.
export {randomValues, seeded} from '../support';
export type {DataFormat} from '../support';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** float32 arithmetic in double-checked order (cpu, wasm). */
const CPU_TOLERANCE: Tolerance = {atol: 1e-4, rtol: 1e-4};
/** GPU float32 math is less exact than the cpu's. */
const GPU_TOLERANCE: Tolerance = {atol: 1e-3, rtol: 1e-3};
/** float16 textures: 11 significant bits (2^-11 = 4.9e-4) for every stored value. */
const F16_TOLERANCE: Tolerance = {atol: 1e-2, rtol: 1e-2};

/** An environment a spec runs on: a backend and the env flags it runs under. */
export interface TestEnv {
  /** The `[name]` tag of its suites, and its name in BACKENDS. */
  name: string;
  /** The engine backend its suites select (tf.setBackend). */
  backend: string;
  /** BACKENDS=<family> selects every environment of the family. */
  family: string;
  /** Env flags set, over the defaults, while its suites run (restored after). */
  flags: Record<string, boolean | number>;
  /** What a result of magnitude ~1 may differ from the float64 reference. */
  tolerance: Tolerance;
  /** Whether this package's kernels run there (false: the composite fallback). */
  fused: boolean;
  /** The option of describeEachBackend that includes it (see EnvOptions). */
  option?: 'fallback' | 'f16';
  /** Whether the backend is loaded; an absent one is left out unless BACKENDS names it. */
  present?: () => boolean;
  /** Registers a backend the tests make themselves, once, before its suites run. */
  register?: () => void;
}

/**
 * A backend with every cpu kernel except this package's: the fallback path
 * that users of a backend without the kernels get.
 */
export const FALLBACK = 'cpu-without-instance-norm';

/**
 * A second WebGL backend that holds every kernel registered for 'webgl'
 * (this package's included) and runs with float16 textures, as mobile GPUs do.
 */
export const WEBGL_F16 = 'webgl-f16';

/** float16 storage: 11 significant bits, largest finite value 65504. */
export const F16_MAX = 65504;

/** The flags of float16 textures; the derived ones too, as they are cached once read. */
const F16_FLAGS = {
  WEBGL_FORCE_F16_TEXTURES: true,
  WEBGL_RENDER_FLOAT32_ENABLED: false,
  WEBGL_SIZE_UPLOAD_UNIFORM: 0,
};

function env(name: string, tolerance: Tolerance, more: Partial<TestEnv> = {}): TestEnv {
  return {name, backend: name, family: name, flags: {}, tolerance, fused: true, ...more};
}

/** Every environment; `describeEachBackend` runs a spec on each that is selected. */
export const ENVS: TestEnv[] = [
  env('cpu', CPU_TOLERANCE),
  env('webgl', GPU_TOLERANCE),
  env('webgl-unpacked', GPU_TOLERANCE, {
    backend: 'webgl',
    family: 'webgl',
    flags: {WEBGL_PACK: false},
  }),
  env(WEBGL_F16, F16_TOLERANCE, {
    family: 'webgl',
    flags: F16_FLAGS,
    option: 'f16',
    register: registerWebglF16Backend,
  }),
  env('webgpu', GPU_TOLERANCE),
  env('wasm', CPU_TOLERANCE, {present: () => tf.findBackendFactory('wasm') != null}),
  env(FALLBACK, CPU_TOLERANCE, {
    family: 'fallback',
    fused: false,
    option: 'fallback',
    register: registerFallbackBackend,
  }),
];

/**
 * The tolerance of an environment by name, for a spec of one backend; a suite
 * of describeEachBackend reads `env.tolerance`.
 */
export function tolerance(envName: string): Tolerance {
  const env = ENVS.find(e => e.name === envName);
  if (env == null) throw new Error(`tolerance: no environment named ${String(envName)}`);
  return env.tolerance;
}

/** The names in BACKENDS (karma's `backends=` arg), or null when it is not set. */
const wanted: string[] | null = (() => {
  const arg = (
    globalThis as {__karma__?: {config?: {args?: string[]}}}
  ).__karma__?.config?.args?.find(a => a.startsWith('backends='));
  return arg ? arg.slice('backends='.length).split(',').filter(Boolean) : null;
})();

const named = (e: TestEnv) =>
  wanted != null && (wanted.includes(e.name) || wanted.includes(e.family));

const unknown = (wanted ?? []).filter(w => !ENVS.some(e => e.name === w || e.family === w));
if (unknown.length > 0) {
  describe('BACKENDS [other]', () => {
    it('names only known environments', () => {
      fail(`unknown in BACKENDS: ${unknown.join(', ')} (known: ${ENVS.map(e => e.name)})`);
    });
  });
}

export interface EnvOptions {
  /** Exactly these environments (by name), instead of the default ones. */
  envs?: string[];
  /** Include the fallback (default true). */
  fallback?: boolean;
  /** Include 'webgl-f16' (default false). */
  f16?: boolean;
}

const OPTION_DEFAULTS = {fallback: true, f16: false};

/**
 * The environments a spec with these options runs on, narrowed by BACKENDS.
 * One whose backend is not loaded (wasm without its package) is left out,
 * unless BACKENDS names it: then its suites fail.
 */
export function selectedEnvs(options: EnvOptions = {}): TestEnv[] {
  return ENVS.filter(e => {
    const asked = options.envs
      ? options.envs.includes(e.name)
      : e.option == null || (options[e.option] ?? OPTION_DEFAULTS[e.option]);
    const present = e.present?.() ?? true;
    return asked && (wanted == null ? present : named(e));
  });
}

/**
 * Runs the suite's specs on `env`: registers its backend if the tests make
 * it, sets its flags over the defaults (flags derived from others, like
 * WEBGL_PACK_* from WEBGL_PACK, are cached once read, so all are reset) and
 * selects its backend; restores every flag after. An environment that was
 * selected but does not start fails the suite: it is never silently skipped.
 */
function useEnv(env: TestEnv): void {
  let saved: ReturnType<ReturnType<typeof tf.env>['getFlags']> = {};
  beforeAll(async () => {
    saved = {...tf.env().getFlags()};
    if (Object.keys(env.flags).length > 0) tf.env().reset();
    for (const [flag, value] of Object.entries(env.flags)) tf.env().set(flag, value);
    const ok = tf.findBackendFactory(env.backend) != null && (await tf.setBackend(env.backend));
    if (!ok || tf.getBackend() !== env.backend) {
      throw new Error(`environment '${env.name}' is expected here but did not start`);
    }
    tf.env().set('IS_TEST', true);
  });
  afterAll(() => {
    tf.env().setFlags(saved);
    tf.env().set('IS_TEST', false);
  });
}

/**
 * Runs `body` once per selected environment, in a suite tagged `[env.name]`;
 * the body gets the environment (its name, tolerance, whether the fused
 * kernels run there). By default the environments with kernels and the
 * fallback; `options` narrows or widens that (see EnvOptions), and
 * BACKENDS=cpu,webgl,fallback,... narrows it further (a family name, like
 * webgl, selects its variants too).
 */
export function describeEachBackend(
  name: string,
  body: (env: TestEnv) => void,
  options: EnvOptions = {},
): void {
  for (const env of selectedEnvs(options)) {
    env.register?.();
    describe(`${name} [${env.name}]`, () => {
      useEnv(env);
      body(env);
    });
  }
}

/** The worst error of a comparison. */
export interface ErrorFigure {
  /** Largest |actual - expected|; Infinity where finiteness differs. */
  maxAbs: number;
  /** maxAbs divided by max(floor, max |expected|): the figure a scaled tolerance bounds. */
  scaled: number;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise, and
 * reports the worst element. Non-finite values fail unless both sides agree.
 * With `floor`, atol is scaled by max(floor, max |expected|) (float32 error
 * grows with the magnitude of the result; floor 0 makes it purely relative).
 * Returns the worst error, scaled by max(floor, max |expected|) (floor 1 when
 * not given).
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
  what = 'values',
  floor?: number,
): ErrorFigure {
  expect(actual.length).withContext(`${what}: length`).toBe(expected.length);
  let scale = floor ?? 1;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  }
  const bound = floor == null ? atol : atol * scale;
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
      maxAbs = Infinity;
      if (worstExcess !== Infinity) worst = i;
      worstExcess = Infinity;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(a - e));
    const excess = Math.abs(a - e) - (bound + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  const detail =
    worst < 0
      ? ''
      : `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${bound}, rtol ${rtol})`;
  expect(worst).withContext(detail).toBe(-1);
  return {maxAbs, scaled: scale > 0 ? maxAbs / scale : maxAbs};
}

/**
 * Runs fn with the engine's per-kernel leak check (IS_TEST) off. tf.customGrad
 * keeps the tensors its forward saves for the gradient; when they are new
 * (mean and invStd, the saved state) the check counts them as leaked although
 * backprop frees them. Code that records a tape runs through here; the specs
 * still count tensors and backend data ids themselves, and the kernels run
 * directly with the check on.
 */
export async function withoutKernelLeakCheck<T>(fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', false);
  try {
    return await fn();
  } finally {
    tf.env().set('IS_TEST', previous);
  }
}

/** Data buffers the active backend holds (textures / GPU buffers / arrays). */
export function backendDataIds(): number {
  return tf.engine().backend.numDataIds();
}

function registerFallbackBackend(): void {
  if (tf.findBackendFactory(FALLBACK) != null) return;
  tf.registerBackend(FALLBACK, () => new MathBackendCPU(), 0);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (kernel.kernelName !== InstanceNorm && kernel.kernelName !== InstanceNormGrad) {
      tf.registerKernel({...kernel, backendName: FALLBACK});
    }
  }
}

/** Registers 'webgl-f16' once, with every kernel registered for 'webgl' at that moment. */
function registerWebglF16Backend(): void {
  if (tf.findBackendFactory(WEBGL_F16) != null) return;
  tf.registerBackend(
    WEBGL_F16,
    () => {
      // Its own canvas gives it its own GL context and shader cache, so its
      // textures never mix with the float32 backend's. The constructor makes the
      // new context tfjs's shared one: hand that role back to 'webgl''s context.
      const webgl = tf.findBackend('webgl') as MathBackendWebGL | null;
      const backend = new MathBackendWebGL(new OffscreenCanvas(1, 1));
      if (webgl != null) setWebGLContext(2, webgl.gpgpu.gl);
      return backend;
    },
    0,
  );
  for (const kernel of tf.getKernelsForBackend('webgl')) {
    tf.registerKernel({...kernel, backendName: WEBGL_F16});
  }
}

/** Rounds each value to the nearest float16 (ties to even), as f16 textures store it. */
export function toFloat16(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const a = Math.abs(v);
    if (!Number.isFinite(v) || a === 0) {
      out[i] = v;
      continue;
    }
    // Spacing of float16 numbers around a: 2^(e - 10), subnormal below 2^-14.
    const e = Math.max(Math.floor(Math.log2(a)), -14);
    const ulp = 2 ** (e - 10);
    const q = a / ulp;
    let r = Math.round(q);
    if (r - q === 0.5 && r % 2 === 1) r -= 1;
    const rounded = r * ulp;
    out[i] = Math.sign(v) * (rounded > F16_MAX ? Infinity : rounded);
  }
  return out;
}
