// Consumer (1), per-backend entries, ESM: `node node_entry.mjs ENTRY` imports
// `tfjs-instance-norm/ENTRY` (`index`: the root entry) in a process of its own,
// with tfjs-core + tfjs-backend-cpu. It must register the kernels of its own
// backend only; on cpu the op runs fused (cpu, index) or as the composite
// (the other entries), with the same values. A second entry imported next to
// it shares its modules.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

import {checkEntriesShared, checkEntryRegistration, checkOp} from './checks.mjs';
import * as ref from './reference.mjs';

const entry = process.argv[2];
const specifier = name => (name === 'index' ? 'tfjs-instance-norm' : `tfjs-instance-norm/${name}`);
const lib = await import(specifier(entry));
await tf.setBackend('cpu');
const label = `node import '${specifier(entry)}' (ESM)`;
const results = [
  ...checkEntryRegistration(tf, lib, label, entry === 'index' ? null : entry),
  ...(await checkOp(tf, lib, ref, `${label} [cpu]`, entry === 'index' || entry === 'cpu')),
];
const other = entry === 'webgl' ? 'webgpu' : 'webgl';
const second = await import(specifier(other));
results.push(...checkEntriesShared(tf, lib, second, `${label} and '${specifier(other)}'`));
console.log(JSON.stringify(results));
