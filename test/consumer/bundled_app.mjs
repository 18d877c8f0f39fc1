// Consumer (2): an app bundled with esbuild against the umbrella package and
// run in headless Chromium. Results go to window.consumerResults.
import * as tf from '@tensorflow/tfjs';
import * as lib from 'tfjs-instance-norm';

import {checkNoKernelsForAbsentBackends, checkOp, checkTrainStep} from './checks.mjs';
import * as ref from './reference.mjs';

async function run() {
  const results = [...checkNoKernelsForAbsentBackends(tf, lib, 'bundled app')];
  for (const backend of ['webgl', 'cpu']) {
    const label = `bundled app [${backend}]`;
    if (!(await tf.setBackend(backend))) {
      results.push({name: `${label}: backend initializes`, ok: false, detail: ''});
      continue;
    }
    results.push(...(await checkOp(tf, lib, ref, label)));
    results.push(...(await checkTrainStep(tf, lib, label)));
  }
  return results;
}

window.consumerResults = run().catch(error => [
  {name: 'bundled app: runs', ok: false, detail: String((error && error.stack) || error)},
]);
