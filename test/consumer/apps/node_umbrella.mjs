// The version matrix in Node: an app on the umbrella @tensorflow/tfjs (of the
// version under test) that added the package afterwards. tfjs is imported
// before the package. Prints the results as JSON on its last line.
import * as tf from '@tensorflow/tfjs';
import * as lib from 'tfjs-instance-norm';

import {checkKernelsRegistered, checkOp, checkTrainStep} from './checks.mjs';
import * as ref from './reference.mjs';

await tf.setBackend('cpu');
const label = `node (tfjs ${tf.version.tfjs})`;
const results = [
  ...checkKernelsRegistered(tf, lib, label),
  ...(await checkOp(tf, lib, ref, `${label} [cpu]`)),
  ...(await checkTrainStep(tf, lib, `${label} [cpu]`)),
];
console.log(JSON.stringify(results));
