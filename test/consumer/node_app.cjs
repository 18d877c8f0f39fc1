// Consumer (1), CommonJS: the same checks through require().
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const lib = require('tfjs-instance-norm');

(async () => {
  const {checkNoKernelsForAbsentBackends, checkOp} = await import('./checks.mjs');
  const ref = await import('./reference.mjs');
  await tf.setBackend('cpu');
  const results = [
    ...(await checkOp(tf, lib, ref, 'node require (CommonJS)')),
    ...checkNoKernelsForAbsentBackends(tf, lib, 'node require (CommonJS)'),
  ];
  console.log(JSON.stringify(results));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
