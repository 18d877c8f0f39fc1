/**
 * How the kernels hand textures to programs and back: views of x, inputs
 * picked by name, outputs in x's shape, intermediates kept packed.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {GPGPUProgram, MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {View} from './plan';

/**
 * A tensor of the shape of x in the view the programs read
 * (View.viewShape). A packed texture viewed as `[B, R, Cc]` keeps its
 * layout; the backend packs an unpacked one for the packed family. An
 * unpacked texture is laid out by flat index, so the 3-D view is free; a
 * packed one going to the unpacked family is unpacked here with its own
 * shape, one pass (given the view's shape, the backend would first re-pack
 * it into the view's layout, then unpack); the copy is added to
 * `intermediates`.
 */
export function viewOf(
  backend: MathBackendWebGL,
  input: TensorInfo,
  seen: View,
  intermediates: TensorInfo[],
): TensorInfo {
  let source = input;
  if (!seen.packed && backend.texData.get(input.dataId).isPacked) {
    source = backend.unpackTensor(input);
    intermediates.push(source);
  }
  return {dataId: source.dataId, shape: seen.viewShape.slice(), dtype: source.dtype};
}

/**
 * An output computed in the view, returned in the shape of x: free, as the
 * view is reshape-free for both storages (as the backend's own Reshape does).
 */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return {dataId: info.dataId, shape: shape.slice(), dtype: info.dtype};
}

/** The tensors a kernel can hand its programs, by the names programs declare. */
export type NamedInputs = Record<string, TensorInfo | undefined>;

/**
 * Runs `program` on the inputs it declares (`variableNames`, looked up in
 * `named`), with `uniforms` when it declares custom ones. An intermediate
 * (`intermediates` given) feeds other programs only and is recorded there
 * for the kernel's `finally`; its output stays packed even when
 * WEBGL_LAZILY_UNPACK is off (WEBGL_PACK=false): the next program reads it
 * as RGBA texels.
 */
export function run(
  backend: MathBackendWebGL,
  program: GPGPUProgram,
  named: NamedInputs,
  uniforms: number[][],
  intermediates?: TensorInfo[],
): TensorInfo {
  const inputs = program.variableNames.map(name => {
    const input = named[name];
    if (input == null) throw new Error(`webgl program input '${name}' is missing.`);
    return input;
  });
  const values = program.customUniforms != null ? uniforms : undefined;
  const keepPacked = intermediates != null;
  const output = backend.runWebGLProgram(program, inputs, 'float32', values, keepPacked);
  intermediates?.push(output);
  return output;
}
