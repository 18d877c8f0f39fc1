// Consumer (1), ESM: Node with only tfjs-core + tfjs-backend-cpu (+ the
// required tfjs-layers peer) installed next to the packed package. The package
// is imported before the backend: import order must not matter.
import * as lib from 'tfjs-instance-norm';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

import {checkKernelsRegistered, checkOp} from './checks.mjs';
import * as ref from './reference.mjs';

await tf.setBackend('cpu');
const results = [
  ...(await checkOp(tf, lib, ref, 'node import (ESM)')),
  ...checkKernelsRegistered(tf, lib, 'node import (ESM)'),
];
console.log(JSON.stringify(results));
