/**
 * WebGL timing page for the fused kernels against instanceNormComposite
 * (tf.moments + autograd through built-in ops) and one plain pass over x
 * (tf.neg), measured side by side in one run. Driven by run.mjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgl';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import {instanceNorm, instanceNormComposite} from '../../src/index';

type Format = 'channelsLast'|'channelsFirst';
type Call = () => tf.Tensor[];

function seeded(size: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = 2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1;
  }
  return values;
}

/** K calls back to back, then one sync on the last result: wall ms per call. */
async function timeCalls(call: Call, k: number): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor[] = [];
  for (let i = 0; i < k; i++) {
    tf.dispose(last);
    last = call();
  }
  const probe = tf.tidy(() => tf.addN(last.map(t => tf.slice(tf.reshape(t, [-1]), 0, 1))));
  await probe.data();
  const ms = (performance.now() - start) / k;
  tf.dispose([...last, probe]);
  return ms;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Counts runWebGLProgram calls (draws) during fn. */
function countDraws(fn: Call): number {
  const backend = tf.backend() as MathBackendWebGL;
  const original = backend.runWebGLProgram;
  let draws = 0;
  backend.runWebGLProgram = function(this: MathBackendWebGL, ...args) {
    draws++;
    return original.apply(this, args);
  } as typeof original;
  try {
    tf.dispose(fn());
  } finally {
    backend.runWebGLProgram = original;
  }
  return draws;
}

async function benchShape(shape: number[], dataFormat: Format, rounds: number, packedInput: boolean) {
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = dataFormat === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const xData = tf.tensor(seeded(size, 1), shape);
  const dyData = tf.tensor(seeded(size, 2), shape);
  // As inputs arrive inside a model: outputs of a (packed, by default) op,
  // or uploaded straight into whatever the first program wants.
  const x = packedInput ? tf.neg(tf.neg(xData)) : xData;
  const dy = packedInput ? tf.neg(tf.neg(dyData)) : dyData;
  const gamma = tf.tensor1d(seeded(channels, 3).map(v => 1 + v / 2));
  const beta = tf.tensor1d(seeded(channels, 4));
  const fusedGrads = tf.grads(
      (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => instanceNorm(a, g, b, 1e-5, dataFormat));
  const compGrads = tf.grads(
      (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => instanceNormComposite(a, g, b, 1e-5, dataFormat));
  const calls: Record<string, Call> = {
    copy: () => [tf.neg(x)],
    fusedFwd: () => [instanceNorm(x, gamma, beta, 1e-5, dataFormat)],
    compFwd: () => [instanceNormComposite(x, gamma, beta, 1e-5, dataFormat)],
    fusedGrad: () => fusedGrads([x, gamma, beta], dy),
    compGrad: () => compGrads([x, gamma, beta], dy),
  };
  const draws = {fusedFwd: countDraws(calls.fusedFwd), fusedGrad: countDraws(calls.fusedGrad),
                 compFwd: countDraws(calls.compFwd), compGrad: countDraws(calls.compGrad),
                 copy: countDraws(calls.copy)};
  const k: Record<string, number> = {};
  for (const [name, call] of Object.entries(calls)) {
    await timeCalls(call, 1);
    const once = await timeCalls(call, 1);
    k[name] = Math.max(1, Math.min(20, Math.round(200 / once)));
  }
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map(n => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, call] of Object.entries(calls)) samples[name].push(await timeCalls(call, k[name]));
  }
  tf.dispose([xData, dyData, x, dy, gamma, beta]);
  const ms = Object.fromEntries(Object.entries(samples).map(([n, v]) => [n, median(v)]));
  return {shape, dataFormat, packedInput, draws, ms};
}

declare global {
  interface Window {
    runBench(config: {shapes: Array<[number[], Format]>, rounds: number}): Promise<unknown>;
    benchReady: boolean;
  }
}

window.runBench = async ({shapes, rounds}) => {
  await tf.setBackend('webgl');
  const results = [];
  for (const [shape, format] of shapes) {
    for (const packedInput of [true, false]) {
      results.push(await benchShape(shape, format, rounds, packedInput));
    }
  }
  return {pack: tf.env().getBool('WEBGL_PACK'), results};
};
window.benchReady = true;
