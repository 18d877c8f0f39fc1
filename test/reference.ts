/**
 * An independent float64 reference for group norm (instance norm is the case
 * groups = C) with every attribute of the kernels (epsilon on the variance or
 * on the standard deviation, a fused activation, gamma and beta per channel
 * or per instance) and its gradient: plain loops over Float64Array with
 * explicit per-axis strides, sharing no code with the kernels. The gradient is
 * the chain rule written out through the mean and the variance (or standard
 * deviation), not the kernels' closed form.
 */
export type Format = 'channelsLast' | 'channelsFirst';
export type ReferenceEpsilonMode = 'variance' | 'stddev';
export type ReferenceActivation =
  | 'linear'
  | 'relu'
  | 'relu6'
  | 'leakyRelu'
  | 'elu'
  | 'selu'
  | 'sigmoid'
  | 'tanh'
  | 'swish'
  | 'mish'
  | 'gelu'
  | 'gelu_new';

/** Every activation the reference knows. */
export const REFERENCE_ACTIVATIONS: readonly ReferenceActivation[] = [
  'linear',
  'relu',
  'relu6',
  'leakyRelu',
  'elu',
  'selu',
  'sigmoid',
  'tanh',
  'swish',
  'mish',
  'gelu',
  'gelu_new',
];

type Values = ArrayLike<number>;
/** epsilon, data format, and the number of groups (absent: C, instance norm). */
type Settings = [epsilon: number, format: Format, groups?: number];

/** Everything the reference computes with, besides the data. */
export interface NormSettings {
  epsilon: number;
  format: Format;
  /** Absent: C (instance norm). */
  groups?: number;
  /** Absent: 'variance'. */
  epsilonMode?: ReferenceEpsilonMode;
  /** Absent: 'linear'. */
  activation?: ReferenceActivation;
  /** leakyRelu's slope; absent: 0.2. */
  alpha?: number;
}

export interface ReferenceForward {
  y: Float64Array;
  mean: Float64Array; // [N, groups]
  invStd: Float64Array; // [N, groups]
}

export interface ReferenceGradient {
  dx: Float64Array;
  /** Of gamma's length (C or N * C); C when gamma is absent. */
  dgamma: Float64Array;
  /** Of beta's length (C or N * C); C when beta is absent. */
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

/** The (instance, channel) pairs and flat offsets of group `group` of instance `i`. */
function groupMembers(
  g: Geometry,
  groups: number,
  i: number,
  group: number,
): {at: number; ch: number}[] {
  const perGroup = g.c / groups;
  const members: {at: number; ch: number}[] = [];
  for (let ch = group * perGroup; ch < (group + 1) * perGroup; ch++) {
    for (let p = 0; p < g.pixels; p++) members.push({at: g.offset(i, ch, p), ch});
  }
  return members;
}

/**
 * A parameter (gamma or beta) read at (instance i, channel ch): of length C
 * (per channel) or N * C (per instance, element (i, ch) at i * C + ch).
 */
function parameterIndex(
  g: Geometry,
  values: Values,
  name: string,
): (i: number, ch: number) => number {
  if (values.length === g.c) return (_i, ch) => ch;
  if (values.length === g.n * g.c) return (i, ch) => i * g.c + ch;
  throw new Error(`reference: ${name} has ${values.length} values, expected C or N * C`);
}

// ---------------------------------------------------------------------------
// erf, activations and their derivatives in float64.

/**
 * erf in float64, from the series erf(x) = 2/sqrt(pi) * exp(-x^2) *
 * sum_n (2x^2)^n * x / (1 * 3 * ... * (2n + 1)): every term positive, so no
 * cancellation (relative error a few ulp). Beyond |x| = 6, erf is +-1 to
 * within 2e-17.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  const twoSquare = 2 * a * a;
  let term = a;
  let sum = a;
  for (let n = 1; n < 500; n++) {
    term *= twoSquare / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum);
}

const SELU_SCALE = 1.0507009873554805;
const SELU_ALPHA = 1.6732632423543772;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

/** act(z) for the activation, leakyRelu with slope alpha. */
export function activate(activation: ReferenceActivation, z: number, alpha = 0.2): number {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return z > 0 ? z : 0;
    case 'relu6':
      return Math.min(Math.max(z, 0), 6);
    case 'leakyRelu':
      return z > 0 ? z : alpha * z;
    case 'elu':
      return z > 0 ? z : Math.expm1(z);
    case 'selu':
      return SELU_SCALE * (z > 0 ? z : SELU_ALPHA * Math.expm1(z));
    case 'sigmoid':
      return sigmoid(z);
    case 'tanh':
      return Math.tanh(z);
    case 'swish':
      return z * sigmoid(z);
    case 'mish':
      return z * Math.tanh(softplus(z));
    case 'gelu':
      return 0.5 * z * (1 + erf(z / Math.SQRT2));
    case 'gelu_new':
      return 0.5 * z * (1 + Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z)));
  }
}

/**
 * act'(z). Where a derivative jumps, the side tfjs' gradients pick: relu' is 1
 * for z > 0, relu6' 1 for 0 < z <= 6, leakyRelu' 1 for z > 0 else alpha.
 */
