/**
 * The tables and targets both benches print (Node side): wall ms, tf.time
 * kernel ms, effective bandwidth, the WebAssembly rows (SIMD and scalar), the
 * per-kernel profile of the largest shape, the fused-block rows, the training
 * step, and the targets with their worst shape.
 */
import {
  BLOCK_VARIANT_LABELS,
  BLOCK_VARIANTS,
  type BlockCase,
  blockLabel,
  caseLabel,
  MIN_PASSES,
  type ShapeCase,
  VARIANT_LABELS,
  VARIANTS,
} from './cases';
import type {BlockResult, CaseResult, ProfileResult} from './core';
import type {BreakdownResult} from './breakdown_report';
import type {FamilyResult} from './family';
import type {FamilyTrainingResult} from './family_training';
import type {TrainingResult} from './training';

/** What a browser run hands back to its driver (and results.json holds). */
export interface BenchOutput {
  userAgent: string;
  backends: Record<string, Record<string, unknown>>;
  cases: CaseResult[];
  blocks: BlockResult[];
  profiles: ProfileResult[];
  training: TrainingResult[];
  /** The batch / layer norm rows (family.ts) and training steps (family_training.ts). */
  family: FamilyResult[];
  familyTraining: FamilyTrainingResult[];
  /** The style-net step breakdown (breakdown.ts). */
  breakdown: BreakdownResult[];
  skipped: string[];
  /** What failed (the run goes on with the next shape or backend). */
  errors: string[];
}

export function emptyOutput(userAgent: string): BenchOutput {
  return {
    userAgent,
    backends: {},
    cases: [],
    blocks: [],
    profiles: [],
    training: [],
    family: [],
    familyTraining: [],
    breakdown: [],
    skipped: [],
    errors: [],
  };
}

export const fmt = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v)
    ? '–'
    : Math.abs(v) >= 100
      ? v.toFixed(0)
      : Math.abs(v) >= 10
        ? v.toFixed(1)
        : Math.abs(v) >= 0.1
          ? v.toFixed(2)
          : v.toFixed(3);

const label = (c: CaseResult): string => caseLabel(c as ShapeCase);

export interface Ratios {
  compositeOverFusedFwd: number;
  compositeOverFusedGrad: number;
  fusedFwdOverCopy: number;
  fusedGradOverCopy: number;
}

export const ratiosOf = (c: CaseResult): Ratios => ({
  compositeOverFusedFwd: c.ms.compFwd / c.ms.fusedFwd,
  compositeOverFusedGrad: c.ms.compGrad / c.ms.fusedGrad,
  fusedFwdOverCopy: c.ms.fusedFwd / c.ms.copy,
  fusedGradOverCopy: c.ms.fusedGrad / c.ms.copy,
});

/** GB/s: the fewest bytes the variant must move over its kernel (else wall) time. */
export function bandwidth(c: CaseResult): Record<string, number> {
  return Object.fromEntries(
    VARIANTS.map(v => {
      const ms = c.kernelMs[v] ?? c.ms[v];
      return [v, (MIN_PASSES[v] * 4 * c.elements) / (ms * 1e6)];
    }),
  );
}

/** The ratios of a block row: each way of writing the block over the fused block. */
export interface BlockRatios {
  /** Fused block fwd+grad over the plain fused norm's (the block's cost over the norm). */
  blockOverNormGrad: number;
  splitOverBlockFwd: number;
  splitOverBlockGrad: number;
  compositeOverBlockFwd: number;
  compositeOverBlockGrad: number;
}

export const blockRatiosOf = (b: BlockResult): BlockRatios => ({
  blockOverNormGrad: b.ms.blockGrad / b.ms.normGrad,
  splitOverBlockFwd: b.ms.splitFwd / b.ms.blockFwd,
  splitOverBlockGrad: b.ms.splitGrad / b.ms.blockGrad,
  compositeOverBlockFwd: b.ms.compFwd / b.ms.blockFwd,
  compositeOverBlockGrad: b.ms.compGrad / b.ms.blockGrad,
});

export const normShare = (t: TrainingResult, kind: 'layer' | 'block' | 'composite'): number =>
  (t.msPerStep[kind] - t.msPerStep.none) / t.msPerStep[kind];

/** Composite norms' time over the layer's norms' time in one step. */
export const normTimeRatio = (t: TrainingResult): number =>
  (t.msPerStep.composite - t.msPerStep.none) / (t.msPerStep.layer - t.msPerStep.none);

