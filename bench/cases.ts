/**
 * What the benchmarks time: the shapes (one list, extended by adding a row;
 * `groups` makes a row group norm once the package has it) and the variants.
 * Shared by the browser page (bench.ts) and the Node + Dawn bench (gpu.ts).
 */
import type {DataFormat} from '../support/index';

export interface ShapeCase {
  shape: number[];
  dataFormat: DataFormat;
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

/** The shapes that only a real GPU runs in reasonable time. */
export const GPU_CASES: ShapeCase[] = [
  nhwc([2, 64, 64, 320]),
  nhwc([4, 512, 512, 32]),
  nchw([4, 32, 512, 512]),
];

/**
 * Group norm (groupNorm vs groupNormComposite): the Stable Diffusion U-Net
 * shape with 32 groups, and a smaller one. Run with --gpu, bench:gpu or
 * --shapes (not part of the SwiftShader targets).
 */
export const GROUP_CASES: ShapeCase[] = [nhwc([2, 64, 64, 320], 32), nhwc([8, 32, 32, 64], 8)];

export const ALL_CASES: ShapeCase[] = [...BASE_CASES, ...GPU_CASES, ...GROUP_CASES];

/**
 * The fused blocks (a norm with what follows it in real nets), each timed
 * three ways beside the plain fused norm of the same shape:
 *   inRelu       instance norm + ReLU (style-transfer, CycleGAN generators);
 *   gnSilu       group norm (32 groups, epsilon 1e-6) + SiLU (diffusion ResBlocks);
 *   adain        adaptive instance norm: content normalized, scaled and shifted
 *                by the style's per-(n, c) std and mean (style of another size);
 *   conditional  conditional instance norm: per-image gamma/beta gathered from
 *                a [styles, C] table by style id ([N, C] gamma/beta).
 */
export type BlockKind = 'inRelu' | 'gnSilu' | 'adain' | 'conditional';

export interface BlockCase extends ShapeCase {
  block: BlockKind;
  /** adain: the style's shape (same N and C, its own spatial size). */
  styleShape?: number[];
  /** conditional: rows of the gamma/beta tables. */
  styles?: number;
}

export const BLOCK_LABELS: Record<BlockKind, string> = {
  inRelu: 'IN+ReLU',
  gnSilu: 'GN+SiLU',
  adain: 'AdaIN',
  conditional: 'conditional IN',
};

/** The block rows of every run but --quick. */
export const BLOCK_CASES: BlockCase[] = [
  {block: 'inRelu', ...nhwc([8, 64, 64, 32])},
  {block: 'gnSilu', ...nhwc([2, 64, 64, 320], 32)},
  {block: 'adain', ...nhwc([8, 64, 64, 32]), styleShape: [8, 32, 32, 32]},
  {block: 'conditional', ...nhwc([8, 64, 64, 32]), styles: 4},
];

/** --quick: the same blocks on shapes a CPU or SwiftShader runs in seconds. */
export const QUICK_BLOCK_CASES: BlockCase[] = [
  {block: 'inRelu', ...nhwc([2, 32, 32, 32])},
  {block: 'gnSilu', ...nhwc([1, 16, 16, 320], 32)},
  {block: 'adain', ...nhwc([2, 32, 32, 32]), styleShape: [2, 16, 16, 32]},
  {block: 'conditional', ...nhwc([2, 32, 32, 32]), styles: 4},
];

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

/** What a block's label says: `IN+ReLU 8x64x64x32`, `AdaIN 8x64x64x32 (style 8x32x32x32)`. */
export function blockLabel(c: BlockCase): string {
  const style = c.styleShape ? ` (style ${c.styleShape.join('x')})` : '';
  const styles = c.styles ? ` (${c.styles} styles)` : '';
  return `${BLOCK_LABELS[c.block]} ${caseLabel(c)}${style}${styles}`;
}

export const elementsOf = (c: ShapeCase): number => c.shape.reduce((a, b) => a * b, 1);

export const channelsOf = (c: ShapeCase): number =>
  c.dataFormat === 'channelsLast' ? c.shape[c.shape.length - 1] : c.shape[1];

/**
 * A block's variants: the copy, the plain fused norm of the same shape, the
 * fused block, the fused norm followed by separate tfjs ops, and the
 * composite (tf.moments and built-in ops); forward, and forward + gradient.
 */
export const BLOCK_VARIANTS = [
  'copy',
  'normFwd',
  'blockFwd',
  'splitFwd',
  'compFwd',
  'normGrad',
  'blockGrad',
  'splitGrad',
  'compGrad',
] as const;
export type BlockVariant = (typeof BLOCK_VARIANTS)[number];

export const BLOCK_VARIANT_LABELS: Record<BlockVariant, string> = {
  copy: 'copy',
  normFwd: 'norm fwd',
  blockFwd: 'fused block fwd',
  splitFwd: 'norm + ops fwd',
  compFwd: 'composite fwd',
  normGrad: 'norm fwd+grad',
  blockGrad: 'fused block fwd+grad',
  splitGrad: 'norm + ops fwd+grad',
  compGrad: 'composite fwd+grad',
};

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
