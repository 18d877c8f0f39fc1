/**
 * The Node + Dawn bench itself (loaded by bench/gpu.ts once navigator.gpu
 * exists): the webgpu backend on every shape (core.ts), the tf.profile
 * breakdown of the largest, with --gpu the training step (training.ts), the
 * tables, the fused-block rows, and with --out DIR the record DIR/node-dawn.json
 * (nothing is written without --out).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';

import {type RunOptions, nodeConfig} from './config';
import {
  backendInfo,
  benchKernels,
  type BlockResult,
  type CaseResult,
  log,
  type ProfileResult,
  recording,
} from './core';
import {
  blockRatiosOf,
  checkTargets,
  GPU_BLOCK_TARGETS,
  NODE_GPU_TARGETS,
  ratiosOf,
  report,
} from './report';
import {benchTraining, type TrainingResult} from './training';
import {benchBreakdown} from './breakdown';
import {type BreakdownResult, breakdownReport} from './breakdown_report';
import {benchFamily} from './family';
import {familyReport, type TorchRecord, torchReport} from './family_report';
import {benchFamilyTraining, type FamilyTrainingResult} from './family_training';

export async function runGpuBench(
  options: RunOptions & {out?: string; torch?: string},
  addon: string,
): Promise<void> {
  const started = Date.now();
  const config = nodeConfig(options);
  if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') {
    throw new Error('the webgpu backend did not initialize: no Vulkan adapter for Dawn?');
  }
  const info = await backendInfo('webgpu');
  log(`webgpu: ${JSON.stringify(info)}`);
  const output = {
    cases: [] as CaseResult[],
    blocks: [] as BlockResult[],
    profiles: [] as ProfileResult[],
    skipped: [] as string[],
    errors: [] as string[],
  };
  const tensorsBefore = tf.memory().numTensors;
  await benchKernels('webgpu', config, output);
  const training: TrainingResult[] = [];
  if (config.training.backends.includes('webgpu')) {
    const result = await recording('webgpu training', output.errors, () =>
      benchTraining('webgpu', config.training),
    );
    if (result) training.push(result);
    log(`webgpu training: ${JSON.stringify(result?.msPerStep)}`);
  }
  const family = config.family?.length
    ? await benchFamily('webgpu', config.family, config, output.errors)
    : [];
  const familyTraining: FamilyTrainingResult[] = [];
  if (config.familyTraining?.backends.includes('webgpu')) {
    for (const net of ['bnCnn', 'lnMixer'] as const) {
      const result = await recording(`webgpu ${net} training`, output.errors, () =>
        benchFamilyTraining('webgpu', net, config.familyTraining!),
      );
      if (result) familyTraining.push(result);
    }
  }
  const breakdown: BreakdownResult[] = [];
  if (config.breakdown?.backends.includes('webgpu')) {
    const {size, samples} = config.breakdown;
    const result = await recording('webgpu breakdown', output.errors, () =>
      benchBreakdown('webgpu', size, samples),
    );
    if (result) breakdown.push(result);
  }
  // An error leaves the tensors of its call behind: count leaks only without.
  const leaked = tf.memory().numTensors - tensorsBefore;
  if (leaked !== 0 && !output.errors.length) {
    output.errors.push(`webgpu: ${leaked} tensors leaked by the benchmark`);
  }

  // Block targets only on a real GPU (SwiftShader's are not what they are set for).
  const targets = checkTargets(
    output.cases,
    NODE_GPU_TARGETS,
    [],
    [],
    output.blocks,
    options.gpu ? GPU_BLOCK_TARGETS : [],
  );
  // torch_bench.py's record of the same machine, run in the same call (--torch FILE).
  const torch =
    options.torch === undefined
      ? undefined
      : (JSON.parse(fs.readFileSync(options.torch, 'utf8')) as TorchRecord);
  const results = {
    date: new Date().toISOString(),
    /** BENCH_LABEL: what build this is (a commit, before / after). */
    label: process.env.BENCH_LABEL ?? '',
    mode: options.quick ? 'quick' : 'full',
    runtime: `Node ${process.version}, Dawn ${addon}`,
    vulkanDriver: process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES ?? '(system)',
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      platform: `${os.platform()} ${os.release()}`,
    },
    method:
      'K calls back to back, one sync (read back one element of the last result), wall ms / K, ' +
      'median of the rounds; kernelMs: tf.time (unquantized Dawn timestamps), median of samples; ' +
      'profiles: tf.profile of one call of the largest shape, kernel ms summed by kernel name.',
    config,
    backends: {webgpu: info},
    cases: output.cases.map(c => ({...c, ratios: ratiosOf(c)})),
    blocks: output.blocks.map(b => ({...b, ratios: blockRatiosOf(b)})),
    profiles: output.profiles,
    training,
    family,
    familyTraining,
    breakdown,
    torch,
    targets,
    skipped: output.skipped,
    errors: output.errors,
    wallSeconds: (Date.now() - started) / 1000,
  };
  let written = 'nothing written (--out DIR writes DIR/node-dawn.json)';
  if (options.out !== undefined) {
    const outDir = path.resolve(options.out);
    fs.mkdirSync(outDir, {recursive: true});
    const file = path.join(outDir, 'node-dawn.json');
    fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    written = `wrote ${file}`;
  }
  console.log(`webgpu: ${JSON.stringify(info)}\n`);
  console.log(report({...output, training, targets, rounds: config.rounds}).join('\n'));
  console.log(familyReport(family, familyTraining, torch).join('\n'));
  for (const b of breakdown) console.log(['', ...breakdownReport(b)].join('\n'));
  if (torch) console.log(torchReport(torch).join('\n'));
  console.log(`\n${results.runtime}; ${results.mode}; ${written} in ${results.wallSeconds}s`);
  if (output.errors.length) process.exitCode = 1;
}
