/**
 * What the batch / layer norm rows time (family.ts) and the sizes of their
 * training nets (family_training.ts): plain data, shared by the benches, the
 * driver and the tables (torch_bench.py repeats the shapes and labels).
 */
export type FamilyOp = 'batchNorm' | 'layerNorm';

export interface FamilyCase {
  op: FamilyOp;
  /** BN: NHWC; LN: normalized over the last axis. */
  shape: number[];
}

/** The shapes users train: ResNet stages (BN) and transformer rows (LN). */
export const FAMILY_CASES: FamilyCase[] = [
  {op: 'batchNorm', shape: [32, 56, 56, 64]},
  {op: 'batchNorm', shape: [8, 28, 28, 256]},
  {op: 'batchNorm', shape: [64, 7, 7, 1024]},
  {op: 'layerNorm', shape: [4096, 768]},
  {op: 'layerNorm', shape: [512, 1024]},
  {op: 'layerNorm', shape: [8, 197, 384]},
];

/** --quick: one of each, small enough for SwiftShader and the cpu backends. */
export const QUICK_FAMILY_CASES: FamilyCase[] = [
  {op: 'batchNorm', shape: [4, 14, 14, 64]},
  {op: 'layerNorm', shape: [256, 384]},
];

export const FAMILY_VARIANTS = [
  'copy',
  'opFwd',
  'tfjsFwd',
  'fusedFwd',
  'opGrad',
  'tfjsGrad',
  'fusedGrad',
] as const;
export type FamilyVariant = (typeof FAMILY_VARIANTS)[number];

export const FAMILY_VARIANT_LABELS: Record<FamilyVariant, string> = {
  copy: 'copy',
  opFwd: 'fused op fwd',
  tfjsFwd: 'tf.layers fwd',
  fusedFwd: 'fused layer fwd',
  opGrad: 'fused op fwd+grad',
  tfjsGrad: 'tf.layers fwd+grad',
  fusedGrad: 'fused layer fwd+grad',
};

/** `BN 32x56x56x64`, `LN 4096x768`: the label of a row (torch_bench.py uses the same). */
export const familyLabel = (c: FamilyCase): string =>
  `${c.op === 'batchNorm' ? 'BN' : 'LN'} ${c.shape.join('x')}`;

export const FAMILY_NORMS = ['tfjs', 'fused', 'none'] as const;
export type FamilyNormKind = (typeof FAMILY_NORMS)[number];
export type FamilyNet = 'bnCnn' | 'lnMixer';

export interface FamilyTrainingConfig {
  /** bnCnn: [batch, size, size, 3]. */
  cnn: {batch: number; size: number};
  /** lnMixer: [batch, tokens, dim]. */
  mixer: {batch: number; tokens: number; dim: number};
  warmupSteps: number;
  rounds: number;
  steps: number;
}

export const FAMILY_TRAINING: FamilyTrainingConfig = {
  cnn: {batch: 32, size: 32},
  mixer: {batch: 16, tokens: 64, dim: 256},
  warmupSteps: 2,
  rounds: 5,
  steps: 3,
};

/** SwiftShader and the cpu backends: the same nets on small inputs. */
export const QUICK_FAMILY_TRAINING: FamilyTrainingConfig = {
  cnn: {batch: 4, size: 16},
  mixer: {batch: 2, tokens: 16, dim: 64},
  warmupSteps: 1,
  rounds: 2,
  steps: 1,
};
