/**
 * An independent float64 reference for instance norm and its gradient:
 * plain loops over Float64Array with explicit per-axis strides, sharing no
 * code with the kernels.
 */
export type Format = 'channelsLast' | 'channelsFirst';

export interface ReferenceForward {
  y: Float64Array;
  mean: Float64Array; // [N, C]
  invStd: Float64Array; // [N, C]
}

export interface ReferenceGradient {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

interface Geometry {
  n: number;
  c: number;
  pixels: number;
  /** Flat offset of (instance, channel, pixel). */
  offset: (i: number, ch: number, p: number) => number;
}

function geometry(shape: number[], format: Format): Geometry {
  const n = shape[0];
  if (format === 'channelsLast') {
    const c = shape[shape.length - 1];
    let pixels = 1;
    for (let a = 1; a < shape.length - 1; a++) pixels *= shape[a];
    return {n, c, pixels, offset: (i, ch, p) => i * pixels * c + p * c + ch};
  }
  const c = shape[1];
  let pixels = 1;
  for (let a = 2; a < shape.length; a++) pixels *= shape[a];
  return {n, c, pixels, offset: (i, ch, p) => i * c * pixels + ch * pixels + p};
}

export function referenceForward(
  x: ArrayLike<number>,
  shape: number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  epsilon: number,
  format: Format,
): ReferenceForward {
  const g = geometry(shape, format);
  const y = new Float64Array(x.length);
  const mean = new Float64Array(g.n * g.c);
  const invStd = new Float64Array(g.n * g.c);
  for (let i = 0; i < g.n; i++) {
    for (let ch = 0; ch < g.c; ch++) {
      let total = 0;
      for (let p = 0; p < g.pixels; p++) total += x[g.offset(i, ch, p)];
      const mu = total / g.pixels;
      let squares = 0;
      for (let p = 0; p < g.pixels; p++) {
        const d = x[g.offset(i, ch, p)] - mu;
        squares += d * d;
      }
      const sigmaInv = 1 / Math.sqrt(squares / g.pixels + epsilon);
      mean[i * g.c + ch] = mu;
      invStd[i * g.c + ch] = sigmaInv;
      const scale = gamma ? gamma[ch] : 1;
      const shift = beta ? beta[ch] : 0;
      for (let p = 0; p < g.pixels; p++) {
        const at = g.offset(i, ch, p);
        y[at] = (x[at] - mu) * sigmaInv * scale + shift;
      }
    }
  }
  return {y, mean, invStd};
}

/** Gradients of sum(dy * instanceNorm(x, gamma, beta)). */
export function referenceGradient(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: number[],
  gamma: ArrayLike<number> | null,
  epsilon: number,
  format: Format,
): ReferenceGradient {
  const g = geometry(shape, format);
  const {mean, invStd} = referenceForward(x, shape, null, null, epsilon, format);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(g.c);
  const dbeta = new Float64Array(g.c);
  for (let i = 0; i < g.n; i++) {
    for (let ch = 0; ch < g.c; ch++) {
      const mu = mean[i * g.c + ch];
      const r = invStd[i * g.c + ch];
      let sumG = 0;
      let sumGXhat = 0;
      for (let p = 0; p < g.pixels; p++) {
        const at = g.offset(i, ch, p);
        sumG += dy[at];
        sumGXhat += dy[at] * (x[at] - mu) * r;
      }
      dbeta[ch] += sumG;
      dgamma[ch] += sumGXhat;
      const scale = gamma ? gamma[ch] : 1;
      // d/dx of the normalized value, written as S*dy - sum(dy) - xhat*sum(dy*xhat).
      for (let p = 0; p < g.pixels; p++) {
        const at = g.offset(i, ch, p);
        const xhat = (x[at] - mu) * r;
        dx[at] = ((scale * r) / g.pixels) * (g.pixels * dy[at] - sumG - xhat * sumGXhat);
      }
    }
  }
  return {dx, dgamma, dbeta};
}
