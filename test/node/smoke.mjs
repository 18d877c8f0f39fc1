// The built package in plain Node with tfjs-core, tfjs-layers and the cpu
// backend: import (ESM) and require (CommonJS) both compute instance norm and
// its gradient, run the InstanceNormalization layer and load a model
// converted from Keras; values are checked against a float64 computation done
// here.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';

const results = {passed: 0, failed: 0, skipped: 0};
function check(name, ok, detail = '') {
  results[ok ? 'passed' : 'failed']++;
  console.log(`${ok ? 'ok' : 'FAIL'} - ${name}${detail ? ` (${detail})` : ''}`);
}

await tf.setBackend('cpu');
const esm = await import('../../dist/esm/index.js');
const cjs = createRequire(import.meta.url)('../../dist/cjs/index.cjs');

// x: [1, 2, 2, 2] channelsLast; channel 0 is 1,2,3,4 and channel 1 is 10,10,10,14.
const x = tf.tensor([1, 10, 2, 10, 3, 10, 4, 14], [1, 2, 2, 2]);
const gamma = tf.tensor1d([2, 0.5]);
const beta = tf.tensor1d([1, -1]);
const expected = [];
for (const [c, values] of [
  [0, [1, 2, 3, 4]],
  [1, [10, 10, 10, 14]],
]) {
  const mean = values.reduce((a, b) => a + b) / 4;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
  values.forEach((v, p) => {
    expected[p * 2 + c] = ((v - mean) / Math.sqrt(variance + 1e-5)) * [2, 0.5][c] + [1, -1][c];
  });
}

for (const [name, mod] of [
  ['import (ESM)', esm],
  ['require (CommonJS)', cjs],
]) {
  const before = tf.memory().numTensors;
  const y = mod.instanceNorm(x, gamma, beta);
  const got = Array.from(await y.data());
  const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i])));
  check(`${name}: forward matches float64`, worst < 1e-5, `max error ${worst.toExponential(2)}`);
  y.dispose();
  // dy of ones (no built-in op in the graph: tfjs-core alone registers no gradients).
  const ones = tf.onesLike(x);
  const [dx, dg, db] = tf.grads((a, g, b) => mod.instanceNorm(a, g, b))([x, gamma, beta], ones);
  ones.dispose();
  // The sum of y does not depend on x (normalized values sum to zero).
  const dxMax = Math.max(...Array.from(await dx.data()).map(Math.abs));
  check(
    `${name}: gradient of sum(y) w.r.t. x is zero`,
    dxMax < 1e-4,
    `max |dx| ${dxMax.toExponential(2)}`,
  );
  check(
    `${name}: dbeta counts the pixels`,
    Array.from(await db.data()).every(v => v === 4),
  );
  const dgMax = Math.max(...Array.from(await dg.data()).map(Math.abs));
  check(`${name}: dgamma of sum(y) is zero`, dgMax < 1e-4);
  tf.dispose([dx, dg, db]);
  check(`${name}: no tensor leaked`, tf.memory().numTensors === before);
}
// The layer, with the same x, gamma and beta (epsilon set to the op's 1e-5).
for (const [name, mod] of [
  ['import (ESM)', esm],
  ['require (CommonJS)', cjs],
]) {
  const model = tfl.sequential({
    layers: [mod.instanceNormalization({inputShape: [2, 2, 2], epsilon: 1e-5})],
  });
  model.layers[0].setWeights([gamma, beta]);
  const y = model.predict(x);
  const got = Array.from(await y.data());
  const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i])));
  check(
    `${name}: InstanceNormalization layer predicts float64 values`,
    worst < 1e-5,
    `max error ${worst.toExponential(2)}`,
  );
  y.dispose();
  model.dispose();
}
{
  // A TensorFlow Addons model as tensorflowjs_converter writes it.
  const layerConfig = {
    name: 'instance_normalization',
    trainable: true,
    dtype: 'float32',
    groups: -1,
    axis: -1,
    epsilon: 1e-5,
    center: true,
    scale: true,
    beta_initializer: {class_name: 'Zeros', config: {}},
    gamma_initializer: {class_name: 'Ones', config: {}},
    beta_regularizer: null,
    gamma_regularizer: null,
    beta_constraint: null,
    gamma_constraint: null,
    batch_input_shape: [null, 2, 2, 2],
  };
  const modelTopology = {
    class_name: 'Sequential',
    keras_version: '2.8.0',
    backend: 'tensorflow',
    config: {
      name: 'sequential',
      layers: [{class_name: 'Addons>InstanceNormalization', config: layerConfig}],
    },
  };
  const weightSpecs = [
    {name: 'instance_normalization/gamma', shape: [2], dtype: 'float32'},
    {name: 'instance_normalization/beta', shape: [2], dtype: 'float32'},
  ];
  const weightData = new Float32Array([2, 0.5, 1, -1]).buffer;
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({modelTopology, weightSpecs, weightData}),
  );
  const y = model.predict(x);
  const got = Array.from(await y.data());
  const worst = Math.max(...got.map((v, i) => Math.abs(v - expected[i])));
  check(
    'a converted TensorFlow Addons model loads and predicts float64 values',
    worst < 1e-5,
    `max error ${worst.toExponential(2)}`,
  );
  y.dispose();
  model.dispose();
}
check('the fused cpu kernel is registered', tf.getKernel(esm.InstanceNorm, 'cpu') != null);

fs.mkdirSync('.tmp/results', {recursive: true});
fs.writeFileSync('.tmp/results/node.json', JSON.stringify(results));
console.log(`node smoke: ${results.passed} passed, ${results.failed} failed`);
process.exit(results.failed ? 1 : 0);
