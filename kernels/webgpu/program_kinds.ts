/**
 * The tiled reduction into partials that both kernels start with: the
 * fields it fills. A program file adds its name, buffers and WGSL.
 */
import type {ComputeProgram} from './dispatch';
import type {Tiling} from './plan';
import {mainOverItems, statType, tileSnippet} from './tile_snippet';
import {fields, GEOMETRY_UNIFORMS, UniformField} from './uniforms';

export const TILING_UNIFORMS: readonly UniformField[] = [
  ...GEOMETRY_UNIFORMS,
  ...fields('i32', 'chunk', 'splits', 'tiles', 'items', 'itemsPerGroup'),
];

/** Values of TILING_UNIFORMS. */
export function tilingValues(tiling: Tiling): object {
  return {...tiling.geometry, ...tiling};
}

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
  },
): ComputeProgram {
  return {
    name: program.name,
    inputs: program.inputs,
    code: [tileSnippet(tiling), ...program.snippets, mainOverItems(program.body)].join('\n'),
    workgroupSize: tiling.workgroupSize,
    dispatch: tiling.dispatch,
    outputs: [{name: 'partials', type: statType(tiling)}],
    uniforms: program.uniforms ?? TILING_UNIFORMS,
  };
}
