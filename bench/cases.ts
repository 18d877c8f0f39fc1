/**
 * What the benchmarks time: the shapes (one list, extended by adding a row;
 * `groups` makes a row group norm once the package has it) and the variants.
 * Shared by the browser page (bench.ts) and the Node + Dawn bench (gpu.ts).
 */
export type Format = 'channelsLast' | 'channelsFirst';

export interface ShapeCase {
  shape: number[];
  dataFormat: Format;
  /** Group norm with this many groups (a divisor of C); absent: instance norm. */
  groups?: number;
}

const nhwc = (shape: number[], groups?: number): ShapeCase => ({
  shape,
  dataFormat: 'channelsLast',
  ...(groups === undefined ? {} : {groups}),
});
const nchw = (shape: number[], groups?: number): ShapeCase => ({
  shape,
  dataFormat: 'channelsFirst',
  ...(groups === undefined ? {} : {groups}),
});

/** The six shapes of the SwiftShader bench (its targets are set on these). */
export const BASE_CASES: ShapeCase[] = [
  nhwc([8, 64, 64, 32]),
  nhwc([1, 256, 256, 16]),
  nhwc([16, 16, 16, 128]),
  nhwc([2, 128, 128, 64]),
  nhwc([1, 32, 32, 8]),
  nchw([2, 32, 64, 64]),
];

/** The shapes that only a real GPU runs in reasonable time (issues 12, 16). */
export const GPU_CASES: ShapeCase[] = [
  nhwc([2, 64, 64, 320]),
  nhwc([4, 512, 512, 32]),
  nchw([4, 32, 512, 512]),
];

export const ALL_CASES: ShapeCase[] = [...BASE_CASES, ...GPU_CASES];

export const VARIANTS = ['copy', 'fusedFwd', 'compFwd', 'fusedGrad', 'compGrad'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Record<Variant, string> = {
  copy: 'copy',
  fusedFwd: 'fused fwd',
  compFwd: 'composite fwd',
  fusedGrad: 'fused fwd+grad',
  compGrad: 'composite fwd+grad',
};

/**
 * The fewest bytes a variant must move, in units of the bytes of x: a copy
 * reads x and writes its negation (2); a forward reads x and writes y (2);
 * forward + gradient adds reading x and dy and writing dx (5 in all). The
 * small per-(n, c) tensors are left out.
 */
export const MIN_PASSES: Record<Variant, number> = {
  copy: 2,
  fusedFwd: 2,
  compFwd: 2,
  fusedGrad: 5,
  compGrad: 5,
};

export const elementsOf = (c: ShapeCase): number => c.shape.reduce((a, b) => a * b, 1);

export const channelsOf = (c: ShapeCase): number =>
  c.dataFormat === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];

/** `8x64x64x32`, `2x32x64x64 NCHW`, `... g8`: the label in tables and --shapes. */
export function caseLabel(c: ShapeCase): string {
  const format = c.dataFormat === 'channelsFirst' ? ' NCHW' : '';
  const groups = c.groups === undefined ? '' : ` g${c.groups}`;
  return `${c.shape.join('x')}${format}${groups}`;
}

/** Narrows `cases` to those named in `--shapes=8x64x64x32,2x32x64x64` (by dimensions). */
export function pickCases(cases: ShapeCase[], wanted: string[] | undefined): ShapeCase[] {
  return wanted ? cases.filter(c => wanted.includes(c.shape.join('x'))) : cases;
}
