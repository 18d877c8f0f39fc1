/**
 * Shared by the reliability specs: the values a backend stores, GPU resource
 * counts, the forward + gradient round trip, and the report of the worst
 * error per case and environment that the specs print at the end of each
 * file (`RELIABILITY {...}` lines in Karma's output).
 */
import {instanceNorm} from '../src/index';
import type {DataFormat} from '../support';
import {referenceForward, referenceGradient} from './reference';
import {
  ErrorFigure,
  expectClose,
  TestEnv,
  tf,
  toFloat16,
  Tolerance,
  WEBGL_F16,
  withoutKernelLeakCheck,
} from './setup';

/** The values a backend holds after upload: float16-rounded on 'webgl-f16'. */
export function asStored(backend: string, values: Float32Array): Float32Array {
  return backend === WEBGL_F16 ? toFloat16(values) : values;
}

/**
 * The worst errors of one suite on one environment: `check` asserts a result
 * (expectClose with the environment's tolerance, its absolute part scaled by
 * max(floor, max |expected|)) and records its error; `print` writes one
 * `RELIABILITY` line per case.
 */
export class Report {
  private readonly rows: Array<{name: string; what: string} & ErrorFigure> = [];

  constructor(
    readonly suite: string,
    readonly env: TestEnv,
  ) {}

  check(
    name: string,
    what: string,
    actual: ArrayLike<number>,
    expected: ArrayLike<number>,
    {floor = 1, tol = this.env.tolerance}: {floor?: number; tol?: Tolerance} = {},
  ): ErrorFigure {
    const figure = expectClose(actual, expected, tol.atol, tol.rtol, `${name}: ${what}`, floor);
    this.rows.push({name, what, ...figure});
    return figure;
  }

  /** Per case: the worst scaled error of each output, then the largest absolute one. */
  print(): void {
    const cases = new Map<string, typeof this.rows>();
    for (const row of this.rows) cases.set(row.name, [...(cases.get(row.name) ?? []), row]);
    for (const [name, rows] of cases) {
      const figures = rows.map(r => `${r.what} ${r.scaled.toPrecision(2)}`).join(', ');
      const worstAbs = Math.max(...rows.map(r => r.maxAbs));
      console.log(
        `RELIABILITY ${this.suite} [${this.env.name}] ${name}: ${figures} ` +
          `(largest |error| ${worstAbs.toPrecision(2)})`,
      );
    }
  }

  /** Prints plain figures (counts, steps, seconds). */
  figures(figures: Record<string, unknown>): void {
    console.log(`RELIABILITY ${this.suite} [${this.env.name}] ${JSON.stringify(figures)}`);
  }
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
  format?: DataFormat;
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
  return withoutKernelLeakCheck(async () => {
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
  });
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
