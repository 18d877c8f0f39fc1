// Consumer (1), types: a CommonJS module under moduleResolution node16, for
// the root entry and a per-backend one.
import tf = require('@tensorflow/tfjs-core');
import lib = require('tfjs-instance-norm');
import cpu = require('tfjs-instance-norm/cpu');

const y: tf.Tensor3D = lib.instanceNorm(tf.zeros([1, 4, 2]) as tf.Tensor3D);
const z: tf.Tensor3D = cpu.instanceNorm(y);
export = z;
