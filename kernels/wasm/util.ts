/**
 * The wasm backend's memory as typed arrays. A tensor of the wasm backend is
 * a block of the module's heap (`dataIdMap` holds its `memoryOffset`);
 * `typedArrayFromHeap` views it without a copy, and the kernels of this
 * folder write their outputs through such views, as tfjs' own JS-side wasm
 * kernels (Cast, Range, Slice) do.
 */
import type {DataType, TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

/** A float32 view of a tensor's block of the heap (null for an absent input). */
export function heapFloat32(
  backend: BackendWasm,
  info: TensorInfo,
  kernelName: string,
  name: string,
): Float32Array;
export function heapFloat32(
  backend: BackendWasm,
  info: TensorInfo | undefined,
  kernelName: string,
  name: string,
): Float32Array | null;
export function heapFloat32(
  backend: BackendWasm,
  info: TensorInfo | undefined,
  kernelName: string,
  name: string,
): Float32Array | null {
  if (info == null) return null;
  if (info.dtype !== 'float32') {
    throw new Error(`${kernelName}: input '${name}' must be float32, but got ${info.dtype}.`);
  }
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/**
 * Allocates float32 outputs on the heap and returns them with their views.
 * Every output is allocated before any view is taken: an allocation can grow
 * the wasm memory, which detaches the views taken before it (input views too,
 * so the caller takes those after this call).
 */
export function makeFloat32Outputs(
  backend: BackendWasm,
  shapes: number[][],
): {infos: TensorInfo[]; views: Float32Array[]} {
  const dtype: DataType = 'float32';
  const infos = shapes.map(shape => backend.makeOutput(shape, dtype));
  const views = infos.map(info => backend.typedArrayFromHeap(info) as Float32Array);
  return {infos, views};
}

/** Frees outputs made by {@link makeFloat32Outputs} when a kernel fails after. */
export function disposeOutputs(backend: BackendWasm, infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId, true);
}
