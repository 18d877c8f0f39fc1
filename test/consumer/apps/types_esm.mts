// Consumer (1), types: an ES module under moduleResolution node16 sees the
// package's declarations through the exports map.
import * as tf from '@tensorflow/tfjs-core';
import {InstanceNorm, instanceNorm, registerKernelsFor} from 'tfjs-instance-norm';
import type {DataFormat} from 'tfjs-instance-norm';

const format: DataFormat = 'channelsFirst';
const y: tf.Tensor4D = instanceNorm(
  tf.zeros([1, 2, 3, 3]) as tf.Tensor4D,
  null,
  null,
  1e-5,
  format,
);
const registered: number = registerKernelsFor('webgpu');
const name: string = InstanceNorm;
export {y, registered, name};
