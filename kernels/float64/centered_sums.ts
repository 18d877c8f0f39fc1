/**
 * The one reduction pass of both kernels: per (instance, channel), in float64,
 * the sums of d = x - center, d², g and g * d, where g is dy (gradient) or x
 * (forward, which uses only the first two). center is the channel's pivot in
 * the forward and the saved mean in the gradient. With an activation (the
 * gradient of a fused block), g is dz = dy * act'(z), z recomputed from d.
 */
import type {ActivationTerms, NormGeometry} from './geometry';

export interface CenteredSums {
  d: Float64Array;
  dd: Float64Array;
  g: Float64Array;
  gd: Float64Array;
}

export function centeredSums(
  geometry: NormGeometry,
  x: Float32Array,
  center: Float64Array,
  dy: Float32Array | null,
  activation: ActivationTerms | null = null,
): CenteredSums {
  const {batch, spatial, channels} = geometry;
  const size = batch * channels;
  const sums = {
    d: new Float64Array(size),
    dd: new Float64Array(size),
    g: new Float64Array(size),
    gd: new Float64Array(size),
  };
  if (activation != null && dy != null) {
    activatedSums(geometry, x, center, dy, activation, sums);
    return sums;
  }
  const {d, dd, g, gd} = sums;
  const grad = dy ?? x;
  if (geometry.dataFormat === 'channelsLast') {
    // Two pixels per step (the second absent at the end of an odd S): half
    // the float64 loads and stores per element.
    for (let n = 0; n < batch; n++) {
      const base = n * channels;
      for (let s = 0, i = base * spatial; s < spatial; s += 2, i += 2 * channels) {
        const j = s + 1 < spatial ? i + channels : -1;
        for (let c = 0; c < channels; c++) {
          const nc = base + c;
          const d0 = x[i + c] - center[nc];
          const d1 = j < 0 ? 0 : x[j + c] - center[nc];
          const g0 = grad[i + c];
          const g1 = j < 0 ? 0 : grad[j + c];
          d[nc] += d0 + d1;
          dd[nc] += d0 * d0 + d1 * d1;
          g[nc] += g0 + g1;
          gd[nc] += g0 * d0 + g1 * d1;
        }
      }
    }
  } else {
    for (let nc = 0, i = 0; nc < size; nc++) {
      const m = center[nc];
      let sd = 0;
      let sdd = 0;
      let sg = 0;
      let sgd = 0;
      for (const end = i + spatial; i < end; i++) {
        const di = x[i] - m;
        sd += di;
        sdd += di * di;
        sg += grad[i];
        sgd += grad[i] * di;
      }
      d[nc] = sd;
      dd[nc] = sdd;
      g[nc] = sg;
      gd[nc] = sgd;
    }
  }
  return sums;
}

/** {@link centeredSums} of the gradient with g = dy * act'(z), one element at a time. */
function activatedSums(
  geometry: NormGeometry,
  x: Float32Array,
  center: Float64Array,
  dy: Float32Array,
  activation: ActivationTerms,
  sums: CenteredSums,
): void {
  const {batch, spatial, channels} = geometry;
  const {d, dd, g, gd} = sums;
  const {fn, scale, beta} = activation;
  const element = (i: number, nc: number) => {
    const di = x[i] - center[nc];
    const dz = dy[i] * fn(scale![nc] * di + beta![nc]);
    d[nc] += di;
    dd[nc] += di * di;
    g[nc] += dz;
    gd[nc] += dz * di;
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
