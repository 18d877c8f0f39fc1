/**
 * The pass model: the decomposition every backend computes, named once.
 * Backends store some of these terms per (instance, channel) between their
 * passes, as rows of a coefficient table; each builds its row layout from
 * this vocabulary with {@link rowLayout}, so a term has one name everywhere.
 *
 * Glossary. Every term is per (instance, channel) unless said; a group's
 * statistics apply to each of its channels.
 *
 *   mean, invStd      statistics of an (instance, group): the forward's
 *                     outputs `[N, groups]`, the gradient's inputs. invStd
 *                     is 1 / sqrt(variance + epsilon) ('variance') or
 *                     1 / (sqrt(variance) + epsilon) ('stddev').
 *   gamma, beta       the parameters at (n, c); 1 and 0 when absent.
 *   pivot             a value x is taken relative to, in a pass's sums
 *                     or its elementwise forward: one near the data, so
 *                     x - pivot stays small at any offset. The GPU backends
 *                     use the group's first element for both; cpu and wasm
 *                     take their forward sums around each channel's first
 *                     element (their gradient sums around the saved mean)
 *                     and normalize with pivot = mean.
 *   scale             invStd * gamma.
 *   shift             beta - (mean - pivot) * scale; beta where pivot = mean.
 *
 *   forward           y = act((x - pivot) * scale + shift)
 *
 *   z, dz             z = (x - mean) * scale + beta, the pre-activation;
 *                     dz = dy * act'(z) (dy for a linear activation).
 *   xhat, u           xhat = (x - mean) * invStd; u = gamma * dz.
 *   meanDz            the mean of dz over the channel's pixels.
 *   meanU             the mean of u over the group.
 *   xhatShift         the mean of xhat over the group: zero but for the
 *                     float32 rounding of the saved mean; subtracting it
 *                     re-centres xhat, which keeps dx accurate at large
 *                     offsets.
 *   varianceFactor    invStd ('variance') or 1 / sigma with sigma =
 *                     1 / invStd - epsilon, 0 where sigma <= 0 ('stddev').
 *   xhatFactor        varianceFactor * (mean of u * xhat over the group -
 *                     xhatShift * meanU).
 *   slope             -invStd * xhatFactor.
 *   intercept         xhatFactor * xhatShift - invStd * meanU.
 *   centredIntercept  intercept + scale * meanDz.
 *
 *   gradient          dx = scale * dz + slope * (x - mean) + intercept
 *                        = invStd * (u - meanU) - xhatFactor * (xhat - xhatShift)
 *                        = scale * (dz - meanDz) + centredIntercept - xhatFactor * xhat
 *                     (the three forms each backend evaluates: float64 and
 *                     wasm the first, WebGPU the second, WebGL the third)
 *   dgamma, dbeta     sums of dz * (xhat - xhatShift) and of dz over the
 *                     pixels (and over the instances for a `[C]` parameter).
 *
 *   sumD, sumSquares  sums of d and d² over a channel's pixels, d = x - pivot
 *                     (forward) or x - mean (gradient).
 *   sumDz, sumDzD     sums of dz and dz * d over a channel's pixels.
 *   meanLow           mean - float32(mean): with float32(mean), the mean as a
 *                     float32 pair, for a pass that subtracts it in float32.
 */

/** The per-group statistics, the forward's outputs. */
export const STATISTICS = ['mean', 'invStd'] as const;

/** The terms of the forward's elementwise pass. */
export const FORWARD_TERMS = ['pivot', 'scale', 'shift'] as const;

/** The terms of the gradient's elementwise pass, in its three forms, and the parameter gradients. */
export const GRADIENT_TERMS = [
  'gamma',
  'beta',
  'scale',
  'slope',
  'intercept',
  'meanDz',
  'meanU',
  'xhatShift',
  'xhatFactor',
  'centredIntercept',
  'dgamma',
  'dbeta',
] as const;

/** The terms of the gradient's first form, dx = scale * dz + slope * (x - mean) + intercept. */
export const GRADIENT_AFFINE_TERMS = ['scale', 'slope', 'mean', 'intercept'] as const;

/** Per-channel sums a reduction pass hands to the next pass. */
export const SUM_TERMS = ['sumD', 'sumSquares', 'sumDz', 'sumDzD', 'meanLow'] as const;

/** A name of the pass model. */
export type Term =
  | (typeof STATISTICS)[number]
  | (typeof FORWARD_TERMS)[number]
  | (typeof GRADIENT_TERMS)[number]
  | (typeof SUM_TERMS)[number];

/** One array (or other value) per term of `terms`, e.g. a backend's per-channel coefficients. */
export type TermValues<Terms extends readonly Term[], V> = {[K in Terms[number]]: V};

/** A row layout: the row index of each term it holds, and `count` rows in all. */
export type RowLayout<T extends Term> = {readonly [K in T]: number} & {readonly count: number};

/**
 * The row layout of `rows` in the order given; `null` leaves a row unused
 * (e.g. to keep pairs of rows aligned). A term may appear once.
 */
export function rowLayout<T extends Term>(rows: ReadonlyArray<T | null>): RowLayout<T> {
  const layout: Record<string, number> = {};
  rows.forEach((term, row) => {
    if (term == null) return;
    if (term in layout) throw new Error(`rowLayout: term '${term}' appears twice.`);
    layout[term] = row;
  });
  layout.count = rows.length;
  return layout as RowLayout<T>;
}

/**
 * The row layout of pairs of rows, a pair starting at an even row (a WebGL
 * texel holds two rows): `[[a, b], [c, null]]` is rows a, b, c and an unused
 * one.
 */
export function pairedRowLayout<T extends Term>(
  pairs: ReadonlyArray<readonly [T, T | null]>,
): RowLayout<T> {
  return rowLayout<T>(pairs.flat());
}
