/**
 * Shared by the reliability specs: error figures, the per-backend tolerance
 * (float16 included), GPU resource counts, and the report of the worst error
 * per case and backend that the specs print at the end of each file
 * (`RELIABILITY {...}` lines in Karma's output).
 */
import {instanceNorm} from '../src/index';
import {referenceForward, referenceGradient} from './reference';
import {expectClose, tf, tolerance, toFloat16, WEBGL_F16} from './setup';

export interface ErrorFigure {
  /** Largest |actual - expected|. */
  maxAbs: number;
  /** maxAbs divided by max(floor, max |expected|): the figure the tolerance bounds. */
  scaled: number;
}

/**
 * Worst error of actual against expected; Infinity when finiteness differs.
 * `floor` is the least scale: 1 for O(1) results, 0 for a purely relative
 * figure (results of magnitude 1e-18).
 */
export function errorFigure(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  floor = 1,
): ErrorFigure {
  let maxAbs = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (!(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)))) maxAbs = Infinity;
      continue;
    }
    maxAbs = Math.max(maxAbs, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return {maxAbs, scaled: scale > 0 ? maxAbs / scale : maxAbs};
}

/** float16 textures: 11 significant bits (2^-11 = 4.9e-4) for every stored value. */
export const F16_TOLERANCE = {atol: 1e-2, rtol: 1e-2};

export function reliabilityTolerance(backend: string): {atol: number; rtol: number} {
  return backend === WEBGL_F16 ? F16_TOLERANCE : tolerance(backend);
}

/** The values a backend holds after upload: float16-rounded on 'webgl-f16'. */
export function asStored(backend: string, values: Float32Array): Float32Array {
  return backend === WEBGL_F16 ? toFloat16(values) : values;
}

interface Row {
  suite: string;
  backend: string;
  name: string;
  what: string;
  maxAbs: number;
  scaled: number;
}
const rows: Row[] = [];

/** Records a figure for the summary, without checking it. */
export function record(
  suite: string,
  backend: string,
  name: string,
  what: string,
  figure: ErrorFigure,
): void {
  rows.push({suite, backend, name, what, ...figure});
}

/**
 * Checks actual against expected with the backend's tolerance, the absolute
 * part scaled by max(floor, max |expected|) (float32 error grows with the
 * magnitude of the result), and records the worst error.
 */
export function expectNear(
  suite: string,
  backend: string,
  name: string,
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol = reliabilityTolerance(backend),
  floor = 1,
): ErrorFigure {
  const figure = errorFigure(actual, expected, floor);
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  }
  expectClose(actual, expected, tol.atol * scale, tol.rtol, `${name}: ${what}`);
  record(suite, backend, name, what, figure);
  return figure;
}

/**
 * Prints one `RELIABILITY` line per case of a suite and backend: the worst
 * error of each output, scaled (|actual - expected| / max(floor, max
 * |expected|)), then the largest absolute error.
 */
export function printReport(suite: string, backend: string): void {
  const cases = new Map<string, Row[]>();
  for (const row of rows.filter(r => r.suite === suite && r.backend === backend)) {
    const key = `[${row.backend}] ${row.name}`;
    cases.set(key, [...(cases.get(key) ?? []), row]);
  }
  for (const [key, caseRows] of cases) {
    const figures = caseRows.map(r => `${r.what} ${r.scaled.toPrecision(2)}`).join(', ');
    const worstAbs = Math.max(...caseRows.map(r => r.maxAbs));
    console.log(
      `RELIABILITY ${suite} ${key}: ${figures} (largest |error| ${worstAbs.toPrecision(2)})`,
    );
  }
}

/** Records a plain figure (counts, steps, seconds) for the summary. */
export function printFigure(
  suite: string,
  backend: string,
  figures: Record<string, unknown>,
): void {
  console.log(`RELIABILITY ${suite} [${backend}] ${JSON.stringify(figures)}`);
}

/**
 * Textures (webgl) or buffers (webgpu) the backend holds, in use and pooled;
 * null on the cpu backends.
 */
export function gpuResources(): {used: number; free: number} | null {
  const backend = tf.engine().backend as unknown as {
    getTextureManager?: () => {numUsedTextures: number; numFreeTextures: number};
    bufferManager?: {numUsedBuffers: number; numFreeBuffers: number};
  };
  if (backend.getTextureManager) {
    const m = backend.getTextureManager();
    return {used: m.numUsedTextures, free: m.numFreeTextures};
  }
  if (backend.bufferManager) {
    return {used: backend.bufferManager.numUsedBuffers, free: backend.bufferManager.numFreeBuffers};
  }
  return null;
}

export interface CheckInput {
  shape: number[];
  x: Float32Array;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  dy: Float32Array;
  epsilon: number;
  format?: 'channelsLast' | 'channelsFirst';
}

export interface Computed {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array | null;
  dbeta: Float32Array | null;
}

/**
 * Runs the op forward and backward (loss sum(dy * y)) on the active backend
 * and reads everything back; no tensor is left behind.
 */
export async function computeOnBackend(input: CheckInput): Promise<Computed> {
  const {shape, epsilon} = input;
  const format = input.format ?? 'channelsLast';
  const x = tf.tensor(input.x, shape);
  const gamma = input.gamma ? tf.tensor1d(input.gamma) : null;
  const beta = input.beta ? tf.tensor1d(input.beta) : null;
  const dy = tf.tensor(input.dy, shape);
  const args = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const f = (...a: tf.Tensor[]) => {
    const g = gamma ? a[1] : null;
    const b = beta ? a[gamma ? 2 : 1] : null;
    return instanceNorm(a[0], g, b, epsilon, format);
  };
  const previous = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', false); // see withoutKernelLeakCheck in setup.ts
  try {
    const y = f(...args);
    const grads = tf.grads(f)(args, dy);
    const [yv, ...gv] = await Promise.all(
      [y, ...grads].map(t => t.data() as Promise<Float32Array>),
    );
    tf.dispose([y, ...grads, ...args, dy]);
    return {
      y: yv,
      dx: gv[0],
      dgamma: gamma ? gv[1] : null,
      dbeta: beta ? gv[gamma ? 2 : 1] : null,
    };
  } finally {
    tf.env().set('IS_TEST', previous);
  }
}

/**
 * The float64 reference of the forward and gradient, on the values as the
 * backend stores them (float16-rounded on 'webgl-f16').
 */
export function referenceFor(backend: string, input: CheckInput) {
  const format = input.format ?? 'channelsLast';
  const x = asStored(backend, input.x);
  const gamma = input.gamma ? asStored(backend, input.gamma) : null;
  const beta = input.beta ? asStored(backend, input.beta) : null;
  const dy = asStored(backend, input.dy);
  const forward = referenceForward(x, input.shape, gamma, beta, input.epsilon, format);
  const gradient = referenceGradient(dy, x, input.shape, gamma, input.epsilon, format);
  return {...forward, ...gradient};
}
