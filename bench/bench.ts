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
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

import {
  backendInfo,
  benchKernels,
  type BenchConfig,
  type BlockResult,
  type CaseResult,
  engineBackend,
  log,
  type ProfileResult,
  recording,
} from './core';
import {benchBreakdown} from './breakdown';
import {benchFamily} from './family';
import {benchFamilyTraining} from './family_training';
import {type BenchOutput, emptyOutput} from './report';
import {benchTraining, type TrainingResult} from './training';

export type {BenchConfig, BenchOutput, BlockResult, CaseResult, ProfileResult, TrainingResult};

// The wasm backend's binaries lie beside the page (bench/build.mjs).
setWasmPaths('/');

async function runBenchmark(config: BenchConfig): Promise<BenchOutput> {
  const output = emptyOutput(navigator.userAgent);
  for (const backend of config.backends) {
    const engine = engineBackend(backend);
    // The wasm backend reads the flag when it starts: the page must not have started it before.
    if (backend === 'wasm-scalar') tf.env().set('WASM_HAS_SIMD_SUPPORT', false);
    if (!(await tf.setBackend(engine)) || tf.getBackend() !== engine) {
      output.errors.push(`${backend}: the backend did not initialize in this browser`);
      continue;
    }
    output.backends[backend] = await backendInfo(backend);
    log(`${backend}: ${JSON.stringify(output.backends[backend])}`);
    const tensorsBefore = tf.memory().numTensors;
    const errorsBefore = output.errors.length;
    await benchKernels(backend, config, output);
    if (config.training.backends.includes(backend)) {
      const label = `${backend} training`;
      const result = await recording(label, output.errors, () =>
        benchTraining(backend, config.training),
      );
      if (result) output.training.push(result);
      log(`${label}: ${JSON.stringify(result?.msPerStep)}`);
    }
    if (config.family?.length) {
      output.family.push(...(await benchFamily(backend, config.family, config, output.errors)));
    }
    if (config.familyTraining?.backends.includes(backend)) {
      // tfjs' wasm backend has no Conv2DBackpropFilter: its convs do not train.
      const convs = engineBackend(backend) !== 'wasm';
      if (!convs) output.skipped.push(`${backend} bnCnn training (no Conv2DBackpropFilter)`);
      for (const net of convs ? (['bnCnn', 'lnMixer'] as const) : (['lnMixer'] as const)) {
        const result = await recording(`${backend} ${net} training`, output.errors, () =>
          benchFamilyTraining(backend, net, config.familyTraining!),
        );
        if (result) output.familyTraining.push(result);
      }
    }
    if (config.breakdown?.backends.includes(backend)) {
      const {size, samples} = config.breakdown;
      const result = await recording(`${backend} breakdown`, output.errors, () =>
        benchBreakdown(backend, size, samples),
      );
      if (result) output.breakdown.push(result);
    }
    // An error leaves the tensors of its call behind: count leaks only without.
    const leaked = tf.memory().numTensors - tensorsBefore;
    if (leaked !== 0 && output.errors.length === errorsBefore) {
      output.errors.push(`${backend}: ${leaked} tensors leaked by the benchmark`);
    }
  }
  return output;
}

(window as unknown as {runBenchmark: typeof runBenchmark}).runBenchmark = runBenchmark;
(window as unknown as {benchReady: boolean}).benchReady = true;
