import type {KernelConfig, KernelFunc, TensorInfo} from '@tensorflow/tfjs-core';
import type {MathBackendCPU} from '@tensorflow/tfjs-backend-cpu';

import {InstanceNorm, InstanceNormAttrs, InstanceNormInputs} from '../../src/kernel_names';
import {instanceNormLayout} from '../../src/layout';
import {expandGroups, float32Values, forEachRow, perInstanceChannel, sumOverGroups} from './util';

/**
 * Two-pass statistics in float64 per (instance, group): the mean first, then
 * the squared deviations from it, so an offset of 1e4 or a constant group is
 * exact. Sums are taken per (instance, channel), then over each group's
 * channels (groups = C, the default, is instance norm).
 */
function instanceNormCpu(args: {
  inputs: InstanceNormInputs;
  backend: MathBackendCPU;
  attrs: InstanceNormAttrs;
}): TensorInfo[] {
  const {inputs, backend, attrs} = args;
  const {epsilon, dataFormat} = attrs;
  const layout = instanceNormLayout(inputs.x.shape, dataFormat);
  const {batch, spatial, channels} = layout;
  const groups = attrs.groups ?? channels;
  const groupSize = (spatial * channels) / groups;
  const x = float32Values(backend, inputs.x);
  const gamma = inputs.gamma ? float32Values(backend, inputs.gamma) : null;
  const beta = inputs.beta ? float32Values(backend, inputs.beta) : null;

  const stats = batch * channels;
  const sum = new Float64Array(stats);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      sum[nc] += x[offset + j];
    }
  });
  const groupMean = sumOverGroups(layout, groups, sum).map(total =>
    groupSize > 0 ? total / groupSize : 0,
  );
  const mean = expandGroups(layout, groups, groupMean);
  const squaredDeviations = new Float64Array(stats);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      const d = x[offset + j] - mean[nc];
      squaredDeviations[nc] += d * d;
    }
  });
  const groupInvStd = sumOverGroups(layout, groups, squaredDeviations).map(
    total => 1 / Math.sqrt((groupSize > 0 ? total / groupSize : 0) + epsilon),
  );
  const invStd = expandGroups(layout, groups, groupInvStd);

  // y = (x - mean) * (invStd * gamma) + beta, with both factors per (n, c).
  const scale = perInstanceChannel(layout, gamma, 1);
  const shift = perInstanceChannel(layout, beta, 0);
  for (let nc = 0; nc < stats; nc++) {
    scale[nc] *= invStd[nc];
  }
  const y = new Float32Array(x.length);
  forEachRow(layout, (offset, length, nc0, ncStep) => {
    for (let j = 0, nc = nc0; j < length; j++, nc += ncStep) {
      y[offset + j] = (x[offset + j] - mean[nc]) * scale[nc] + shift[nc];
    }
  });
  return [
    backend.makeTensorInfo(inputs.x.shape, 'float32', y),
    backend.makeTensorInfo([batch, groups], 'float32', Float32Array.from(groupMean)),
    backend.makeTensorInfo([batch, groups], 'float32', Float32Array.from(groupInvStd)),
  ];
}

export const instanceNormCpuConfig: KernelConfig = {
  kernelName: InstanceNorm,
  backendName: 'cpu',
  kernelFunc: instanceNormCpu as unknown as KernelFunc,
};
