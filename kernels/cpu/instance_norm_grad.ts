import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {float32Values, forEachRow, perInstanceChannel} from './util';

/**
 * With xhat = (x - mean) * invStd and S pixels per (instance, channel):
 *   dx = gamma * invStd * (dy - sum(dy) / S - xhat * sum(dy * xhat) / S)
 *   dgamma = sum over instances and pixels of dy * xhat, dbeta of dy.
 * The sums per (instance, channel) are accumulated in float64.
 *
 * The saved mean is float32: at an offset of 1e4 it is off by up to half an
 * ulp (~5e-4), which shifts every xhat of the channel by the same amount.
 * Summing xhat as well recovers that shift (the true xhat has mean zero) and
 * removes it, so dx and dgamma keep float32 accuracy at any offset.
 */
function instanceNormGradCpu(args: {
  inputs: InstanceNormGradInputs;
  backend: MathBackendCPU;
  attrs: InstanceNormGradAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const layout = instanceNormLayout(inputs.x.shape, attrs.dataFormat);
  const {batch, spatial, channels} = layout;
  const dy = float32Values(backend, inputs.dy);
  const x = float32Values(backend, inputs.x);
  const gamma = inputs.gamma ? float32Values(backend, inputs.gamma) : null;
  const mean = float32Values(backend, inputs.mean);
  const invStd = float32Values(backend, inputs.invStd);

  const stats = batch * channels;
  const sumDy = new Float64Array(stats);
  const sumDyXhat = new Float64Array(stats);
  const sumXhat = new Float64Array(stats);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      const i = offset + j;
      const xhat = (x[i] - mean[nc]) * invStd[nc];
      sumDy[nc] += dy[i];
      sumDyXhat[nc] += dy[i] * xhat;
      sumXhat[nc] += xhat;
    }
  });
  const xhatShift = new Float64Array(stats);
  for (let nc = 0; nc < stats; nc++) {
    xhatShift[nc] = sumXhat[nc] / spatial;
    sumDyXhat[nc] -= xhatShift[nc] * sumDy[nc];
  }

  const scale = perInstanceChannel(layout, gamma, 1);
  for (let nc = 0; nc < stats; nc++) {
    scale[nc] *= invStd[nc];
  }
  const dx = new Float32Array(x.length);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      const i = offset + j;
      const xhat = (x[i] - mean[nc]) * invStd[nc] - xhatShift[nc];
      dx[i] = scale[nc] * (dy[i] - (sumDy[nc] + xhat * sumDyXhat[nc]) / spatial);
    }
  });
  const dgamma = new Float32Array(channels);
  const dbeta = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let g = 0;
    let b = 0;
    for (let n = 0; n < batch; n++) {
      g += sumDyXhat[n * channels + c];
      b += sumDy[n * channels + c];
    }
    dgamma[c] = g;
    dbeta[c] = b;
  }
  return [
    backend.makeTensorInfo(inputs.x.shape, 'float32', dx),
    backend.makeTensorInfo([channels], 'float32', dgamma),
    backend.makeTensorInfo([channels], 'float32', dbeta),
  ];
}

export const instanceNormGradCpuConfig: KernelConfig = {
  kernelName: InstanceNormGrad,
  backendName: 'cpu',
  kernelFunc: instanceNormGradCpu as unknown as KernelFunc,
};
