/**
 * Shared by every spec: the backends, a seeded random source, and the
 * closeness check. Each spec file describes one behaviour and runs it on every
 * backend with `describeEachBackend`.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';
import {MathBackendWebGL, setWebGLContext} from '@tensorflow/tfjs-backend-webgl';

import {InstanceNorm, InstanceNormGrad, registerKernelsFor} from '../src/index';

export {tf};
export type Format = 'channelsLast' | 'channelsFirst';

/**
 * A backend with every cpu kernel except this package's: the fallback path
 * that tensorflow/node users get.
 */
export const FALLBACK = 'cpu-without-instance-norm';

let registered = false;
function registerFallbackBackend(): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(FALLBACK, () => new MathBackendCPU(), 0);
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (kernel.kernelName !== InstanceNorm && kernel.kernelName !== InstanceNormGrad) {
      tf.registerKernel({...kernel, backendName: FALLBACK});
    }
  }
}

// The .wasm binaries, served by Karma (karma.conf.js); without cross-origin
// isolation the backend picks the plain or the SIMD one.
setWasmPaths('/base/node_modules/@tensorflow/tfjs-backend-wasm/dist/');

/** The backends with fused kernels; every spec runs on each. */
export const KERNEL_BACKENDS = ['cpu', 'webgl', 'webgl-unpacked', 'webgpu', 'wasm'];

/**
 * Suites that run a backend under other env flags: 'webgl-unpacked' is the
 * webgl backend with WEBGL_PACK=false (the kernels' unpacked programs).
 */
const FLAG_VARIANTS: Record<string, {backend: string; flags: Record<string, boolean>}> = {
  'webgl-unpacked': {backend: 'webgl', flags: {WEBGL_PACK: false}},
};

/**
 * Backends the suite runs on; __karma__ args can narrow them
 * (BACKENDS=cpu,webgl; a variant runs with its backend).
 */
export function activeBackends(withFallback = true): string[] {
  const all = [...KERNEL_BACKENDS, ...(withFallback ? [FALLBACK] : [])];
  const wanted = (
    globalThis as {__karma__?: {config?: {args?: string[]}}}
  ).__karma__?.config?.args?.find(a => a.startsWith('backends='));
  if (!wanted) return all;
  const names = wanted.slice('backends='.length).split(',');
  return all.filter(
    b =>
      names.includes(b) ||
      names.includes(FLAG_VARIANTS[b]?.backend) ||
      (b === FALLBACK && names.includes('fallback')),
  );
}

/**
 * Runs `body` once per backend, in a suite tagged `[backend]`. A backend that
 * is expected (all three are in Chromium with the flags of karma.conf.js)
 * but fails to initialize fails the suite: it is never silently skipped.
 */
export function describeEachBackend(
  name: string,
  body: (backend: string) => void,
  options: {fallback?: boolean} = {},
): void {
  registerFallbackBackend();
  for (const backend of activeBackends(options.fallback ?? true)) {
    const variant = FLAG_VARIANTS[backend];
    const engineBackend = variant?.backend ?? backend;
    describe(`${name} [${backend}]`, () => {
      let savedFlags: ReturnType<ReturnType<typeof tf.env>['getFlags']> | null = null;
      beforeAll(async () => {
        if (variant) {
          // Flags derived from others (WEBGL_PACK_* from WEBGL_PACK) are
          // cached once read: reset them all, restore them after.
          savedFlags = {...tf.env().getFlags()};
          tf.env().reset();
          for (const [flag, value] of Object.entries(variant.flags)) tf.env().set(flag, value);
        }
        const ok = await tf.setBackend(engineBackend);
        if (!ok || tf.getBackend() !== engineBackend) {
          throw new Error(
            `backend '${backend}' is expected in this browser but did not initialize`,
          );
        }
        tf.env().set('IS_TEST', true);
      });
      afterAll(() => {
        if (savedFlags) tf.env().setFlags(savedFlags);
        tf.env().set('IS_TEST', false);
      });
      body(backend);
    });
  }
}

/**
 * Marks the running spec pending when the active backend lacks a built-in
 * tfjs kernel it needs (tfjs-backend-wasm has no Conv2DBackpropFilter, so no
 * conv training, and no Complex): a gap of tfjs, not of this package.
 */
export function skipWithoutKernels(...kernelNames: string[]): void {
  const backend = tf.getBackend();
  const missing = kernelNames.filter(name => tf.getKernel(name, backend) == null);
  if (missing.length > 0) pending(`tfjs' '${backend}' backend has no ${missing.join(', ')}`);
}

