// Node with WebGPU: the app sets navigator.gpu from Dawn (npm `webgpu`, its
// dawn.node at the path given as the first argument; see dawn.mjs), then
// imports the package and, after it, @tensorflow/tfjs-backend-webgpu. The
// fused WebGPU kernels must run (tf.profile) and match float64. Prints the
// results as JSON on its last line.
import {installWebGPU} from './dawn.mjs';

installWebGPU(process.argv[2]);
const lib = await import('tfjs-instance-norm');
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
const {checkOp, checkTrainStep} = await import('./checks.mjs');
const ref = await import('./reference.mjs');

const label = 'node + Dawn [webgpu]';
let results;
if (!(await tf.setBackend('webgpu').catch(() => false))) {
  results = [{name: `${label}: the webgpu backend initializes`, ok: false, detail: ''}];
} else {
  const x = tf.ones([1, 2, 2, 3]);
  const profile = await tf.profile(() => lib.instanceNorm(x));
  results = [
    {
      name: `${label}: tf.profile shows the fused InstanceNorm kernel`,
      ok: profile.kernelNames.includes(lib.InstanceNorm),
      detail: profile.kernelNames.join(' '),
    },
    ...(await checkOp(tf, lib, ref, label)),
    ...(await checkTrainStep(tf, lib, label)),
  ];
  tf.dispose([x, profile.result]);
}
console.log(JSON.stringify(results));
// Dawn's device keeps the event loop alive.
process.exit(0);
