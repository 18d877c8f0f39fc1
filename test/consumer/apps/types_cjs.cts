// Consumer (1), types: a CommonJS module under moduleResolution node16.
import tf = require('@tensorflow/tfjs-core');
import lib = require('tfjs-instance-norm');

const y: tf.Tensor3D = lib.instanceNorm(tf.zeros([1, 4, 2]) as tf.Tensor3D);
export = y;
