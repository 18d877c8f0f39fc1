/**
 * The kinds of program and the fields each kind fills: a tiled reduction
 * into partials, a fold (one workgroup per group), an elementwise pass over
 * x, and a fused pass (planFused). A program file adds its name, buffers and
 * WGSL.
 */
import type {BufferBinding, ComputeProgram} from './dispatch';
import {CoefficientOf, elementwiseMain} from './elementwise_snippet';
import type {NormGeometry} from '../../src/geometry';
import {fusedLoadType} from './fused_snippet';
import {dispatchOf, ELEMENTWISE_WORKGROUP_SIZE, ElementwisePlan, FusedPlan, Tiling} from './plan';
import {mainOverItems, statType, tileSnippet} from './tile_snippet';
import {fields, GEOMETRY_UNIFORMS, UniformField} from './uniforms';

export const TILING_UNIFORMS: readonly UniformField[] = [
  ...GEOMETRY_UNIFORMS,
  ...fields('i32', 'chunk', 'splits', 'tiles', 'items', 'itemsPerWorkgroup'),
];

/** Values of TILING_UNIFORMS. */
export function tilingValues(tiling: Tiling): object {
  return {...tiling.geometry, ...tiling};
}

/** The layout of the partials (PartialLayout), uniforms of every pass that reads them. */
export const PARTIAL_UNIFORMS: readonly UniformField[] = fields(
  'i32',
  'partialColumns',
  'partialsPerGroup',
  'partialChunk',
  'partialExtent',
);

/**
 * `fn partialAt(n, split, fieldCount, column)`, where field 0 of a column's
 * partial of (n, split) is, and `fn splitCount(split)`, the elements of x
 * that a column's chunk `split` sums.
 */
export function partialsSnippet(): string {
  return `
    fn partialAt(n : i32, split : i32, fieldCount : i32, column : i32) -> i32 {
      return ((n * uniforms.splits + split) * fieldCount) * uniforms.partialColumns + column;
    }

    fn splitCount(split : i32) -> f32 {
      return f32(min(uniforms.partialChunk, uniforms.partialExtent - split * uniforms.partialChunk));
    }
  `;
}

export const FOLD_UNIFORMS: readonly UniformField[] = [
  ...GEOMETRY_UNIFORMS,
  ...fields('i32', 'splits'),
  ...PARTIAL_UNIFORMS,
];

/** Values of FOLD_UNIFORMS for the partials of `tiling` over x of `geometry`. */
export function foldValues(geometry: NormGeometry, tiling: Tiling): object {
  return {...geometry, splits: tiling.splits, ...tiling.partials};
}

export const ELEMENTWISE_UNIFORMS: readonly UniformField[] = fields(
  'i32',
  'units',
  'spatial',
  'channels',
);

/**
 * A reduction pass writing the partials `[N, splits, fields, C]`: `snippets`
 * (functions) and `body` (run per work item, see mainOverItems) after the
 * tiling's WGSL.
 */
export function tiledProgram(
  tiling: Tiling,
  program: Pick<ComputeProgram, 'name' | 'inputs'> & {
    snippets: string[];
    body: string;
    uniforms?: readonly UniformField[];
    /** WGSL type of an element of the partials (default: the lanes' statistic, statType). */
    partialsType?: string;
  },
): ComputeProgram {
  return {
    name: program.name,
    inputs: program.inputs,
    code: [tileSnippet(tiling), ...program.snippets, mainOverItems(program.body)].join('\n'),
    workgroupSize: tiling.workgroupSize,
    dispatch: tiling.dispatch,
    outputs: [{name: 'partials', type: program.partialsType ?? statType(tiling)}],
    uniforms: program.uniforms ?? TILING_UNIFORMS,
  };
}

/**
 * A fused pass of `plan`: its lanes and dispatch; the first output is shaped
 * like x (loads of the plan's width), the others are per-(n, group) or
 * per-channel scalars.
 */
export function fusedProgram(
  plan: FusedPlan,
  program: Omit<ComputeProgram, 'workgroupSize' | 'dispatch' | 'outputs'> & {
    outputs: [string, ...string[]];
  },
): ComputeProgram {
  const [shaped, ...scalars] = program.outputs;
  return {
    ...program,
    workgroupSize: plan.lanes,
    dispatch: plan.dispatch,
    outputs: [
      {name: shaped, type: fusedLoadType(plan)},
      ...scalars.map(name => ({name, type: 'f32'})),
    ],
  };
}

/**
 * A fold pass: `lanes` per workgroup, one workgroup per group (per (n,
 * group) where `perInstance`, see foldMain), scalar outputs.
 */
export function foldProgram(
  geometry: NormGeometry,
  lanes: number,
  perInstance: boolean,
  program: Omit<ComputeProgram, 'workgroupSize' | 'dispatch' | 'outputs'> & {outputs: string[]},
): ComputeProgram {
  return {
    ...program,
    workgroupSize: lanes,
    dispatch: dispatchOf(perInstance ? geometry.batch * geometry.groups : geometry.groups),
    outputs: program.outputs.map(name => ({name, type: 'f32'})),
  };
}

/**
 * An elementwise pass writing `output` from `inputs` (shaped like x) and the
 * per-(n, c) coefficients `[N, rows, C]`; `body` as in elementwiseMain.
 */
export function elementwiseProgram(
  geometry: NormGeometry,
  plan: ElementwisePlan,
  program: {
    name: string;
    output: string;
    /** Inputs shaped like x. */
    inputs: string[];
    rows: number;
    /** Extra WGSL before compute (e.g. the activation). */
    snippets?: string[];
    body: (coefficient: CoefficientOf) => string;
    uniforms?: readonly UniformField[];
  },
): ComputeProgram {
  const load = plan.vector === 4 ? 'vec4<f32>' : 'f32';
  const coefficients: BufferBinding = {
    name: 'coefficients',
    type: geometry.dataFormat === 'channelsLast' ? load : 'f32',
  };
  return {
    name: program.name,
    workgroupSize: ELEMENTWISE_WORKGROUP_SIZE,
    dispatch: plan.dispatch,
    outputs: [{name: program.output, type: load}],
    inputs: [...program.inputs.map(name => ({name, type: load})), coefficients],
    uniforms: program.uniforms ?? ELEMENTWISE_UNIFORMS,
    code: [
      ...(program.snippets ?? []),
      elementwiseMain(geometry, plan, program.rows, program.body),
    ].join('\n'),
  };
}
