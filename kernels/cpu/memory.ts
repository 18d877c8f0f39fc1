import type {NamedTensorInfoMap, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {checkFloat32, Float32Views, Float64Memory} from '../float64/memory';

/** The cpu backend's own arrays, lent to the float64 loops without a copy. */
export const cpuMemory: Float64Memory<MathBackendCPU> = {
  views(backend: MathBackendCPU, inputs: NamedTensorInfoMap, kernelName: string): Float32Views {
    const views: Float32Views = {};
    for (const [name, info] of Object.entries(inputs)) {
      if (info == null) continue;
      checkFloat32(info, name, kernelName);
      views[name] = backend.data.get(info.dataId).values as Float32Array;
    }
    return views;
  },
  outputs(backend, shapes, write): TensorInfo[] {
    const arrays = shapes.map(shape => new Float32Array(shape.reduce((a, b) => a * b, 1)));
    write(arrays);
    return arrays.map((values, i) => backend.makeTensorInfo(shapes[i], 'float32', values));
  },
};
