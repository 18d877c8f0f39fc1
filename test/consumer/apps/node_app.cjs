// Consumer (1), CommonJS: the same checks through require(), with the backend
// loaded before the package (node_app.mjs loads it after).
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const lib = require('tfjs-instance-norm');

(async () => {
  const {checkKernelsRegistered, checkOp} = await import('./checks.mjs');
  const ref = await import('./reference.mjs');
  await tf.setBackend('cpu');
  const results = [
    ...(await checkOp(tf, lib, ref, 'node require (CommonJS)')),
    ...checkKernelsRegistered(tf, lib, 'node require (CommonJS)'),
  ];
  console.log(JSON.stringify(results));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
