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
import {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {InstanceNorm, InstanceNormGrad} from '../src/index';

export {tf};
export type Format = 'channelsLast' | 'channelsFirst';

/**
 * A backend with every cpu kernel except this package's: the fallback path
 * that wasm or tensorflow/node users get.
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

/** The backends with fused kernels; every spec runs on each. */
export const KERNEL_BACKENDS = ['cpu', 'webgl', 'webgl-unpacked', 'webgpu'];

/**
 * Suites that run a backend under other env flags: 'webgl-unpacked' is the
 * webgl backend with WEBGL_PACK=false (the kernels' unpacked programs).
 */
const FLAG_VARIANTS: Record<string, {backend: string, flags: Record<string, boolean>}> = {
  'webgl-unpacked': {backend: 'webgl', flags: {WEBGL_PACK: false}},
};

/**
 * Backends the suite runs on; __karma__ args can narrow them
 * (BACKENDS=cpu,webgl; a variant runs with its backend).
 */
export function activeBackends(withFallback = true): string[] {
  const all = [...KERNEL_BACKENDS, ...(withFallback ? [FALLBACK] : [])];
  const wanted = (globalThis as {__karma__?: {config?: {args?: string[]}}})
                     .__karma__?.config?.args?.find(a => a.startsWith('backends='));
  if (!wanted) return all;
  const names = wanted.slice('backends='.length).split(',');
  return all.filter(b => names.includes(b) || names.includes(FLAG_VARIANTS[b]?.backend) ||
                        (b === FALLBACK && names.includes('fallback')));
}

/**
 * Runs `body` once per backend, in a suite tagged `[backend]`. A backend that
 * is expected (all three are in Chromium with the flags of karma.conf.js)
 * but fails to initialize fails the suite: it is never silently skipped.
 */
export function describeEachBackend(
    name: string, body: (backend: string) => void,
    options: {fallback?: boolean} = {}): void {
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
          throw new Error(`backend '${backend}' is expected in this browser but did not initialize`);
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
    actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0,
    what = 'values'): void {
  expect(actual.length).withContext(`${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
      worst = i;
      worstExcess = Infinity;
      break;
    }
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess) {
      worst = i;
      worstExcess = excess;
    }
  }
  const detail = worst < 0 ? '' :
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(atol ${atol}, rtol ${rtol})`;
  expect(worst).withContext(detail).toBe(-1);
}

/** Float tolerances per backend: GPU float32 math is less exact than the cpu's. */
export function tolerance(backend: string): {atol: number, rtol: number} {
  return backend.startsWith('webgl') || backend.startsWith('webgpu') ? {atol: 1e-3, rtol: 1e-3} :
                                                        {atol: 1e-4, rtol: 1e-4};
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
