/**
 * The wasm backend's memory as typed arrays. A tensor of the wasm backend is
 * a block of the module's heap; `typedArrayFromHeap` views it without a copy,
 * and the float64 loops write their outputs through such views, as tfjs' own
 * JS-side wasm kernels (Cast, Range, Slice) do.
 */
import type {DataType, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {checkFloat32, Float32Views, Float64Memory} from '../float64/memory';

export const wasmMemory: Float64Memory<BackendWasm> = {
  views(backend: BackendWasm, inputs: NamedTensorInfoMap, kernelName: string): Float32Views {
    const views: Float32Views = {};
    for (const [name, info] of Object.entries(inputs)) {
      if (info == null) continue;
      checkFloat32(info, name, kernelName);
      views[name] = backend.typedArrayFromHeap(info) as Float32Array;
    }
    return views;
  },
  // Every output is allocated before any view is taken: an allocation can
  // grow the wasm memory, which detaches the views taken before it.
  outputs(backend, shapes, write): TensorInfo[] {
    const dtype: DataType = 'float32';
    const infos = shapes.map(shape => backend.makeOutput(shape, dtype));
    try {
      write(infos.map(info => backend.typedArrayFromHeap(info) as Float32Array));
    } catch (e) {
      for (const info of infos) backend.disposeData(info.dataId, true);
      throw e;
    }
    return infos;
  },
};
