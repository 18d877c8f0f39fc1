// Consumer (2): a WebGL-only web app, bundled with esbuild and run in headless
// Chromium. It imports tfjs-core (with its op gradients, for the training
// step), tfjs-backend-webgl and the package's `tfjs-instance-norm/webgl` entry
// only: its bundle must hold the WebGL kernels
// and neither the wasm module nor WGSL (../matrix.mjs checks the bundle text).
// The runner's entry calls `run` and puts the results on window.consumerResults.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgl';
import * as lib from 'tfjs-instance-norm/webgl';

import {checkEntryRegistration, checkOp, checkTrainStep} from './checks.mjs';
import * as ref from './reference.mjs';

export async function run() {
  const label = `webgl-only app (tfjs ${tf.version_core})`;
  const results = [...checkEntryRegistration(tf, lib, label, 'webgl')];
  if (!(await tf.setBackend('webgl').catch(() => false))) {
    return [...results, {name: `${label}: the webgl backend initializes`, ok: false, detail: ''}];
  }
  results.push(...(await checkOp(tf, lib, ref, `${label} [webgl]`, true)));
  results.push(...(await checkTrainStep(tf, lib, `${label} [webgl]`)));
  return results;
}
