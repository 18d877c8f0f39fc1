import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {InstanceNormLayout} from '../../src/layout';
import {viewShape} from './programs';

/**
 * A tensor of the shape of x seen as its 3-D view, for the programs. An
 * unpacked texture is laid out by flat index, so the view is free. A packed
 * texture's layout depends on its shape, so it is unpacked first, with its
 * own shape (the backend would otherwise unpack it as the 3-D shape); the
 * unpacked copy is added to `intermediates` for the caller to dispose.
 */
export function view3d(
    backend: MathBackendWebGL, input: TensorInfo, layout: InstanceNormLayout,
    intermediates: TensorInfo[]): TensorInfo {
  let source = input;
  if (backend.texData.get(input.dataId).isPacked) {
    source = backend.unpackTensor(input);
    intermediates.push(source);
  }
  return {dataId: source.dataId, shape: viewShape(layout), dtype: source.dtype};
}

/** An output computed in the 3-D view, returned in the shape of x (free: unpacked). */
export function withShape(info: TensorInfo, shape: number[]): TensorInfo {
  return {dataId: info.dataId, shape: shape.slice(), dtype: info.dtype};
}

export function disposeAll(backend: MathBackendWebGL, infos: TensorInfo[]): void {
  for (const info of infos) {
    backend.disposeIntermediateTensorInfo(info);
  }
}