export interface Target {
  backend: string;
  what: string;
  /** Only these shapes (caseLabel); absent: every measured shape. */
  shapes?: string[];
  value: (c: CaseResult) => number | undefined;
  atLeast?: number;
  atMost?: number;
  unit?: 'x' | 'ms';
}

export interface TrainingTarget {
  what: string;
  value: (t: TrainingResult) => number;
  atLeast?: number;
  atMost?: number;
  unit: 'x' | '%';
}

const r = (key: keyof Ratios) => (c: CaseResult) => ratiosOf(c)[key];

/** The SwiftShader targets of the browser bench, as it always printed them. */
export const SWIFTSHADER_TARGETS: Target[] = [
  {
    backend: 'webgpu',
    what: 'composite/fused fwd+grad',
    value: r('compositeOverFusedGrad'),
    atLeast: 20,
  },
  {
    backend: 'webgl',
    what: 'composite/fused fwd+grad',
    value: r('compositeOverFusedGrad'),
    atLeast: 5,
  },
  {backend: 'webgpu', what: 'fused fwd+grad / copy', value: r('fusedGradOverCopy'), atMost: 4},
  {backend: 'webgl', what: 'fused fwd+grad / copy', value: r('fusedGradOverCopy'), atMost: 4},
  {backend: 'webgpu', what: 'fused fwd / copy', value: r('fusedFwdOverCopy'), atMost: 2},
  {backend: 'webgl', what: 'fused fwd / copy', value: r('fusedFwdOverCopy'), atMost: 2},
  {backend: 'cpu', what: 'composite/fused fwd', value: r('compositeOverFusedFwd'), atLeast: 3},
  {
    backend: 'cpu',
    what: 'composite/fused fwd+grad',
    value: r('compositeOverFusedGrad'),
    atLeast: 3,
  },
  {
    backend: 'wasm',
    what: 'composite/fused fwd+grad',
    value: r('compositeOverFusedGrad'),
    atLeast: 3,
  },
];

/** Chrome on a real GPU. */
export const CHROME_GPU_TARGETS: Target[] = [
  {backend: 'webgl', what: 'fused fwd+grad / copy', value: r('fusedGradOverCopy'), atMost: 2},
  {backend: 'webgl', what: 'fused fwd / copy', value: r('fusedFwdOverCopy'), atMost: 1.3},
  {backend: 'webgpu', what: 'fused fwd / copy', value: r('fusedFwdOverCopy'), atMost: 2},
  {backend: 'webgpu', what: 'fused fwd+grad / copy', value: r('fusedGradOverCopy'), atMost: 4},
  {
    backend: 'webgpu',
    what: 'composite/fused fwd kernel ms',
    shapes: ['2x64x64x320'],
    value: c => (c.kernelMs.compFwd ?? NaN) / (c.kernelMs.fusedFwd ?? NaN),
    atLeast: 3,
  },
];

export const CHROME_GPU_TRAINING_TARGETS: TrainingTarget[] = [
  {what: "layer's norms / step", value: t => normShare(t, 'layer') * 100, atMost: 3, unit: '%'},
  {
    what: 'fused IN+ReLU blocks / step',
    value: t => normShare(t, 'block') * 100,
    atMost: 3,
    unit: '%',
  },
  {what: "composite's / layer's norm time", value: normTimeRatio, atLeast: 10, unit: 'x'},
];

/** A block target: a ratio of a block row, on the named backends. */
export interface BlockTarget {
  backend: string;
  what: string;
  value: (b: BlockResult) => number;
  atLeast?: number;
  atMost?: number;
}

/** Fused blocks on a real GPU (WebGPU and WebGL in Chrome, WebGPU in Node). */
export const GPU_BLOCK_TARGETS: BlockTarget[] = [
  ...['webgpu', 'webgl'].map(backend => ({
    backend,
    what: 'fused block / plain norm, fwd+grad',
    value: (b: BlockResult) => blockRatiosOf(b).blockOverNormGrad,
    atMost: 1.1,
  })),
  {
    backend: 'webgpu',
    what: 'norm + ops / fused block, fwd+grad',
    value: b => blockRatiosOf(b).splitOverBlockGrad,
    atLeast: 1.3,
  },
];

const LARGE = ['4x512x512x32', '4x32x512x512 NCHW'];
const TYPICAL = ['8x64x64x32', '1x256x256x16', '16x16x16x128', '2x64x64x320', '2x32x64x64 NCHW'];

