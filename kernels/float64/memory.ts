import type {NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';

/**
 * How a CPU-side backend lends its memory to the float64 loops of this
 * folder: cpu hands out its own arrays, wasm views of its heap.
 */
export interface Float64Memory<Backend> {
  /**
   * A float32 view of every input present, by input name; throws for an input
   * that is not float32. Taken only after every output is made (on wasm an
   * allocation can move the heap and detach earlier views).
   */
  views(backend: Backend, inputs: NamedTensorInfoMap, kernelName: string): Float32Views;
  /**
   * Makes float32 outputs of these shapes, calls `write` with a view of each,
   * and returns them (freeing them if `write` throws).
   */
  outputs(
    backend: Backend,
    shapes: number[][],
    write: (views: Float32Array[]) => void,
  ): TensorInfo[];
}

export type Float32Views = Record<string, Float32Array>;

/** A float32 check shared by the backends' `views`. */
export function checkFloat32(info: TensorInfo, name: string, kernelName: string): void {
  if (info.dtype !== 'float32') {
    throw new Error(`${kernelName}: input '${name}' must be float32, but got ${info.dtype}.`);
  }
}
