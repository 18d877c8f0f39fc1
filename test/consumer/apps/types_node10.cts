// Consumer (1), types: moduleResolution node (node10, which reads no exports
// map) finds the per-backend entries' declarations through typesVersions.
import * as tf from '@tensorflow/tfjs-core';
import {instanceNorm} from 'tfjs-instance-norm';
import {GroupNormalization, groupNorm} from 'tfjs-instance-norm/webgpu';
import {hasFusedKernels} from 'tfjs-instance-norm/wasm';

export const y: tf.Tensor3D = instanceNorm(tf.zeros([1, 4, 2]) as tf.Tensor3D);
export const z: tf.Tensor3D = groupNorm(y, 2);
export const layer: GroupNormalization = new GroupNormalization({groups: 2});
export const fused: boolean = hasFusedKernels();
