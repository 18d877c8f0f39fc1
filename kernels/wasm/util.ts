/**
 * The wasm backend's memory as typed arrays. A tensor of the wasm backend is
 * a block of the module's heap (`dataIdMap` holds its `memoryOffset`);
 * `typedArrayFromHeap` views it without a copy, and the kernels of this
 * folder write their outputs through such views, as tfjs' own JS-side wasm
 * kernels (Cast, Range, Slice) do.
 */
import type {DataType, NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

/**
 * A float32 view of the heap block of every input present, by input name
 * (absent optional inputs are absent here too).
 */
export function heapViews(
  backend: BackendWasm,
  inputs: NamedTensorInfoMap,
  kernelName: string,
): Record<string, Float32Array> {
  const views: Record<string, Float32Array> = {};
  for (const [name, info] of Object.entries(inputs)) {
    if (info == null) continue;
    if (info.dtype !== 'float32') {
      throw new Error(`${kernelName}: input '${name}' must be float32, but got ${info.dtype}.`);
    }
    views[name] = backend.typedArrayFromHeap(info) as Float32Array;
  }
  return views;
}

/**
 * Allocates float32 outputs of the given shapes on the heap, then calls
 * `write` with a view of each and returns the outputs (freed if `write`
 * throws). Every output is allocated before any view is taken, and `write`
 * takes its input views itself: an allocation can grow the wasm memory, which
 * detaches the views taken before it.
 */
export function writeFloat32Outputs(
  backend: BackendWasm,
  shapes: number[][],
  write: (views: Float32Array[]) => void,
): TensorInfo[] {
  const dtype: DataType = 'float32';
  const infos = shapes.map(shape => backend.makeOutput(shape, dtype));
  try {
    write(infos.map(info => backend.typedArrayFromHeap(info) as Float32Array));
  } catch (e) {
    for (const info of infos) backend.disposeData(info.dataId, true);
    throw e;
  }
  return infos;
}
