/**
 * What the float64 loops of this folder need to know about x: its layout
 * (src/geometry.ts) and the channel groups of group norm. Backend-independent:
 * the loops read and write plain typed arrays (JS arrays on cpu, views of the
 * wasm heap on wasm).
 */
import type {NormGeometry} from '../../src/geometry';
import type {FORWARD_TERMS, GRADIENT_AFFINE_TERMS, TermValues} from '../common/passes';

export {normGeometry} from '../../src/geometry';
export type {NormGeometry};

/**
 * Per (instance, channel) values from per (instance, group) ones: entry
 * `n * C + c` of the result is entry `n * groups + group(c)` of `perGroup`.
 */
export function groupToChannel(geometry: NormGeometry, perGroup: ArrayLike<number>): Float64Array {
  const {batch, channels, groups, channelsPerGroup} = geometry;
  const out = new Float64Array(batch * channels);
  for (let n = 0; n < batch; n++) {
    for (let c = 0; c < channels; c++) {
      out[n * channels + c] = perGroup[n * groups + Math.floor(c / channelsPerGroup)];
    }
  }
  return out;
}

/**
 * gamma or beta per (instance, channel), entry `n * C + c`, from a `[C]` or
 * `[N, C]` input (`perInstance`); absent: `fill` everywhere. Throws when the
 * length fits neither.
 */
export function parameterPerInstance(
  geometry: NormGeometry,
  values: ArrayLike<number> | null,
  perInstance: boolean,
  fill: number,
  name: string,
  kernelName: string,
): Float64Array {
  const {batch, channels} = geometry;
  const out = new Float64Array(batch * channels);
  if (values == null) return out.fill(fill);
  const expected = perInstance ? batch * channels : channels;
  if (values.length !== expected) {
    throw new Error(
      `${kernelName}: input '${name}' must be of shape [C] = [${channels}] or [N, C] = ` +
        `[${batch}, ${channels}], but has ${values.length} values.`,
    );
  }
  for (let nc = 0; nc < out.length; nc++) out[nc] = values[perInstance ? nc : nc % channels];
  return out;
}

/** Per (instance, channel): `perGroup(n, group(c)) * values[n * C + c]`, e.g. invStd * gamma. */
export function scaledByGroup(
  geometry: NormGeometry,
  perGroup: ArrayLike<number>,
  values: Float64Array,
): Float64Array {
  const out = groupToChannel(geometry, perGroup);
  for (let nc = 0; nc < out.length; nc++) out[nc] *= values[nc];
  return out;
}

/**
 * The activation inside a pass. Forward (`dy` absent): the pass writes
 * `fn(z)` with z its affine result. Gradient: dy is replaced by
 * `dz = dy * fn(z)` with `z = scale * (x - mean) + beta` (act' at the
 * recomputed pre-activation), per (instance, channel) terms.
 */
export interface ActivationTerms {
  fn: (z: number) => number;
  scale?: Float64Array;
  beta?: Float64Array;
}

/**
 * The terms of {@link affinePass}, each per (instance, channel), index
 * `n * C + c`, named as in the pass model (../common/passes.ts): the
 * forward's `y = (x - pivot) * scale + shift` or the gradient's
 * `dx = scale * dz + slope * (x - mean) + intercept`.
 */
export type AffineTerms =
  | TermValues<typeof FORWARD_TERMS, Float64Array>
  | TermValues<typeof GRADIENT_AFFINE_TERMS, Float64Array>;

/**
 * The terms as `target = a * dy + b * (x - m) + k` (the forward's a is 0):
 * one loop serves both passes.
 */
function passForm(
  geometry: NormGeometry,
  terms: AffineTerms,
): {a: Float64Array; b: Float64Array; m: Float64Array; k: Float64Array} {
  return 'slope' in terms
    ? {a: terms.scale, b: terms.slope, m: terms.mean, k: terms.intercept}
    : {
        a: new Float64Array(geometry.batch * geometry.channels),
        b: terms.scale,
        m: terms.pivot,
        k: terms.shift,
      };
}

/**
 * Writes `target = a * dy + b * (x - m) + k` elementwise (see passForm; y:
 * dy null, a term of 0; dx: every term), x - m taken first so that k survives
 * at any magnitude of x. Memory order in both layouts; channelsLast takes two
 * pixels per step (the last one twice for an odd S) so the terms are loaded
 * once for both.
 */
export function affinePass(
  geometry: NormGeometry,
  target: Float32Array,
  x: Float32Array,
  dy: Float32Array | null,
  terms: AffineTerms,
  activation: ActivationTerms | null = null,
): void {
  if (activation != null) {
    activatedPass(geometry, target, x, dy, terms, activation);
    return;
  }
  const {batch, spatial, channels} = geometry;
  const {a, b, m, k} = passForm(geometry, terms);
  const g = dy ?? x; // with a = 0 when dy is absent
  if (geometry.dataFormat === 'channelsLast') {
    for (let n = 0; n < batch; n++) {
      const base = n * channels;
      for (let s = 0, i = base * spatial; s < spatial; s += 2, i += 2 * channels) {
        const next = s + 1 < spatial ? channels : 0;
        for (let c = 0; c < channels; c++) {
          const nc = base + c;
          const ac = a[nc];
          const bc = b[nc];
          const mc = m[nc];
          const kc = k[nc];
          target[i + c] = ac * g[i + c] + bc * (x[i + c] - mc) + kc;
          target[i + next + c] = ac * g[i + next + c] + bc * (x[i + next + c] - mc) + kc;
        }
      }
    }
  } else {
    for (let nc = 0, i = 0; nc < batch * channels; nc++) {
      const ac = a[nc];
      const bc = b[nc];
      const mc = m[nc];
      const kc = k[nc];
      for (const end = i + spatial; i < end; i++) target[i] = ac * g[i] + bc * (x[i] - mc) + kc;
    }
  }
}

/**
 * {@link affinePass} with an activation (see {@link ActivationTerms}), in
 * memory order, one element at a time.
 */
function activatedPass(
  geometry: NormGeometry,
  target: Float32Array,
  x: Float32Array,
  dy: Float32Array | null,
  terms: AffineTerms,
  activation: ActivationTerms,
): void {
  const {batch, spatial, channels} = geometry;
  const {a, b, m, k} = passForm(geometry, terms);
  const {fn, scale, beta} = activation;
  const element = (i: number, nc: number) => {
    const d = x[i] - m[nc];
    if (dy == null) {
      target[i] = fn(b[nc] * d + k[nc]);
    } else {
      const dz = dy[i] * fn(scale![nc] * d + beta![nc]);
      target[i] = a[nc] * dz + b[nc] * d + k[nc];
    }
  };
  if (geometry.dataFormat === 'channelsLast') {
    for (let n = 0, i = 0; n < batch; n++) {
      for (let s = 0; s < spatial; s++) {
        for (let c = 0; c < channels; c++, i++) element(i, n * channels + c);
      }
    }
  } else {
    for (let nc = 0, i = 0; nc < batch * channels; nc++) {
      for (const end = i + spatial; i < end; i++) element(i, nc);
    }
  }
}
