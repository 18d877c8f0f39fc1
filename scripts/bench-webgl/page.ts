/**
 * WebGL timing page for the fused kernels against instanceNormComposite
 * (tf.moments + autograd through built-in ops) and one plain pass over x
 * (tf.neg), measured side by side in one run. Driven by run.mjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgl';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

import type {GPGPUProgram} from '@tensorflow/tfjs-backend-webgl';
import type {TensorInfo} from '@tensorflow/tfjs-core';

import {instanceNorm, instanceNormComposite} from '../../src/index';
import {instanceNormLayout} from '../../src/layout';
import {ChunkGradSumsProgram, ChunkMomentsProgram, PackedInputGradProgram, PackedMergeGradProgram, PackedMergeMomentsProgram, PackedNormalizeProgram, PackedParamGradProgram, PackedStatOutputProgram} from '../../kernels/webgl/programs';
import {chooseChunking, geometry} from '../../kernels/webgl/shader_snippets';

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
  const k: Record<string, number> = {};
  for (const [name, call] of Object.entries(calls)) {
    await timeCalls(call, 1);
    const once = await timeCalls(call, 1);
    k[name] = Math.max(1, Math.min(20, Math.round(200 / once)));
  }
  // After the warm-up: uploads and first-use conversions are not counted.
  const draws = Object.fromEntries(Object.entries(calls).map(([n, call]) => [n, countDraws(call)]));
  const programs = await profilePrograms(x, dy, gamma, beta, dataFormat, rounds);
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map(n => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, call] of Object.entries(calls)) samples[name].push(await timeCalls(call, k[name]));
  }
  tf.dispose([xData, dyData, x, dy, gamma, beta]);
  const ms = Object.fromEntries(Object.entries(samples).map(([n, v]) => [n, median(v)]));
  const minMs = Object.fromEntries(Object.entries(samples).map(([n, v]) => [n, Math.min(...v)]));
  return {shape, dataFormat, packedInput, draws, ms, minMs, programs};
}

/**
 * Per-program ms of the packed forward and gradient: each program run K
 * times back to back on the same inputs, one sync; min over rounds.
 */
async function profilePrograms(x: tf.Tensor, dy: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor,
                               dataFormat: Format, rounds: number): Promise<Record<string, number>> {
  const backend = tf.backend() as MathBackendWebGL;
  const layout = instanceNormLayout(x.shape, dataFormat);
  const g = geometry(x.shape, layout, true, tf.env().getNumber('WEBGL_VERSION'));
  const chunking = chooseChunking(g);
  const xv = {dataId: x.dataId, shape: g.viewShape, dtype: 'float32' as const};
  const dyv = {dataId: dy.dataId, shape: g.viewShape, dtype: 'float32' as const};
  const run = (p: GPGPUProgram, inputs: TensorInfo[], uniforms?: number[][]) =>
      backend.runWebGLProgram(p, inputs, 'float32', uniforms, true);
  const partials = run(new ChunkMomentsProgram(g, chunking), [xv]);
  const rows = run(new PackedMergeMomentsProgram(g, chunking, true, true), [partials, xv, gamma, beta], [[1e-5]]);
  const mean = run(new PackedStatOutputProgram(layout, 'mean'), [rows]);
  const invStd = run(new PackedStatOutputProgram(layout, 'invStd'), [rows]);
  const gradPartials = run(new ChunkGradSumsProgram(g, chunking), [dyv, xv, mean, invStd]);
  const coefs = run(new PackedMergeGradProgram(g, chunking, true), [gradPartials, mean, invStd, gamma]);
  const programs: Record<string, () => TensorInfo> = {
    chunkMoments: () => run(new ChunkMomentsProgram(g, chunking), [xv]),
    mergeMoments: () => run(new PackedMergeMomentsProgram(g, chunking, true, true), [partials, xv, gamma, beta], [[1e-5]]),
    statOutput: () => run(new PackedStatOutputProgram(layout, 'mean'), [rows]),
    normalize: () => run(new PackedNormalizeProgram(g), [xv, rows]),
    chunkGradSums: () => run(new ChunkGradSumsProgram(g, chunking), [dyv, xv, mean, invStd]),
    mergeGrad: () => run(new PackedMergeGradProgram(g, chunking, true), [gradPartials, mean, invStd, gamma]),
    inputGrad: () => run(new PackedInputGradProgram(g), [dyv, xv, coefs]),
    paramGrad: () => run(new PackedParamGradProgram(layout, 'dgamma'), [coefs]),
    copy: () => {
      const t = tf.neg(x);
      const info = {dataId: t.dataId, shape: t.shape, dtype: t.dtype};
      backend.incRef(t.dataId);
      t.dispose();
      return info;
    },
  };
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, program] of Object.entries(programs)) {
      const k = 10;
      const start = performance.now();
      const outs = [];
      for (let i = 0; i < k; i++) outs.push(program());
      const probe = tf.engine().makeTensorFromTensorInfo(outs[k - 1]);
      await tf.slice(tf.reshape(probe, [-1]), 0, 1).data();
      const ms = (performance.now() - start) / k;
      best[name] = Math.min(best[name] ?? Infinity, ms);
      probe.dispose();
      outs.slice(0, k - 1).forEach(o => backend.disposeIntermediateTensorInfo(o));
    }
  }
  [partials, rows, mean, invStd, gradPartials, coefs].forEach(o => backend.disposeIntermediateTensorInfo(o));
  return best;
}

declare global {
  interface Window {
    runBench(config: {shapes: Array<[number[], Format]>, rounds: number}): Promise<unknown>;
    benchReady: boolean;
  }
}

window.runBench = async ({shapes, rounds}) => {
  await tf.setBackend('webgl');
  const sweep = (globalThis as {SWEEP?: number[]}).SWEEP;
  if (sweep) {
    const out: unknown[] = [];
    for (const [shape, format] of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      const c = format === 'channelsLast' ? shape[shape.length - 1] : shape[1];
      const x = tf.neg(tf.tensor(seeded(size, 1), shape));
      const dy = tf.neg(tf.tensor(seeded(size, 2), shape));
      const gamma = tf.ones([c]);
      const beta = tf.zeros([c]);
      for (const target of sweep) {
        (globalThis as {CHUNK_TARGET?: number}).CHUNK_TARGET = target;
        out.push({shape, target, programs: await profilePrograms(x, dy, gamma, beta, format, rounds)});
      }
      tf.dispose([x, dy, gamma, beta]);
    }
    return {pack: true, results: [], sweep: out};
  }
  const results = [];
  for (const [shape, format] of shapes) {
    // x as inside a model: the output of a packed op (the default).
    results.push(await benchShape(shape, format, rounds, true));
  }
  return {pack: tf.env().getBool('WEBGL_PACK'), results};
};
window.benchReady = true;