export function activationDerivative(
  activation: ReferenceActivation,
  z: number,
  alpha = 0.2,
): number {
  switch (activation) {
    case 'linear':
      return 1;
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'relu6':
      return z > 0 && z <= 6 ? 1 : 0;
    case 'leakyRelu':
      return z > 0 ? 1 : alpha;
    case 'elu':
      return z > 0 ? 1 : Math.exp(z);
    case 'selu':
      return SELU_SCALE * (z > 0 ? 1 : SELU_ALPHA * Math.exp(z));
    case 'sigmoid': {
      const s = sigmoid(z);
      return s * (1 - s);
    }
    case 'tanh': {
      const t = Math.tanh(z);
      return 1 - t * t;
    }
    case 'swish': {
      const s = sigmoid(z);
      return s + z * s * (1 - s);
    }
    case 'mish': {
      const t = Math.tanh(softplus(z));
      return t + z * (1 - t * t) * sigmoid(z);
    }
    case 'gelu':
      return (
        0.5 * (1 + erf(z / Math.SQRT2)) + (z * Math.exp(-0.5 * z * z)) / Math.sqrt(2 * Math.PI)
      );
    case 'gelu_new': {
      const t = Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z));
      return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * z * z);
    }
  }
}

// ---------------------------------------------------------------------------
// Forward and gradient.

interface GroupStats {
  mean: number;
  /** sqrt of the biased variance. */
  sigma: number;
  /** The factor applied: 1/sqrt(var + eps) or 1/(sigma + eps). */
  invStd: number;
}

function groupStats(
  x: Values,
  members: {at: number}[],
  epsilon: number,
  mode: ReferenceEpsilonMode,
): GroupStats {
  let total = 0;
  for (const {at} of members) total += x[at];
  const mean = total / members.length;
  let squares = 0;
  for (const {at} of members) squares += (x[at] - mean) * (x[at] - mean);
  const variance = squares / members.length;
  const sigma = Math.sqrt(variance);
  const invStd = mode === 'stddev' ? 1 / (sigma + epsilon) : 1 / Math.sqrt(variance + epsilon);
  return {mean, sigma, invStd};
}

/**
 * y = act((x - mean) * invStd * gamma + beta) with the mean and the biased
 * variance over each (instance, group); invStd = 1 / sqrt(var + epsilon)
 * ('variance') or 1 / (sqrt(var) + epsilon) ('stddev'). gamma and beta are
 * each of length C or N * C; null means 1 and 0.
 */
export function referenceNorm(
  x: Values,
  shape: number[],
  gamma: Values | null,
  beta: Values | null,
  settings: NormSettings,
): ReferenceForward {
  const {epsilon, format, epsilonMode = 'variance', activation = 'linear', alpha = 0.2} = settings;
  const g = geometry(shape, format);
  const count = settings.groups ?? g.c;
  const gammaAt = gamma ? parameterIndex(g, gamma, 'gamma') : null;
  const betaAt = beta ? parameterIndex(g, beta, 'beta') : null;
  const y = new Float64Array(x.length);
  const mean = new Float64Array(g.n * count);
  const invStd = new Float64Array(g.n * count);
  for (let i = 0; i < g.n; i++) {
    for (let group = 0; group < count; group++) {
      const members = groupMembers(g, count, i, group);
      const stats = groupStats(x, members, epsilon, epsilonMode);
      mean[i * count + group] = stats.mean;
      invStd[i * count + group] = stats.invStd;
      for (const {at, ch} of members) {
        const scale = gamma && gammaAt ? gamma[gammaAt(i, ch)] : 1;
        const shift = beta && betaAt ? beta[betaAt(i, ch)] : 0;
        const z = (x[at] - stats.mean) * stats.invStd * scale + shift;
        y[at] = activate(activation, z, alpha);
      }
    }
  }
  return {y, mean, invStd};
}

/**
 * Gradients of sum(dy * y) for y = referenceNorm(x, gamma, beta), with
 * respect to x, gamma and beta, by the chain rule through the statistics:
 * dz = dy * act'(z), dxhat = gamma * dz; then through xhat = (x - mean) * r,
 * with r = (var + eps)^-1/2 ('variance') or (sigma + eps)^-1 ('stddev',
 * where a group with sigma = 0 gets no gradient through sigma).
 */
