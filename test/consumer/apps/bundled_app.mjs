// Consumer (2): an app bundled with esbuild against the umbrella package and
// run in headless Chromium. The runner (../matrix.mjs) writes the entry that
// calls `run` (and, where tfjs-backend-webgpu is installed, imports it first)
// and puts the results on window.consumerResults.
import * as tf from '@tensorflow/tfjs';
import * as lib from 'tfjs-instance-norm';

import {checkKernelsRegistered, checkOp, checkTrainStep} from './checks.mjs';
import * as ref from './reference.mjs';

/** The checks on each backend in `backends`, labelled with the tfjs version. */
export async function run(backends) {
  const app = `bundled app (tfjs ${tf.version.tfjs})`;
  const results = [...checkKernelsRegistered(tf, lib, app)];
  for (const backend of backends) {
    const label = `${app} [${backend}]`;
    if (!(await tf.setBackend(backend).catch(() => false))) {
      results.push({name: `${label}: backend initializes`, ok: false, detail: ''});
      continue;
    }
    results.push(...(await checkOp(tf, lib, ref, label)));
    results.push(...(await checkTrainStep(tf, lib, label)));
  }
  return results;
}
