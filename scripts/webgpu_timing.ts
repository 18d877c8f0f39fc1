/**
 * Side-by-side timing on the webgpu backend (not a test):
 *   node scripts/run_in_chromium.mjs scripts/webgpu_timing.ts
 * For each shape, in interleaved rounds: one elementwise copy of x
 * (tf.add(x, 0), the bandwidth yardstick), the fused forward, fused
 * forward + gradient, and the same with the composite tf.moments version.
 * Wall time per call (throughput: calls queued back to back, then the GPU
 * queue drained); the median of the rounds is printed, with the programs
 * each call dispatches.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import type {WebGPUBackend, WebGPUProgram} from '@tensorflow/tfjs-backend-webgpu';

import {instanceNorm, instanceNormComposite} from '../src/index';

const SHAPES = [
  [8, 64, 64, 32],
  [1, 256, 256, 16],
  [16, 16, 16, 128],
];
const FORMATS = (new URLSearchParams(location.search).get('formats') ?? 'channelsLast').split(
  ',',
) as Array<'channelsLast' | 'channelsFirst'>;
const ROUNDS = 5;
const MIN_MS = 300;

async function idle(): Promise<void> {
  const backend = tf.backend() as WebGPUBackend;
  // Close the open compute pass before submitting, as tfjs does on a read.
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.submitQueue();
  await backend.device.queue.onSubmittedWorkDone();
}

/**
 * Median over rounds of the wall ms per call of each variant: a round queues
 * enough calls back to back to last MIN_MS, then waits for the GPU queue to
 * drain, so the time is throughput (as in a training loop), not the latency
 * of a sync after every call.
 */
async function timeVariants(
  variants: Record<string, () => tf.TensorContainer>,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  const callsPerRound: Record<string, number> = {};
  for (const [name, fn] of Object.entries(variants)) {
    samples[name] = [];
    tf.dispose(fn());
    await idle();
    const start = performance.now();
    tf.dispose(fn());
    await idle();
    callsPerRound[name] = Math.max(1, Math.ceil(MIN_MS / (performance.now() - start)));
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      const calls = callsPerRound[name];
      const start = performance.now();
      for (let i = 0; i < calls; i++) tf.dispose(fn());
      await idle();
      samples[name].push((performance.now() - start) / calls);
    }
  }
  const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

function countDispatches(fn: () => tf.TensorContainer): number {
  const backend = tf.backend() as WebGPUBackend;
  const original = backend.runWebGPUProgram;
  let count = 0;
  backend.runWebGPUProgram = function (this: WebGPUBackend, program: WebGPUProgram, ...rest) {
    count++;
    return original.call(this, program, ...rest);
  } as typeof original;
  try {
    tf.dispose(fn());
  } finally {
    backend.runWebGPUProgram = original;
  }
  return count;
}

async function main(): Promise<void> {
  await tf.setBackend('webgpu');
  await tf.ready();
  console.log(`backend ${tf.getBackend()}, ${navigator.userAgent}`);
  for (const format of FORMATS) {
    for (const base of SHAPES) {
      const shape = format === 'channelsLast' ? base : [base[0], base[3], base[1], base[2]];
      const channels = base[3];
      const x = tf.randomNormal(shape);
      const dy = tf.randomNormal(shape);
      const gamma = tf.randomUniform([channels], 0.5, 1.5);
      const beta = tf.randomUniform([channels], -1, 1);
      const zero = tf.scalar(0);
      const fusedGrad = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        instanceNorm(a, g, b, 1e-5, format),
      );
      const compositeGrad = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        instanceNormComposite(a, g, b, 1e-5, format),
      );
      const variants = {
        copy: () => tf.add(x, zero),
        fusedForward: () => instanceNorm(x, gamma, beta, 1e-5, format),
        fusedForwardBackward: () => fusedGrad([x, gamma, beta], dy),
        compositeForward: () => instanceNormComposite(x, gamma, beta, 1e-5, format),
        compositeForwardBackward: () => compositeGrad([x, gamma, beta], dy),
      };
      const dispatches = Object.fromEntries(
        Object.entries(variants).map(([k, fn]) => [k, countDispatches(fn)]),
      );
      const ms = await timeVariants(variants);
      const r = (a: number, b: number) => (a / b).toFixed(2);
      console.log(
        JSON.stringify({
          shape,
          format,
          ms: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, +v.toFixed(3)])),
          dispatches,
          compositeOverFusedFwdBwd: r(ms.compositeForwardBackward, ms.fusedForwardBackward),
          fusedFwdBwdOverCopy: r(ms.fusedForwardBackward, ms.copy),
          fusedFwdOverCopy: r(ms.fusedForward, ms.copy),
        }),
      );
      tf.dispose([x, dy, gamma, beta, zero]);
    }
  }
  (window as unknown as {__done: boolean}).__done = true;
}

main().catch(e => {
  (window as unknown as {__error: string}).__error = String(e?.stack ?? e);
});
