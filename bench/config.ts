/**
 * The settings of each kind of run, from the command line's options: the
 * browser bench on SwiftShader (as it always ran), the browser bench on a
 * real GPU (`--gpu`), and the Node + Dawn bench (`bench:gpu`).
 */
import {
  ALL_CASES,
  BASE_CASES,
  BLOCK_CASES,
  type BlockCase,
  pickCases,
  QUICK_BLOCK_CASES,
  type ShapeCase,
} from './cases';
import type {BenchConfig} from './core';
import {
  FAMILY_CASES,
  FAMILY_TRAINING,
  type FamilyCase,
  QUICK_FAMILY_CASES,
  QUICK_FAMILY_TRAINING,
} from './family_cases';

export interface RunOptions {
  quick: boolean;
  /** A real GPU: every shape, kernel times, the training step at 256x256. */
  gpu: boolean;
  backends?: string[];
  /** `--shapes=8x64x64x32,...`: picked from every shape. */
  shapes?: string[];
  noTraining?: boolean;
  /** `--no-blocks`: leave out the fused-block rows. */
  noBlocks?: boolean;
  trainSize?: number;
  /** `--no-family`: leave out the batch / layer norm rows and their training steps. */
  noFamily?: boolean;
}

/** The batch / layer norm rows of a run: none with --no-family, small ones with --quick. */
function familyOf(o: RunOptions, swiftShader: boolean): FamilyCase[] {
  if (o.noFamily) return [];
  if (o.quick) return QUICK_FAMILY_CASES;
  // The full SwiftShader run: the rows of up to 2M elements (the others take minutes a call there).
  return swiftShader
    ? FAMILY_CASES.filter(c => c.shape.reduce((a, b) => a * b, 1) <= 1 << 21)
    : FAMILY_CASES;
}

/** The block rows of a run: BLOCK_CASES, smaller ones with --quick, none with --no-blocks. */
function blocksOf(o: RunOptions): BlockCase[] {
  if (o.noBlocks) return [];
  if (o.shapes) return pickCases([...BLOCK_CASES, ...QUICK_BLOCK_CASES], o.shapes) as BlockCase[];
  return o.quick ? QUICK_BLOCK_CASES : BLOCK_CASES;
}

/** The small shapes of `bench:gpu -- --quick` (SwiftShader runs them in about a minute). */
const QUICK_NODE_CASES: ShapeCase[] = pickCases(BASE_CASES, ['1x32x32x8', '2x32x64x64']);

/**
 * The browser bench (`npm run bench`): SwiftShader by default, a real GPU with
 * `gpu`. `wasm-scalar` is the wasm backend without SIMD (WASM_HAS_SIMD_SUPPORT=false).
 */