export function referenceNormGradient(
  dy: Values,
  x: Values,
  shape: number[],
  gamma: Values | null,
  beta: Values | null,
  settings: NormSettings,
): ReferenceGradient {
  const {epsilon, format, epsilonMode = 'variance', activation = 'linear', alpha = 0.2} = settings;
  const g = geometry(shape, format);
  const count = settings.groups ?? g.c;
  const gammaAt = gamma ? parameterIndex(g, gamma, 'gamma') : null;
  const betaAt = beta ? parameterIndex(g, beta, 'beta') : null;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(gamma ? gamma.length : g.c);
  const dbeta = new Float64Array(beta ? beta.length : g.c);
  for (let i = 0; i < g.n; i++) {
    for (let group = 0; group < count; group++) {
      const members = groupMembers(g, count, i, group);
      const m = members.length;
      const {mean, sigma, invStd: r} = groupStats(x, members, epsilon, epsilonMode);
      // dL/dxhat at each member, and the parameter gradients.
      const dxhat = new Float64Array(m);
      members.forEach(({at, ch}, k) => {
        const gi = gammaAt ? gammaAt(i, ch) : ch;
        const bi = betaAt ? betaAt(i, ch) : ch;
        const scale = gamma ? gamma[gi] : 1;
        const shift = beta ? beta[bi] : 0;
        const xhat = (x[at] - mean) * r;
        const dz = dy[at] * activationDerivative(activation, xhat * scale + shift, alpha);
        dgamma[gi] += dz * xhat;
        dbeta[bi] += dz;
        dxhat[k] = scale * dz;
      });
      // xhat_k = (x_k - mean) * r(var): dL/dr, then dL/dvar.
      let dr = 0;
      let dmeanDirect = 0;
      members.forEach(({at}, k) => {
        dr += dxhat[k] * (x[at] - mean);
        dmeanDirect -= dxhat[k] * r;
      });
      let dvar: number;
      if (epsilonMode === 'stddev') {
        // r = 1 / (sigma + eps): dr/dsigma = -r^2; dsigma/dvar = 1 / (2 sigma).
        const dsigma = -dr * r * r;
        dvar = sigma > 0 ? dsigma / (2 * sigma) : 0;
      } else {
        // r = (var + eps)^-1/2: dr/dvar = -r^3 / 2.
        dvar = (-dr * r * r * r) / 2;
      }
      // var = sum (x_k - mean)^2 / M: dvar/dx_j = 2 (x_j - mean) / M (the
      // mean's own term, -2/M sum (x_k - mean), is zero); dmean/dx_j = 1/M.
      members.forEach(({at}, k) => {
        dx[at] = dxhat[k] * r + (dvar * 2 * (x[at] - mean)) / m + dmeanDirect / m;
      });
    }
  }
  return {dx, dgamma, dbeta};
}

/** referenceNorm without activation, per-channel gamma and beta: the plain norm. */
export function referenceForward(
  x: Values,
  shape: number[],
  gamma: Values | null,
  beta: Values | null,
  ...[epsilon, format, groups]: Settings
): ReferenceForward {
  return referenceNorm(x, shape, gamma, beta, {epsilon, format, groups});
}

/** Gradients of sum(dy * groupNorm(x, gamma, beta)); `groups` defaults to C. */
export function referenceGradient(
  dy: Values,
  x: Values,
  shape: number[],
  gamma: Values | null,
  ...[epsilon, format, groups]: Settings
): ReferenceGradient {
  return referenceNormGradient(dy, x, shape, gamma, null, {epsilon, format, groups});
}

/**
 * Adaptive instance norm (AdaIN): content instance-normalized ('variance'
 * mode), scaled by the style's per-(n, c) sqrt(var + eps) and shifted by its
 * per-(n, c) mean. Content and style share N and C; their spatial sizes may
 * differ.
 */
export function referenceAdaIN(
  content: Values,
  contentShape: number[],
  style: Values,
  styleShape: number[],
  epsilon: number,
  format: Format,
): Float64Array {
  const {gamma, beta} = styleParameters(style, styleShape, epsilon, format);
  return referenceNorm(content, contentShape, gamma, beta, {epsilon, format}).y;
}

/** The style's per-(n, c) sqrt(var + eps) and mean, as [N, C] gamma and beta. */
function styleParameters(
  style: Values,
  shape: number[],
  epsilon: number,
  format: Format,
): {gamma: Float64Array; beta: Float64Array} {
  const {mean, invStd} = referenceNorm(style, shape, null, null, {epsilon, format});
  return {gamma: invStd.map(r => 1 / r), beta: mean};
}

/**
 * Gradients of sum(dy * adaIN(content, style)) with respect to content and
 * style: through the [N, C] gamma and beta, then through the style's
 * statistics by the chain rule (dmean/dstyle = 1/M; dstd/dstyle =
 * (style - mean) / (M * std)).
 */
export function referenceAdaINGradient(
  dy: Values,
  content: Values,
  contentShape: number[],
  style: Values,
  styleShape: number[],
  epsilon: number,
  format: Format,
): {dcontent: Float64Array; dstyle: Float64Array} {
  const {gamma, beta} = styleParameters(style, styleShape, epsilon, format);
  const inner = referenceNormGradient(dy, content, contentShape, gamma, beta, {epsilon, format});
  const g = geometry(styleShape, format);
  const dstyle = new Float64Array(style.length);
  for (let i = 0; i < g.n; i++) {
    for (let ch = 0; ch < g.c; ch++) {
      const members = groupMembers(g, g.c, i, ch);
      const std = gamma[i * g.c + ch];
      const mean = beta[i * g.c + ch];
      const m = members.length;
      for (const {at} of members) {
        dstyle[at] =
          inner.dbeta[i * g.c + ch] / m +
          (inner.dgamma[i * g.c + ch] * (style[at] - mean)) / (m * std);
      }
    }
  }
  return {dcontent: inner.dx, dstyle};
}
