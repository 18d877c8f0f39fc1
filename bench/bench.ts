/**
 * The benchmark page: bundled by bench/build.mjs with esbuild, served from
 * http://localhost or 127.0.0.1 (WebGPU needs a secure origin) and driven by
 * puppeteer (bench/driver.ts), which calls `window.runBenchmark(config)` and
 * gets plain JSON back. The timing itself is bench/core.ts, shared with the
 * Node + Dawn bench; the training step is bench/training.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';

import {
  backendInfo,
  benchKernels,
  type BenchConfig,
  type CaseResult,
  log,
  type ProfileResult,
} from './core';
import {benchTraining, type TrainingResult} from './training';

export type {BenchConfig, CaseResult, ProfileResult, TrainingResult};

export interface BenchOutput {
  userAgent: string;
  backends: Record<string, Record<string, unknown>>;
  cases: CaseResult[];
  profiles: ProfileResult[];
  training: TrainingResult[];
  skipped: string[];
}

async function runBenchmark(config: BenchConfig): Promise<BenchOutput> {
  const output: BenchOutput = {
    userAgent: navigator.userAgent,
    backends: {},
    cases: [],
    profiles: [],
    training: [],
    skipped: [],
  };
  for (const backend of config.backends) {
    if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
      throw new Error(`backend '${backend}' did not initialize in this browser`);
    }
    output.backends[backend] = await backendInfo(backend);
    log(`${backend}: ${JSON.stringify(output.backends[backend])}`);
    const tensorsBefore = tf.memory().numTensors;
    await benchKernels(backend, config, output);
    if (config.training.backends.includes(backend)) {
      const result = await benchTraining(backend, config.training);
      output.training.push(result);
      log(`${backend} training: ${JSON.stringify(result.msPerStep)}`);
    }
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0) {
      throw new Error(`${backend}: ${leaked} tensors leaked by the benchmark`);
    }
  }
  return output;
}

(window as unknown as {runBenchmark: typeof runBenchmark}).runBenchmark = runBenchmark;
(window as unknown as {benchReady: boolean}).benchReady = true;