export function browserConfig(o: RunOptions): BenchConfig {
  // On a GPU, webgpu first: a run cut short by a time limit keeps it.
  const backends =
    o.backends ?? (o.gpu ? ['webgpu', 'webgl'] : ['webgl', 'webgpu', 'cpu', 'wasm', 'wasm-scalar']);
  const gpuBackends = backends.filter(b => b === 'webgl' || b === 'webgpu');
  const shapes = o.shapes ? pickCases(ALL_CASES, o.shapes) : o.gpu ? ALL_CASES : BASE_CASES;
  if (o.gpu) {
    return {
      backends,
      shapes,
      blocks: blocksOf(o),
      maxSize: {cpu: 1 << 20},
      rounds: o.quick ? 3 : 5,
      batchMs: o.quick ? 50 : 200,
      maxCalls: 200,
      kernelTimeSamples: o.quick ? 1 : 3,
      profile: true,
      training: {
        backends: o.noTraining ? [] : gpuBackends,
        size: o.trainSize ?? 256,
        warmupSteps: 2,
        rounds: o.quick ? 2 : 5,
        steps: 2,
      },
      family: familyOf(o, false),
      familyTraining: {
        ...(o.quick ? QUICK_FAMILY_TRAINING : FAMILY_TRAINING),
        backends: o.noTraining || o.noFamily ? [] : gpuBackends,
      },
      breakdown: {
        backends: o.noTraining ? [] : gpuBackends.filter(b => b === 'webgpu'),
        size: o.trainSize ?? 256,
        samples: o.quick ? 2 : 5,
      },
    };
  }
  return {
    backends,
    shapes,
    blocks: blocksOf(o),
    // --quick leaves out, per backend, the shapes whose composite takes seconds
    // per call here (SwiftShader's WebGPU, tfjs' cpu transposes).
    maxSize: o.quick
      ? {webgl: 1 << 20, webgpu: 1 << 19, cpu: 1 << 19, wasm: 1 << 20, 'wasm-scalar': 1 << 20}
      : {},
    rounds: o.quick ? 3 : 5,
    batchMs: o.quick ? 60 : 200,
    maxCalls: o.quick ? 50 : 200,
    kernelTimeSamples: o.quick ? 0 : 3,
    profile: !o.quick,
    training: {
      // A step takes seconds on SwiftShader: a small image, few steps.
      backends: o.noTraining ? [] : gpuBackends,
      size: o.trainSize ?? (o.quick ? 32 : 64),
      warmupSteps: 1,
      rounds: o.quick ? 1 : 3,
      steps: 1,
    },
    family: familyOf(o, true),
    // Small nets: wasm beside the GPU backends (the cpu backend takes minutes a step).
    familyTraining: {
      ...QUICK_FAMILY_TRAINING,
      backends:
        o.noTraining || o.noFamily
          ? []
          : backends.filter(b => b === 'wasm' || b === 'webgl' || b === 'webgpu'),
    },
  };
}

/** The Node + Dawn bench (`npm run bench:gpu`): webgpu only, every shape; with --gpu the training step. */
export function nodeConfig(o: RunOptions): BenchConfig {
  const shapes = o.shapes ? pickCases(ALL_CASES, o.shapes) : o.quick ? QUICK_NODE_CASES : ALL_CASES;
  return {
    backends: ['webgpu'],
    shapes,
    blocks: blocksOf(o),
    maxSize: {},
    rounds: o.quick ? 3 : 5,
    batchMs: o.quick ? 60 : 200,
    maxCalls: o.quick ? 50 : 200,
    kernelTimeSamples: o.quick ? 1 : 5,
    profile: true,
    // The training step with --gpu (a few seconds on a real GPU, minutes on SwiftShader).
    training: {
      backends: o.gpu && !o.noTraining ? ['webgpu'] : [],
      size: o.trainSize ?? 256,
      warmupSteps: 2,
      rounds: o.quick ? 2 : 5,
      steps: 2,
    },
    family: familyOf(o, !o.gpu),
    familyTraining: {
      ...(o.quick ? QUICK_FAMILY_TRAINING : FAMILY_TRAINING),
      backends: o.gpu && !o.noTraining && !o.noFamily ? ['webgpu'] : [],
    },
    breakdown: {
      backends: o.gpu && !o.noTraining ? ['webgpu'] : [],
      size: o.trainSize ?? 256,
      samples: o.quick ? 2 : 5,
    },
  };
}

/** Parses the options both benches share. */
export function parseOptions(args: string[]): RunOptions & {
  out?: string;
  chrome?: string;
  /** `--torch FILE`: torch_bench.py's record of this machine, merged into the record. */
  torch?: string;
} {
  const value = (name: string): string | undefined => {
    const i = args.findIndex(a => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return args[i].includes('=') ? args[i].slice(args[i].indexOf('=') + 1) : args[i + 1];
  };
  const trainSize = value('train-size');
  return {
    quick: args.includes('--quick'),
    gpu: args.includes('--gpu'),
    backends: value('backends')?.split(','),
    shapes: value('shapes')?.split(','),
    noTraining: args.includes('--no-training'),
    noBlocks: args.includes('--no-blocks'),
    noFamily: args.includes('--no-family'),
    trainSize: trainSize === undefined ? undefined : Number(trainSize),
    out: value('out'),
    chrome: value('chrome'),
    torch: value('torch'),
  };
}
