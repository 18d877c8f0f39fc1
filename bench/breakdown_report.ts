/** The style-net step breakdown's record (breakdown.ts measures it) and its table. */
import type {NormKind} from './training';

export const PHASES = ['step', 'forward', 'fwdGrad', 'adamAll', 'adamNorm'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseTiming {
  hostMs: number;
  wallMs: number;
  gpuMs?: number;
}

export interface KernelGroup {
  group: 'conv' | 'norm' | 'other';
  count: number;
  ms: number;
}

export interface NetBreakdown {
  kind: NormKind;
  norms: number;
  /** Variables of the norm layers (gamma and beta of each). */
  normVariables: number;
  phases: Partial<Record<Phase, PhaseTiming>>;
  /** tf.profile of one fwdGrad, by kernel group; the whole list by name in `kernels`. */
  groups: KernelGroup[];
  kernels: {name: string; count: number; ms: number}[];
  /** GPU programs one fwdGrad runs (WebGPU dispatches, WebGL draws). */
  programs?: number;
  normLayerHostMs?: number;
}

export interface BreakdownResult {
  backend: string;
  size: number;
  samples: number;
  nets: NetBreakdown[];
  /** block minus none, per phase (host, GPU ms). */
  normCost: Partial<Record<Phase, {hostMs: number; gpuMs?: number}>>;
}

const f2 = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(2);

/** The breakdown as Markdown lines. */
export function breakdownReport(r: BreakdownResult): string[] {
  const lines = [
    `Style-net step breakdown (${r.backend}, 1x${r.size}x${r.size}x3, Adam; host = JS time to ` +
      `issue, wall = issue + sync, GPU = tf.time kernel ms; median of ${r.samples}):`,
    '',
    '| phase | fused IN+ReLU host | wall | GPU | no norm host | wall | GPU | norms host | norms GPU |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const [block, none] = r.nets;
  for (const p of PHASES) {
    const a = block.phases[p];
    const b = none.phases[p];
    const d = r.normCost[p];
    lines.push(
      `| ${p} | ${f2(a?.hostMs)} | ${f2(a?.wallMs)} | ${f2(a?.gpuMs)} | ${f2(b?.hostMs)} | ` +
        `${f2(b?.wallMs)} | ${f2(b?.gpuMs)} | ${f2(d?.hostMs)} | ${f2(d?.gpuMs)} |`,
    );
  }
  lines.push(
    '',
    'tf.profile of one fwdGrad, kernel ms by group (count):',
    '',
    '| net | conv | norm kernels | other | GPU programs | host ms in norm layers (fwd) |',
    '|---|--:|--:|--:|--:|--:|',
  );
  for (const n of r.nets) {
    const g = (name: KernelGroup['group']) => {
      const x = n.groups.find(k => k.group === name);
      return x ? `${f2(x.ms)} (${x.count})` : '–';
    };
    lines.push(
      `| ${n.kind} (${n.norms} norms, ${n.normVariables} norm variables) | ${g('conv')} | ` +
        `${g('norm')} | ${g('other')} | ${n.programs ?? '–'} | ${f2(n.normLayerHostMs)} |`,
    );
  }
  return lines;
}
