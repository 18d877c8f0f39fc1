/**
 * The tables of the batch / layer norm rows (family.ts), their training steps
 * (family_training.ts) and, where a run merged one, PyTorch's record of the
 * same machine (torch_bench.py) beside them.
 */
import type {FamilyResult} from './family';
import {FAMILY_VARIANT_LABELS, FAMILY_VARIANTS} from './family_cases';
import type {FamilyTrainingResult} from './family_training';
import {fmt} from './report';

/** What torch_bench.py writes (the parts these tables read). */
export interface TorchRecord {
  torch: string;
  gpu: string;
  cases: {label: string; copy: number; fwd: number; fwdbwd: number}[];
  blocks: {label: string; normFwd: number; blockFwd: number; normGrad: number; blockGrad: number}[];
  family: {label: string; copy: number; fwd: number; fwdbwd: number}[];
  training: {net: string; layout: string; instanceNorm: number; none: number}[];
  familyTraining: {net: string; layout?: string; norm: number; none: number}[];
}

const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '–' : `${fmt(a / b)}x`;

export function familyReport(
  family: FamilyResult[],
  training: FamilyTrainingResult[],
  torch?: TorchRecord,
): string[] {
  const lines: string[] = [];
  if (family.length) {
    const torchOf = (label: string) => torch?.family.find(t => t.label === label);
    const torchHead = torch ? ['PyTorch fwd', 'PyTorch fwd+bwd'] : [];
    for (const [what, key] of [
      ['Wall ms per call (K calls, one sync; median of rounds)', 'ms'],
      ['tf.time kernel ms per call (median)', 'kernelMs'],
    ] as const) {
      const rows = family.filter(f => Object.keys(f[key]).length > 0);
      if (!rows.length) continue;
      lines.push(
        '',
        `Batch / layer norm, ${what}; tf.layers = tfjs-layers' own layer, training:`,
        '',
        row([
          'backend',
          'row',
          ...FAMILY_VARIANTS.map(v => FAMILY_VARIANT_LABELS[v]),
          'tf.layers/op fwd+grad',
          'tf.layers/fused layer fwd+grad',
          ...torchHead,
        ]),
        `|---|---|${Array(9 + torchHead.length)
          .fill('--:')
          .join('|')}|`,
      );
      for (const f of rows) {
        const m = f[key];
        const t = torchOf(f.label);
        lines.push(
          row([
            f.backend,
            f.label,
            ...FAMILY_VARIANTS.map(v => fmt(m[v])),
            ratio(m.tfjsGrad, m.opGrad),
            ratio(m.tfjsGrad, m.fusedGrad),
            ...(torch ? [fmt(t?.fwd), fmt(t?.fwdbwd)] : []),
          ]),
        );
      }
    }
    const counted = family.filter(f => f.programs);
    if (counted.length) {
      lines.push(
        '',
        'GPU programs per call:',
        '',
        row(['backend', 'row', ...FAMILY_VARIANTS.map(v => FAMILY_VARIANT_LABELS[v])]),
        `|---|---|${Array(FAMILY_VARIANTS.length).fill('--:').join('|')}|`,
        ...counted.map(f =>
          row([f.backend, f.label, ...FAMILY_VARIANTS.map(v => String(f.programs?.[v] ?? '–'))]),
        ),
      );
    }
  }
  if (training.length) {
    const torchHead = torch ? ['PyTorch norm', 'PyTorch none'] : [];
    lines.push(
      '',
      'Batch / layer norm training step, ms per trainOnBatch (Adam, MSE; median of rounds):',
      '',
      row([
        'backend',
        'net',
        'input',
        'tf.layers norms',
        'fused norms',
        'no norm',
        'tf.layers/fused',
        'tf.layers norms over none',
        'fused norms over none',
        ...torchHead,
      ]),
      `|---|---|---|${Array(6 + torchHead.length)
        .fill('--:')
        .join('|')}|`,
    );
    for (const t of training) {
      const {tfjs, fused, none} = t.msPerStep;
      const over = (a: number | undefined) =>
        a === undefined || none === undefined ? '–' : `${fmt(((a - none) / none) * 100)}%`;
      const p = torch?.familyTraining.find(r => r.net === t.net && (r.layout ?? 'nchw') === 'nchw');
      lines.push(
        row([
          t.backend,
          `${t.net} (${t.norms} norms)`,
          t.input.join('x'),
          fmt(tfjs),
          fmt(fused),
          fmt(none),
          ratio(tfjs, fused),
          over(tfjs),
          over(fused),
          ...(torch ? [fmt(p?.norm), fmt(p?.none)] : []),
        ]),
      );
    }
  }
  return lines;
}

/** PyTorch's rows of the instance / group norm shapes, blocks and style net. */
export function torchReport(torch: TorchRecord): string[] {
  return [
    '',
    `PyTorch ${torch.torch} on ${torch.gpu} (CUDA events, ms per call), same run:`,
    '',
    '| row | copy | fwd | fwd+bwd |',
    '|---|--:|--:|--:|',
    ...torch.cases.map(c => row([c.label, fmt(c.copy), fmt(c.fwd), fmt(c.fwdbwd)])),
    ...torch.family.map(c => row([c.label, fmt(c.copy), fmt(c.fwd), fmt(c.fwdbwd)])),
    '',
    '| block | norm fwd | block fwd | norm fwd+bwd | block fwd+bwd |',
    '|---|--:|--:|--:|--:|',
    ...torch.blocks.map(b =>
      row([b.label, fmt(b.normFwd), fmt(b.blockFwd), fmt(b.normGrad), fmt(b.blockGrad)]),
    ),
    '',
    '| training step | layout | with norms | no norm |',
    '|---|---|--:|--:|',
    ...torch.training.map(t => row([`${t.net}`, t.layout, fmt(t.instanceNorm), fmt(t.none)])),
    ...torch.familyTraining.map(t => row([t.net, t.layout ?? 'nchw', fmt(t.norm), fmt(t.none)])),
  ];
}
