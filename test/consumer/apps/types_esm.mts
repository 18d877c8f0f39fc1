// Consumer (1), types: an ES module under moduleResolution node16 sees the
// package's declarations through the exports map, for the root entry and a
// per-backend one.
import * as tf from '@tensorflow/tfjs-core';
import {hasFusedKernels, InstanceNorm, instanceNorm} from 'tfjs-instance-norm';
import type {DataFormat} from 'tfjs-instance-norm';
import {groupNorm, InstanceNormalization} from 'tfjs-instance-norm/webgl';

const format: DataFormat = 'channelsFirst';
const y: tf.Tensor4D = instanceNorm(
  tf.zeros([1, 2, 3, 3]) as tf.Tensor4D,
  null,
  null,
  1e-5,
  format,
);
const z: tf.Tensor3D = groupNorm(tf.zeros([1, 4, 2]) as tf.Tensor3D, 2);
const fused: boolean = hasFusedKernels('webgpu');
const layer: InstanceNormalization = new InstanceNormalization({});
const name: string = InstanceNorm;
export {y, z, fused, layer, name};
