/**
 * Independent float64 references for batch norm in training mode and layer
 * norm, with their gradients: plain loops over Float64Array. Both are a
 * normalization over sets of elements (batch norm: one set per channel, over
 * the batch and the spatial axes; layer norm: one set per slice over the
 * normalized axes), each element scaled and shifted by its own parameter
 * index. The sets are enumerated from the shape and strides of x directly
 * (no transposes, no reshapes), and the gradient is the chain rule through the
 * mean and the variance (or standard deviation), not the kernels' closed form.
 */
import {
  activate,
  activationDerivative,
  ReferenceActivation,
  ReferenceEpsilonMode,
} from './reference';

export interface FamilySettings {
  epsilon: number;
  /** Absent: 'variance'. */
  epsilonMode?: ReferenceEpsilonMode;
  /** Absent: 'linear'. */
  activation?: ReferenceActivation;
  /** leakyRelu's slope; absent: 0.2. */
  alpha?: number;
}

/** The element sets of a normalization and each element's gamma/beta index. */
interface Sets {
  /** Flat indices of x, one array per set. */
  members: number[][];
  /** The gamma/beta index of each flat index of x. */
  parameterIndex: Int32Array;
  /** Number of gamma/beta elements. */
  parameters: number;
}

function strides(shape: readonly number[]): number[] {
  const result = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) result[a] = result[a + 1] * shape[a + 1];
  return result;
}

function coordinates(index: number, shape: readonly number[], stride: number[]): number[] {
  return shape.map((size, a) => Math.floor(index / stride[a]) % size);
}

/** Batch norm: set c holds every element whose channel coordinate is c. */
function batchSets(shape: readonly number[], channelAxis: number): Sets {
  const stride = strides(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = shape[channelAxis];
  const members: number[][] = Array.from({length: channels}, () => []);
  const parameterIndex = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const c = coordinates(i, shape, stride)[channelAxis];
    members[c].push(i);
    parameterIndex[i] = c;
  }
  return {members, parameterIndex, parameters: channels};
}

/**
 * Layer norm: one set per combination of the other axes' coordinates; the
 * parameter index is the row-major position over the normalized axes in
 * ascending order.
 */
function layerSets(shape: readonly number[], axes: readonly number[]): Sets {
  const stride = strides(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const normalized = axes.map(a => (a < 0 ? a + shape.length : a)).sort((a, b) => a - b);
  const others = shape.map((_, a) => a).filter(a => !normalized.includes(a));
  const parameters = normalized.reduce((p, a) => p * shape[a], 1);
  const byKey = new Map<number, number[]>();
  const parameterIndex = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const coords = coordinates(i, shape, stride);
    const key = others.reduce((k, a) => k * shape[a] + coords[a], 0);
    parameterIndex[i] = normalized.reduce((k, a) => k * shape[a] + coords[a], 0);
    const set = byKey.get(key) ?? [];
    set.push(i);
    byKey.set(key, set);
  }
  return {members: [...byKey.values()], parameterIndex, parameters};
}

interface Statistics {
  mean: number;
  variance: number;
  /** The factor xhat = (x - mean) * invStd applies. */
  invStd: number;
}

function statistics(x: ArrayLike<number>, set: number[], s: FamilySettings): Statistics {
  let sum = 0;
  for (const i of set) sum += x[i];
  const mean = sum / set.length;
  let squares = 0;
  for (const i of set) squares += (x[i] - mean) ** 2;
  const variance = squares / set.length;
  const invStd =
    s.epsilonMode === 'stddev'
      ? 1 / (Math.sqrt(variance) + s.epsilon)
      : 1 / Math.sqrt(variance + s.epsilon);
  return {mean, variance, invStd};
}

interface SetsForward {
  y: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
}

function forward(
  x: ArrayLike<number>,
  sets: Sets,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): SetsForward {
  const y = new Float64Array(x.length);
  const mean = new Float64Array(sets.members.length);
  const variance = new Float64Array(sets.members.length);
  sets.members.forEach((set, k) => {
    const stats = statistics(x, set, s);
    mean[k] = stats.mean;
    variance[k] = stats.variance;
    for (const i of set) {
      const p = sets.parameterIndex[i];
      const z = (x[i] - stats.mean) * stats.invStd * (gamma ? gamma[p] : 1) + (beta ? beta[p] : 0);
      y[i] = activate(s.activation ?? 'linear', z, s.alpha);
    }
  });
  return {y, mean, variance};
}

export interface FamilyGradient {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

function gradient(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  sets: Sets,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): FamilyGradient {
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(sets.parameters);
  const dbeta = new Float64Array(sets.parameters);
  for (const set of sets.members) {
    const {mean, variance, invStd} = statistics(x, set, s);
    const m = set.length;
    // dL/dxhat per element, and dL/dz summed into dgamma / dbeta.
    const dxhat = new Map<number, number>();
    let dInvStd = 0;
    let dMeanDirect = 0;
    for (const i of set) {
      const p = sets.parameterIndex[i];
      const g = gamma ? gamma[p] : 1;
      const xhat = (x[i] - mean) * invStd;
      const z = xhat * g + (beta ? beta[p] : 0);
      const dz = dy[i] * activationDerivative(s.activation ?? 'linear', z, s.alpha);
      dgamma[p] += dz * xhat;
      dbeta[p] += dz;
      dxhat.set(i, dz * g);
      dInvStd += dz * g * (x[i] - mean);
      dMeanDirect -= dz * g * invStd;
    }
    // invStd as a function of the variance.
    let dVariance: number;
    if (s.epsilonMode === 'stddev') {
      const sigma = Math.sqrt(variance);
      dVariance = sigma > 0 ? (dInvStd * -(invStd * invStd)) / (2 * sigma) : 0;
    } else {
      dVariance = dInvStd * -0.5 * invStd ** 3;
    }
    // variance = sum (x - mean)^2 / m: its mean term sums to zero.
    for (const i of set) {
      dx[i] =
        (dxhat.get(i) as number) * invStd + (dVariance * 2 * (x[i] - mean)) / m + dMeanDirect / m;
    }
  }
  return {dx, dgamma, dbeta};
}

/** Batch norm in training mode over every axis but `channelAxis`: y, and mean and biased variance per channel. */
export function referenceBatchNorm(
  x: ArrayLike<number>,
  shape: readonly number[],
  channelAxis: number,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): SetsForward {
  return forward(x, batchSets(shape, channelAxis), gamma, beta, s);
}

export function referenceBatchNormGradient(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  channelAxis: number,
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): FamilyGradient {
  return gradient(dy, x, batchSets(shape, channelAxis), gamma, beta, s);
}

/** Layer norm over `axes`: y (mean and variance per slice too). */
export function referenceLayerNorm(
  x: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): SetsForward {
  return forward(x, layerSets(shape, axes), gamma, beta, s);
}

export function referenceLayerNormGradient(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  shape: readonly number[],
  axes: readonly number[],
  gamma: ArrayLike<number> | null,
  beta: ArrayLike<number> | null,
  s: FamilySettings,
): FamilyGradient {
  return gradient(dy, x, layerSets(shape, axes), gamma, beta, s);
}
