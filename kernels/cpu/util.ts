import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import type {InstanceNormLayout} from '../../src/layout';

export function float32Values(backend: MathBackendCPU, info: TensorInfo): Float32Array {
  return backend.data.get(info.dataId).values as Float32Array;
}

/**
 * Visits every element of x in memory order with its flat index, its
 * (instance, channel) statistics index `n * C + c` and its channel c.
 */
export function forEachElement(
    layout: InstanceNormLayout, visit: (i: number, nc: number, c: number) => void): void {
  const {batch, spatial, channels} = layout;
  let i = 0;
  if (layout.dataFormat === 'channelsLast') {
    for (let n = 0; n < batch; n++) {
      for (let s = 0; s < spatial; s++) {
        for (let c = 0; c < channels; c++) {
          visit(i++, n * channels + c, c);
        }
      }
    }
  } else {
    for (let n = 0; n < batch; n++) {
      for (let c = 0; c < channels; c++) {
        const nc = n * channels + c;
        for (let s = 0; s < spatial; s++) {
          visit(i++, nc, c);
        }
      }
    }
  }
}
