import {env} from '@tensorflow/tfjs-core';
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {DataFormat} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {Chunking, chooseChunking, Geometry, geometry} from './shader_snippets';

/**
 * Whether to run the packed programs: x is stored packed, or not yet on the
 * GPU while the backend packs (WEBGL_PACK, the default), so it is uploaded
 * packed. Otherwise (WEBGL_PACK=false, or x from an unpacked op) the
 * unpacked programs read it without conversion.
 */
export function prefersPacked(backend: MathBackendWebGL, x: TensorInfo): boolean {
  const data = backend.texData.get(x.dataId);
  return data.isPacked === true || (data.texture == null && env().getBool('WEBGL_PACK'));
}

/**
 * A tensor of the shape of x in the view the programs read (Geometry). A
 * packed texture viewed as `[B, R, Cc]` keeps its layout; the backend
 * packs an unpacked one for the packed path. An unpacked texture is laid out
 * by flat index, so the 3-D view is free; a packed one going to the unpacked
 * path is unpacked here with its own shape, one pass (given the view's shape,
 * the backend would first re-pack it into the view's layout, then unpack);
 * the copy is added to `intermediates`.
 */
export function viewOf(
  backend: MathBackendWebGL,
  input: TensorInfo,
  g: Geometry,
  intermediates: TensorInfo[],
): TensorInfo {
  let source = input;
  if (!g.packed && backend.texData.get(input.dataId).isPacked) {
    source = backend.unpackTensor(input);
    intermediates.push(source);
  }
  return {dataId: source.dataId, shape: g.viewShape.slice(), dtype: source.dtype};
}

/**
 * An output computed in the view, returned in the shape of x: free, as the
 * view is reshape-free for both storages (as the backend's own Reshape does).
 */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return {dataId: info.dataId, shape: shape.slice(), dtype: info.dtype};
}

export function disposeAll(backend: MathBackendWebGL, infos: TensorInfo[]): void {
  for (const info of infos) {
    backend.disposeIntermediateTensorInfo(info);
  }
}

/**
 * The geometry (layout, packed or not, WebGL version) and the chunking of x
 * that the forward and the gradient kernel both plan their programs from.
 */
export function planFor(
  backend: MathBackendWebGL,
  x: TensorInfo,
  dataFormat: DataFormat,
): {g: Geometry; chunking: Chunking} {
  const layout = instanceNormLayout(x.shape, dataFormat);
  const g = geometry(x.shape, layout, prefersPacked(backend, x), env().getNumber('WEBGL_VERSION'));
  return {g, chunking: chooseChunking(g)};
}