/** Mulberry32: a small seeded generator, so every run sees the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomValues(size: number, seed: number, scale = 1, offset = 0): Float32Array {
  const next = seededRandom(seed);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = offset + scale * (2 * next() - 1);
  return values;
}

/**
 * Asserts |actual - expected| <= atol + rtol * |expected| elementwise, and
 * reports the worst element. Non-finite values fail unless both sides agree.
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol = 0,
  what = 'values',
): void {
  expect(actual.length).withContext(`${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
      worst = i;
      break;
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  const detail =
    worst < 0
      ? ''
      : `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${atol}, rtol ${rtol})`;
  expect(worst).withContext(detail).toBe(-1);
}

/** Float tolerances per backend: GPU float32 math is less exact than the cpu's. */
export function tolerance(backend: string): {atol: number; rtol: number} {
  return backend.startsWith('webgl') || backend.startsWith('webgpu')
    ? {atol: 1e-3, rtol: 1e-3}
    : {atol: 1e-4, rtol: 1e-4};
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

// ---------------------------------------------------------------------------
// The float16 WebGL mode (WEBGL_FORCE_F16_TEXTURES), added for the reliability
// suite. A second WebGL backend, 'webgl-f16', holds every kernel registered
// for 'webgl' (this package's included) and runs with float16 textures while
// its suites run. It is active when webgl is one of KERNEL_BACKENDS; specs opt
// in with describeEachBackendAndF16. BACKENDS=webgl-f16 selects it alone.
// ---------------------------------------------------------------------------

export const WEBGL_F16 = 'webgl-f16';

/** float16 storage: 11 significant bits, largest finite value 65504. */
export const F16_MAX = 65504;

let f16Registered = false;
/**
 * Registers 'webgl-f16' once (a spec that registered it itself is reused, not
 * duplicated), with every kernel registered for 'webgl' at that moment.
 */
export function registerWebglF16Backend(): void {
  if (f16Registered || tf.findBackendFactory(WEBGL_F16) != null) return;
  f16Registered = true;
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
  // A spec that imports the package before '@tensorflow/tfjs-backend-webgl'
  // leaves this package's webgl kernels held (src/register.ts) until the
  // first op: release them now, or 'webgl-f16' silently gets the fallback.
  registerKernelsFor('webgl');
  for (const kernel of tf.getKernelsForBackend('webgl')) {
    tf.registerKernel({...kernel, backendName: WEBGL_F16});
  }
}

/**
 * The flags that make textures float16. The derived ones are cached once
 * evaluated, so they are set explicitly and restored after.
 */
const F16_FLAGS = {
  WEBGL_FORCE_F16_TEXTURES: true,
  WEBGL_RENDER_FLOAT32_ENABLED: false,
  WEBGL_SIZE_UPLOAD_UNIFORM: 0,
};
let savedFlags: Record<string, number | boolean> = {};
function enterF16Mode(): void {
  savedFlags = {};
  for (const [flag, value] of Object.entries(F16_FLAGS)) {
    savedFlags[flag] = tf.env().get(flag) as number | boolean;
    tf.env().set(flag, value);
  }
}
function leaveF16Mode(): void {
  for (const [flag, value] of Object.entries(savedFlags)) tf.env().set(flag, value);
}

function f16Active(): boolean {
  if (!KERNEL_BACKENDS.includes('webgl')) return false;
  const wanted = (
    globalThis as {__karma__?: {config?: {args?: string[]}}}
  ).__karma__?.config?.args?.find(a => a.startsWith('backends='));
  return !wanted || wanted.slice('backends='.length).split(',').includes(WEBGL_F16);
}

/**
 * describeEachBackend, plus a run on 'webgl-f16' when webgl has kernels. The
 * body sees the backend name: on 'webgl-f16' it rounds its inputs to float16
 * for the reference (toFloat16) and uses f16 tolerances.
 */
export function describeEachBackendAndF16(
  name: string,
  body: (backend: string) => void,
  options: {fallback?: boolean} = {},
): void {
  describeEachBackend(name, body, options);
  if (!f16Active()) return;
  registerWebglF16Backend();
  describe(`${name} [${WEBGL_F16}]`, () => {
    beforeAll(async () => {
      enterF16Mode();
      const ok = await tf.setBackend(WEBGL_F16);
      if (!ok || tf.getBackend() !== WEBGL_F16) {
        throw new Error(`backend '${WEBGL_F16}' did not initialize`);
      }
      tf.env().set('IS_TEST', true);
    });
    afterAll(() => {
      tf.env().set('IS_TEST', false);
      leaveF16Mode();
    });
    body(WEBGL_F16);
  });
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
