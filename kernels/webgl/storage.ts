/**
 * How the kernels hand textures to programs and back: views of x, outputs
 * in x's shape, intermediates kept packed and freed.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {GPGPUProgram, MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {Geometry} from './plan';

/**
 * A tensor of the shape of x in the view the programs read
 * (Geometry.viewShape). A packed texture viewed as `[B, R, Cc]` keeps its
 * layout; the backend packs an unpacked one for the packed path. An unpacked
 * texture is laid out by flat index, so the 3-D view is free; a packed one
 * going to the unpacked path is unpacked here with its own shape, one pass
 * (given the view's shape, the backend would first re-pack it into the
 * view's layout, then unpack); the copy is added to `intermediates`.
 */
export function viewOf(
  backend: MathBackendWebGL,
  input: TensorInfo,
  geometry: Geometry,
  intermediates: TensorInfo[],
): TensorInfo {
  let source = input;
  if (!geometry.packed && backend.texData.get(input.dataId).isPacked) {
    source = backend.unpackTensor(input);
    intermediates.push(source);
  }
  return {dataId: source.dataId, shape: geometry.viewShape.slice(), dtype: source.dtype};
}

/**
 * An output computed in the view, returned in the shape of x: free, as the
 * view is reshape-free for both storages (as the backend's own Reshape does).
 */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return {dataId: info.dataId, shape: shape.slice(), dtype: info.dtype};
}

/**
 * Runs a program whose output feeds other programs only, and records it in
 * `intermediates`. Its output stays packed even when WEBGL_LAZILY_UNPACK is
 * off (WEBGL_PACK=false): the next program reads it as RGBA texels.
 */
export function runIntermediate(
  backend: MathBackendWebGL,
  program: GPGPUProgram,
  inputs: TensorInfo[],
  intermediates: TensorInfo[],
  uniformValues?: number[][],
): TensorInfo {
  const keepPacked = true;
  const output = backend.runWebGLProgram(program, inputs, 'float32', uniformValues, keepPacked);
  intermediates.push(output);
  return output;
}

export function disposeAll(backend: MathBackendWebGL, infos: TensorInfo[]): void {
  for (const info of infos) {
    backend.disposeIntermediateTensorInfo(info);
  }
}
