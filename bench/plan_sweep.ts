/**
 * Builds of one source that differ only in the WebGPU plan, side by side on
 * one machine (bundled once per variant by bench/plan_sweep.mjs): per bench
 * shape, tfjs' copy, the fused forward and the fused forward + gradient, wall
 * ms per call (K calls back to back and one sync, K doubled until a round
 * takes 40 ms, median of 5 rounds) and tf.time kernel ms (median of 3).
 *
 *   VARIANT=name DAWN_NODE=/path/dawn.node node plan-sweep-name.mjs [--gpu] [--quick]
 *
 * Prints one tab-separated row per shape: variant, shape, then copy, fwd and
 * fwd+grad as `wall/kernel`. With --programs, each row is followed by the
 * kernel ms of every program of the forward and of the forward + gradient
 * (median of 5 tf.time samples, in dispatch order), the programs' names as the
 * kernels give them.
 */
import type {Tensor} from '@tensorflow/tfjs-core';

import {dawnPath, installWebGPU, swiftShaderEnv} from '../scripts/dawn.mjs';

if (!process.argv.includes('--gpu')) Object.assign(process.env, swiftShaderEnv());
const addon = dawnPath({fetch: false});
if (!addon) throw new Error('no dawn.node: set DAWN_NODE=/path/to/dawn.node');
installWebGPU(addon);
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
const {groupNorm, instanceNorm} = await import('../src/index');
const {ALL_CASES, channelsOf, elementsOf} = await import('./cases');
await tf.setBackend('webgpu');

type Call = () => Tensor[];
const variant = process.env.VARIANT ?? '?';
const cases = process.argv.includes('--quick')
  ? ALL_CASES.filter(c => elementsOf(c) <= 1 << 19)
  : ALL_CASES;
const programs = process.argv.includes('--programs');
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Wall ms per call of `calls` calls and one sync on one element of the last result. */
async function wall(call: Call, calls: number): Promise<number> {
  const start = performance.now();
  let last: Tensor[] = [];
  for (let i = 0; i < calls; i++) {
    tf.dispose(last);
    last = call();
  }
  const probe = tf.tidy(() => tf.slice(tf.reshape(last[0], [-1]), 0, 1));
  await probe.data();
  tf.dispose([probe, ...last]);
  return (performance.now() - start) / calls;
}

async function measure(call: Call): Promise<string> {
  await wall(call, 3);
  let calls = 10;
  while (calls < 400 && (await wall(call, calls)) * calls < 40) calls *= 2;
  const walls: number[] = [];
  for (let round = 0; round < 5; round++) walls.push(await wall(call, calls));
  const kernels: number[] = [];
  for (let sample = 0; sample < 3; sample++) {
    kernels.push((await tf.time(() => tf.dispose(call()))).kernelMs as number);
  }
  return `${median(walls).toFixed(3)}/${median(kernels).toFixed(3)}`;
}

/** Kernel ms per program of one call, `name=ms` in dispatch order (median of 5 samples). */
async function perProgram(call: Call): Promise<string> {
  const samples: {name: string; ms: number}[][] = [];
  for (let sample = 0; sample < 5; sample++) {
    const info = await tf.time(() => tf.dispose(call()));
    const extra = (info as {getExtraProfileInfo?: () => string}).getExtraProfileInfo?.() ?? '';
    samples.push(
      extra
        .split(', ')
        .filter(entry => entry.length > 0)
        .map(entry => {
          const cut = entry.lastIndexOf(': ');
          return {name: entry.slice(0, cut), ms: Number(entry.slice(cut + 2))};
        }),
    );
  }
  return samples[0]
    .map(({name}, i) => `${name}=${median(samples.map(s => s[i]?.ms ?? NaN)).toFixed(4)}`)
    .join(' ');
}

for (const c of cases) {
  const channels = channelsOf(c);
  const x = tf.randomNormal(c.shape, 1, 2);
  const dy = tf.randomNormal(c.shape);
  const gamma = tf.randomUniform([channels], 0.5, 1.5);
  const beta = tf.randomUniform([channels], -0.5, 0.5);
  const norm = (a: Tensor, g: Tensor, b: Tensor): Tensor =>
    c.groups
      ? groupNorm(a, c.groups, g, b, 1e-5, c.dataFormat)
      : instanceNorm(a, g, b, 1e-5, c.dataFormat);
  const grads = tf.grads(norm);
  const columns = [
    await measure(() => [tf.neg(x)]),
    await measure(() => [norm(x, gamma, beta)]),
    await measure(() => grads([x, gamma, beta], dy)),
  ];
  const label =
    c.shape.join('x') +
    (c.dataFormat === 'channelsFirst' ? ' NCHW' : '') +
    (c.groups ? ` g${c.groups}` : '');
  console.log([variant, label, ...columns].join('\t'));
  if (programs) {
    console.log(`  fwd: ${await perProgram(() => [norm(x, gamma, beta)])}`);
    console.log(`  fwd+grad: ${await perProgram(() => grads([x, gamma, beta], dy))}`);
  }
  tf.dispose([x, dy, gamma, beta]);
}
console.log(`${variant}: ${tf.memory().numTensors} tensors left`);