/** Node + Dawn on a real GPU. */
export const NODE_GPU_TARGETS: Target[] = [
  {
    backend: 'webgpu',
    what: 'fused fwd kernel',
    shapes: LARGE,
    value: c => c.kernelMs.fusedFwd,
    atMost: 0.25,
    unit: 'ms',
  },
  {
    backend: 'webgpu',
    what: 'fused fwd+grad kernel',
    shapes: LARGE,
    value: c => c.kernelMs.fusedGrad,
    atMost: 0.6,
    unit: 'ms',
  },
  {
    backend: 'webgpu',
    what: 'fused fwd / copy',
    shapes: TYPICAL,
    value: r('fusedFwdOverCopy'),
    atMost: 2.5,
  },
  {
    backend: 'webgpu',
    what: 'fused fwd+grad / copy',
    shapes: TYPICAL,
    value: r('fusedGradOverCopy'),
    atMost: 5,
  },
];

export interface TargetResult {
  backend: string;
  what: string;
  target: string;
  worst: number;
  met: boolean;
  fusedKernels: boolean;
  perShape: Array<{shape: string; value: number}>;
}

const holds = (v: number, t: {atLeast?: number; atMost?: number}): boolean =>
  t.atLeast !== undefined ? v >= t.atLeast : v <= (t.atMost as number);
const bound = (t: {atLeast?: number; atMost?: number; unit?: string}): string =>
  t.atLeast !== undefined ? `>= ${t.atLeast}${t.unit ?? 'x'}` : `<= ${t.atMost}${t.unit ?? 'x'}`;

export function checkTargets(
  cases: CaseResult[],
  targets: Target[],
  training: TrainingResult[] = [],
  trainingTargets: TrainingTarget[] = [],
  blocks: BlockResult[] = [],
  blockTargets: BlockTarget[] = [],
): TargetResult[] {
  const results: TargetResult[] = [];
  for (const t of blockTargets) {
    const measured = blocks.filter(b => b.backend === t.backend);
    if (!measured.length) continue;
    const perShape = measured.map(b => ({shape: blockLabel(b as BlockCase), value: t.value(b)}));
    const values = perShape.map(p => p.value);
    results.push({
      backend: t.backend,
      what: `blocks: ${t.what}`,
      target: bound(t),
      worst: t.atLeast !== undefined ? Math.min(...values) : Math.max(...values),
      met: values.every(v => holds(v, t)),
      fusedKernels: measured.every(b => b.fusedKernels),
      perShape,
    });
  }
  for (const t of targets) {
    const measured = cases.filter(
      c => c.backend === t.backend && (!t.shapes || t.shapes.includes(label(c))),
    );
    if (!measured.length) continue;
    const perShape = measured.map(c => ({shape: label(c), value: t.value(c) ?? NaN}));
    const values = perShape.map(p => p.value);
    results.push({
      backend: t.backend,
      what: t.what,
      target: bound(t),
      worst: t.atLeast !== undefined ? Math.min(...values) : Math.max(...values),
      met: values.every(v => holds(v, t)),
      fusedKernels: measured.every(c => c.fusedKernels),
      perShape,
    });
  }
  for (const tr of training) {
    for (const t of trainingTargets) {
      const value = t.value(tr);
      results.push({
        backend: tr.backend,
        what: `training step: ${t.what}`,
        target: bound(t),
        worst: value,
        met: holds(value, t),
        fusedKernels: tr.fusedKernels,
        perShape: [{shape: `1x${tr.size}x${tr.size}x3`, value}],
      });
    }
  }
  return results;
}

