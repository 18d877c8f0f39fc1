/**
 * The training set, generated here so the demo downloads nothing: grayscale
 * scenes of soft shapes (the input) and the same scenes "painted" (the
 * target): a color palette over the brightness plus dark outlines where the
 * brightness changes. Each scene is painted in every palette of PALETTES (the
 * conditional mode learns them all in one network). Deterministic: the same
 * seed gives the same images.
 */
import {seeded} from '../support/index';

export const IMAGE_SIZE = 32;
export const BATCH = 4;
export const DATASET_SIZE = 16;

export interface Dataset {
  /** [DATASET_SIZE, IMAGE_SIZE, IMAGE_SIZE, 1], values in [0, 1]. */
  gray: Float32Array;
  /** [DATASET_SIZE, IMAGE_SIZE, IMAGE_SIZE, 3], values in [0, 1]: the first palette's painting. */
  color: Float32Array;
  /** Per palette of PALETTES, the scenes painted in it (each like `color`). */
  styled: Float32Array[];
}

const smoothstep = (e0: number, e1: number, v: number) => {
  const t = Math.min(1, Math.max(0, (v - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};

/** One grayscale scene: a tilted gradient under circles, boxes and stripes with soft edges. */
function scene(random: () => number): Float32Array {
  const n = IMAGE_SIZE;
  const img = new Float32Array(n * n);
  const angle = random() * Math.PI * 2;
  const [gx, gy] = [Math.cos(angle), Math.sin(angle)];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      img[y * n + x] = 0.15 + 0.25 * ((x / n - 0.5) * gx + (y / n - 0.5) * gy + 0.5);
    }
  }
  const shapes = 3 + Math.floor(random() * 3);
  for (let s = 0; s < shapes; s++) {
    const kind = Math.floor(random() * 3);
    const cx = random() * n;
    const cy = random() * n;
    const size = n * (0.1 + 0.22 * random());
    const level = 0.35 + 0.65 * random();
    const stripeAngle = random() * Math.PI;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const dx = x - cx;
        const dy = y - cy;
        let inside: number;
        if (kind === 0) {
          inside = smoothstep(size + 1, size - 1, Math.hypot(dx, dy));
        } else if (kind === 1) {
          inside = smoothstep(size + 1, size - 1, Math.max(Math.abs(dx), Math.abs(dy) * 1.4));
        } else {
          const along = dx * Math.cos(stripeAngle) + dy * Math.sin(stripeAngle);
          const band = Math.sin((along * 14) / n) > 0.2 ? 1 : 0;
          inside = band * smoothstep(size * 1.6 + 1, size * 1.6 - 1, Math.hypot(dx, dy));
        }
        const i = y * n + x;
        img[i] = img[i] * (1 - inside) + level * inside;
      }
    }
  }
  return img;
}

type Color = [number, number, number];

/** A palette: brightness to color, from dark to light. */
export interface Palette {
  name: string;
  stops: Color[];
}

/** The styles: the first is the painter's; the conditional mode learns all of them. */
export const PALETTES: Palette[] = [
  {
    name: 'Sunset',
    stops: [
      [0.05, 0.1, 0.35],
      [0.45, 0.15, 0.55],
      [0.95, 0.45, 0.2],
      [1.0, 0.95, 0.6],
    ],
  },
  {
    name: 'Forest',
    stops: [
      [0.02, 0.16, 0.1],
      [0.1, 0.42, 0.3],
      [0.55, 0.75, 0.25],
      [0.95, 0.95, 0.8],
    ],
  },
  {
    name: 'Ice',
    stops: [
      [0.3, 0.05, 0.1],
      [0.2, 0.35, 0.7],
      [0.5, 0.8, 0.95],
      [0.95, 1.0, 1.0],
    ],
  },
];

function paint(v: number, palette: Palette): Color {
  const stops = palette.stops;
  const t = Math.min(0.9999, Math.max(0, v)) * (stops.length - 1);
  const i = Math.floor(t);
  const f = t - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** The painted scene: palette colors, darkened along edges (a 3x3 gradient magnitude). */
function painted(gray: Float32Array, palette: Palette, out: Float32Array, offset: number): void {
  const n = IMAGE_SIZE;
  const at = (x: number, y: number) =>
    gray[Math.min(n - 1, Math.max(0, y)) * n + Math.min(n - 1, Math.max(0, x))];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const gxv = at(x + 1, y) - at(x - 1, y);
      const gyv = at(x, y + 1) - at(x, y - 1);
      const edge = Math.min(1, Math.hypot(gxv, gyv) * 4);
      const [r, g, b] = paint(gray[y * n + x], palette);
      const k = 1 - 0.85 * edge;
      const o = offset + (y * n + x) * 3;
      out[o] = r * k;
      out[o + 1] = g * k;
      out[o + 2] = b * k;
    }
  }
}

export function makeDataset(seed = 7): Dataset {
  const random = seeded(seed);
  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  const gray = new Float32Array(DATASET_SIZE * pixels);
  const styled = PALETTES.map(() => new Float32Array(DATASET_SIZE * pixels * 3));
  for (let i = 0; i < DATASET_SIZE; i++) {
    const img = scene(random);
    gray.set(img, i * pixels);
    PALETTES.forEach((palette, s) => painted(img, palette, styled[s], i * pixels * 3));
  }
  return {gray, color: styled[0], styled};
}
