import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {
  InstanceNormGrad,
  InstanceNormGradAttrs,
  InstanceNormGradInputs,
} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {expandGroups, float32Values, forEachRow, perInstanceChannel, sumOverGroups} from './util';

/**
 * With xhat = (x - mean) * invStd, u = gamma * dy and M elements per
 * (instance, group):
 *   dx = invStd * (u - sum(u) / M - xhat * sum(u * xhat) / M)
 *   dgamma = sum over instances and pixels of dy * xhat, dbeta of dy,
 * where the group sums are sums over the group's channels of gamma times the
 * per-(instance, channel) sums of dy and dy * xhat, accumulated in float64.
 *
 * The saved mean is float32: at an offset of 1e4 it is off by up to half an
 * ulp (~5e-4), which shifts every xhat of the group by the same amount.
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
  const groups = attrs.groups ?? channels;
  const groupSize = (spatial * channels) / groups;
  const dy = float32Values(backend, inputs.dy);
  const x = float32Values(backend, inputs.x);
  const gamma = perInstanceChannel(
    layout,
    inputs.gamma ? float32Values(backend, inputs.gamma) : null,
    1,
  );
  const mean = expandGroups(layout, groups, float32Values(backend, inputs.mean));
  const invStd = expandGroups(layout, groups, float32Values(backend, inputs.invStd));

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
  const xhatShift = expandGroups(
    layout,
    groups,
    sumOverGroups(layout, groups, sumXhat).map(total => total / groupSize),
  );
  const sumU = new Float64Array(stats);
  const sumUXhat = new Float64Array(stats);
  for (let nc = 0; nc < stats; nc++) {
    sumDyXhat[nc] -= xhatShift[nc] * sumDy[nc];
    sumU[nc] = gamma[nc] * sumDy[nc];
    sumUXhat[nc] = gamma[nc] * sumDyXhat[nc];
  }
  const groupSumU = expandGroups(layout, groups, sumOverGroups(layout, groups, sumU));
  const groupSumUXhat = expandGroups(layout, groups, sumOverGroups(layout, groups, sumUXhat));

  const dx = new Float32Array(x.length);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      const i = offset + j;
      const xhat = (x[i] - mean[nc]) * invStd[nc] - xhatShift[nc];
      dx[i] =
        invStd[nc] * (gamma[nc] * dy[i] - (groupSumU[nc] + xhat * groupSumUXhat[nc]) / groupSize);
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