function table(head: string[], align: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${align.join('|')}|`,
    ...rows.map(row => `| ${row.join(' | ')} |`),
  ];
}

const variantHead = VARIANTS.map(v => VARIANT_LABELS[v]);

/** Every table of a run, as Markdown lines. */
export function report(output: {
  cases: CaseResult[];
  blocks: BlockResult[];
  profiles: ProfileResult[];
  training: TrainingResult[];
  targets: TargetResult[];
  skipped: string[];
  errors: string[];
  rounds: number;
}): string[] {
  const {cases} = output;
  const lines: string[] = [];
  lines.push(
    `Wall ms per call (K calls back to back, one sync; median of ${output.rounds} rounds):`,
    '',
  );
  lines.push(
    ...table(
      [
        'backend',
        'shape',
        ...variantHead,
        'composite/fused fwd',
        'composite/fused fwd+grad',
        'fused fwd/copy',
        'fused fwd+grad/copy',
      ],
      ['---', '---', ...Array(9).fill('--:')],
      cases.map(c => {
        const q = ratiosOf(c);
        const kernels = c.fusedKernels ? '' : ' (no fused kernels: fallback)';
        return [
          `${c.backend}${kernels}`,
          label(c),
          ...VARIANTS.map(v => fmt(c.ms[v])),
          `${fmt(q.compositeOverFusedFwd)}x`,
          `${fmt(q.compositeOverFusedGrad)}x`,
          `${fmt(q.fusedFwdOverCopy)}x`,
          `${fmt(q.fusedGradOverCopy)}x`,
        ];
      }),
    ),
  );
  const timed = cases.filter(c => Object.keys(c.kernelMs).length > 0);
  if (timed.length) {
    lines.push('', 'tf.time kernel ms per call (GPU timer queries / timestamps; median):', '');
    lines.push(
      ...table(
        ['backend', 'shape', ...variantHead, 'composite/fused fwd', 'fused fwd+grad/copy'],
        ['---', '---', ...Array(7).fill('--:')],
        timed.map(c => {
          const k = c.kernelMs;
          return [
            c.backend,
            label(c),
            ...VARIANTS.map(v => fmt(k[v])),
            `${fmt((k.compFwd ?? NaN) / (k.fusedFwd ?? NaN))}x`,
            `${fmt((k.fusedGrad ?? NaN) / (k.copy ?? NaN))}x`,
          ];
        }),
      ),
    );
  }
  if (cases.length) {
    lines.push(
      '',
      'Effective bandwidth, GB/s: fewest bytes moved (copy and fwd: read x, write y; fwd+grad: ' +
        'also read x, dy, write dx) / kernel ms (wall ms where there is no kernel time):',
      '',
    );
    lines.push(
      ...table(
        ['backend', 'shape', 'MB of x', ...variantHead],
        ['---', '---', ...Array(6).fill('--:')],
        cases.map(c => {
          const bw = bandwidth(c);
          const timedBy = (v: string) =>
            c.kernelMs[v as keyof typeof c.kernelMs] ? '' : ' (wall)';
          return [
            c.backend,
            label(c),
            fmt((c.elements * 4) / 1e6),
            ...VARIANTS.map(v => `${fmt(bw[v])}${timedBy(v)}`),
          ];
        }),
      ),
    );
  }
  lines.push(...wasmTable(cases));
  for (const p of output.profiles) {
    lines.push(
      '',
      `tf.profile of ${p.backend} ${caseLabel(p as ShapeCase)}, ms per kernel (calls):`,
      '',
    );
    const rows: string[][] = [];
    for (const v of VARIANTS) {
      const kernels = p.kernels[v];
      if (!kernels) continue;
      const total = kernels.reduce((a, k) => a + k.ms, 0);
      const top = kernels
        .slice(0, 8)
        .map(k => `${k.name} ${fmt(k.ms)}${k.count > 1 ? ` (${k.count})` : ''}`);
      if (kernels.length > 8) top.push(`${kernels.length - 8} more`);
      rows.push([VARIANT_LABELS[v], String(p.programs[v] ?? '–'), fmt(total), top.join(', ')]);
    }
    lines.push(
      ...table(['variant', 'GPU programs', 'total', 'kernels'], ['---', '--:', '--:', '---'], rows),
    );
  }
  lines.push(...blockTables(output.blocks));
  if (output.training.length) {
    const t0 = output.training[0];
    lines.push(
      '',
      `Training step: style-transfer network (${t0.norms} norms) on 1x${t0.size}x${t0.size}x3, ` +
        'Adam, MSE; ms per model.trainOnBatch, median, the four nets interleaved (no norm: the ' +
        'same net with the norm layers taken out):',
      '',
    );
    lines.push(
      ...table(
        [
          'backend',
          'layer + ReLU layer',
          'fused IN+ReLU layer',
          'composite norm',
          'no norm',
          "layer's norms / step",
          "fused blocks' / step",
          "composite's norms / step",
          "composite's / layer's norm time",
        ],
        ['---', ...Array(8).fill('--:')],
        output.training.map(t => [
          t.backend + (t.fusedKernels ? '' : ' (no fused kernels)'),
          fmt(t.msPerStep.layer),
          fmt(t.msPerStep.block),
          fmt(t.msPerStep.composite),
          fmt(t.msPerStep.none),
          `${(normShare(t, 'layer') * 100).toFixed(1)}%`,
          `${(normShare(t, 'block') * 100).toFixed(1)}%`,
          `${(normShare(t, 'composite') * 100).toFixed(1)}%`,
          `${fmt(normTimeRatio(t))}x`,
        ]),
      ),
    );
  }
  if (output.targets.length) {
    lines.push('', 'Targets (worst shape):', '');
    lines.push(
      ...table(
        ['backend', 'measure', 'target', 'worst measured', 'met'],
        ['---', '---', '--:', '--:', '---'],
        output.targets.map(t => [
          t.backend,
          t.what,
          t.target,
          `${fmt(t.worst)}${t.target.replace(/[^a-z%]/g, '')}`,
          (t.met ? 'yes' : 'NO') + (t.fusedKernels ? '' : ' (no fused kernels in this run)'),
        ]),
      ),
    );
  }
  if (output.skipped.length) lines.push('', `Skipped: ${output.skipped.join('; ')}`);
  if (output.errors.length) lines.push('', 'ERRORS:', ...output.errors.map(e => `- ${e}`));
  return lines;
}

/**
 * The WebAssembly rows side by side: SIMD (`wasm`) and the scalar fallback
 * (`wasm-scalar`), GB/s of the copy, the fused and the composite variants
 * (wall time), and composite / fused.
 */
function wasmTable(cases: CaseResult[]): string[] {
  const rows = cases.filter(c => c.backend === 'wasm' || c.backend === 'wasm-scalar');
  if (!rows.length) return [];
  return [
    '',
    'WebAssembly, SIMD (wasm) and scalar fallback (wasm-scalar: WASM_HAS_SIMD_SUPPORT=false), ' +
      'GB/s by wall time, and composite / fused:',
    '',
    ...table(
      [
        'backend',
        'shape',
        ...variantHead.map(h => `${h} GB/s`),
        'comp/fused fwd',
        'comp/fused fwd+grad',
      ],
      ['---', '---', ...Array(7).fill('--:')],
      rows.map(c => {
        const bw = bandwidth(c);
        const q = ratiosOf(c);
        return [
          c.backend + (c.fusedKernels ? '' : ' (no fused kernels)'),
          label(c),
          ...VARIANTS.map(v => fmt(bw[v])),
          `${fmt(q.compositeOverFusedFwd)}x`,
          `${fmt(q.compositeOverFusedGrad)}x`,
        ];
      }),
    ),
  ];
}

/** The fused-block rows: wall ms per variant, then the ratios and GPU programs. */
function blockTables(blocks: BlockResult[]): string[] {
  if (!blocks.length) return [];
  const lines = [
    '',
    'Fused blocks, wall ms per call: the plain fused norm, the fused block, the fused norm ' +
      'followed by separate tfjs ops (norm + ops), the composite (tf.moments); forward and ' +
      'forward + gradient:',
    '',
    ...table(
      ['backend', 'block', ...BLOCK_VARIANTS.map(v => BLOCK_VARIANT_LABELS[v])],
      ['---', '---', ...Array(BLOCK_VARIANTS.length).fill('--:')],
      blocks.map(b => [
        b.backend + (b.fusedKernels ? '' : ' (no fused kernels)'),
        blockLabel(b as BlockCase),
        ...BLOCK_VARIANTS.map(v => fmt(b.ms[v])),
      ]),
    ),
    '',
    'Fused blocks, ratios (and GPU programs per fwd+grad call: norm / block / norm + ops / composite):',
    '',
  ];
  lines.push(
    ...table(
      [
        'backend',
        'block',
        'block / norm fwd+grad',
        'norm + ops / block fwd',
        'norm + ops / block fwd+grad',
        'composite / block fwd',
        'composite / block fwd+grad',
        'programs',
      ],
      ['---', '---', ...Array(6).fill('--:')],
      blocks.map(b => {
        const q = blockRatiosOf(b);
        const p = b.programs;
        return [
          b.backend,
          blockLabel(b as BlockCase),
          `${fmt(q.blockOverNormGrad)}x`,
          `${fmt(q.splitOverBlockFwd)}x`,
          `${fmt(q.splitOverBlockGrad)}x`,
          `${fmt(q.compositeOverBlockFwd)}x`,
          `${fmt(q.compositeOverBlockGrad)}x`,
          p
            ? [p.normGrad, p.blockGrad, p.splitGrad, p.compGrad].map(n => n ?? '–').join(' / ')
            : '–',
        ];
      }),
    ),
  );
  return lines;
}
