/**
 * An independent float64 reference for group norm (instance norm is the case
 * groups = C) and its gradient: plain loops over Float64Array with explicit
 * per-axis strides, sharing no code with the kernels.
 */
export type Format = 'channelsLast' | 'channelsFirst';

type Values = ArrayLike<number>;
/** epsilon, data format, and the number of groups (absent: C, instance norm). */
type Settings = [epsilon: number, format: Format, groups?: number];

export interface ReferenceForward {
  y: Float64Array;
  mean: Float64Array; // [N, groups]
  invStd: Float64Array; // [N, groups]
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

/** Flat offsets of every element of group `group` of instance `i`. */
function groupOffsets(g: Geometry, groups: number, i: number, group: number): number[] {
  const perGroup = g.c / groups;
  const offsets: number[] = [];
  for (let ch = group * perGroup; ch < (group + 1) * perGroup; ch++) {
    for (let p = 0; p < g.pixels; p++) offsets.push(g.offset(i, ch, p));
  }
  return offsets;
}

function channelOf(g: Geometry, at: number, format: Format): number {
  return format === 'channelsLast' ? at % g.c : Math.floor(at / g.pixels) % g.c;
}

/**
 * y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with the mean and the
 * biased variance over each (instance, group); `groups` defaults to C
 * (instance norm).
 */
export function referenceForward(
  x: Values,
  shape: number[],
  gamma: Values | null,
  beta: Values | null,
  ...[epsilon, format, groups]: Settings
): ReferenceForward {
  const g = geometry(shape, format);
  const count = groups ?? g.c;
  const y = new Float64Array(x.length);
  const mean = new Float64Array(g.n * count);
  const invStd = new Float64Array(g.n * count);
  for (let i = 0; i < g.n; i++) {
    for (let group = 0; group < count; group++) {
      const offsets = groupOffsets(g, count, i, group);
      let total = 0;
      for (const at of offsets) total += x[at];
      const mu = total / offsets.length;
      let squares = 0;
      for (const at of offsets) squares += (x[at] - mu) * (x[at] - mu);
      const sigmaInv = 1 / Math.sqrt(squares / offsets.length + epsilon);
      mean[i * count + group] = mu;
      invStd[i * count + group] = sigmaInv;
      for (const at of offsets) {
        const ch = channelOf(g, at, format);
        const scale = gamma ? gamma[ch] : 1;
        const shift = beta ? beta[ch] : 0;
        y[at] = (x[at] - mu) * sigmaInv * scale + shift;
      }
    }
  }
  return {y, mean, invStd};
}

/** Gradients of sum(dy * groupNorm(x, gamma, beta)); `groups` defaults to C. */
export function referenceGradient(
  dy: Values,
  x: Values,
  shape: number[],
  gamma: Values | null,
  ...[epsilon, format, groups]: Settings
): ReferenceGradient {
  const g = geometry(shape, format);
  const count = groups ?? g.c;
  const {mean, invStd} = referenceForward(x, shape, null, null, epsilon, format, count);
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(g.c);
  const dbeta = new Float64Array(g.c);
  for (let i = 0; i < g.n; i++) {
    for (let group = 0; group < count; group++) {
      const mu = mean[i * count + group];
      const r = invStd[i * count + group];
      const offsets = groupOffsets(g, count, i, group);
      // With u = gamma * dy, the gradient through the normalization is
      // r / M * (M * u - sum(u) - xhat * sum(u * xhat)) over the M elements.
      let sumU = 0;
      let sumUXhat = 0;
      for (const at of offsets) {
        const ch = channelOf(g, at, format);
        const u = (gamma ? gamma[ch] : 1) * dy[at];
        const xhat = (x[at] - mu) * r;
        sumU += u;
        sumUXhat += u * xhat;
        dbeta[ch] += dy[at];
        dgamma[ch] += dy[at] * xhat;
      }
      const m = offsets.length;
      for (const at of offsets) {
        const ch = channelOf(g, at, format);
        const u = (gamma ? gamma[ch] : 1) * dy[at];
        const xhat = (x[at] - mu) * r;
        dx[at] = (r / m) * (m * u - sumU - xhat * sumUXhat);
      }
    }
  }
  return {dx, dgamma, dbeta};
}
