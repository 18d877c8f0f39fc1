// Consumer (1), per-backend entries, CommonJS: node_entry.mjs through
// require(): `node node_entry.cjs ENTRY` requires `tfjs-instance-norm/ENTRY`
// (`index`: the root entry) alone, then a second entry beside it.
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');

const entry = process.argv[2];
const specifier = name => (name === 'index' ? 'tfjs-instance-norm' : `tfjs-instance-norm/${name}`);
const lib = require(specifier(entry));

(async () => {
  const {checkEntriesShared, checkEntryRegistration, checkOp} = await import('./checks.mjs');
  const ref = await import('./reference.mjs');
  await tf.setBackend('cpu');
  const label = `node require('${specifier(entry)}') (CommonJS)`;
  const results = [
    ...checkEntryRegistration(tf, lib, label, entry === 'index' ? null : entry),
    ...(await checkOp(tf, lib, ref, `${label} [cpu]`, entry === 'index' || entry === 'cpu')),
  ];
  const other = entry === 'webgl' ? 'webgpu' : 'webgl';
  const second = require(specifier(other));
  results.push(...checkEntriesShared(tf, lib, second, `${label} and '${specifier(other)}'`));
  console.log(JSON.stringify(results));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
