/**
 * The benchmark page: bundled by bench/run.mjs with esbuild, served from
 * http://localhost (WebGPU needs a secure origin) and driven by puppeteer,
 * which calls `window.runBenchmark(config)` and gets plain JSON back.
 *
 * Per backend and shape, one run times these side by side, interleaved
 * within each round so a slower phase of the machine hits them all alike:
 *   copy       one elementwise pass over x (tf.neg: one read, one write of the
 *              bytes of x), the bandwidth yardstick;
 *   fusedFwd   instanceNorm (this package's kernels);
 *   compFwd    instanceNormComposite (tf.moments and built-in ops);
 *   fusedGrad  tf.grads of instanceNorm w.r.t. x, gamma, beta for a fixed dy
 *              (the forward and the gradient);
 *   compGrad   the same through instanceNormComposite (autograd through the
 *              built-in ops' registered gradients).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';

import * as pkg from '../src/index';
import {instanceNormComposite} from '../src/composite';
import {InstanceNorm, InstanceNormGrad} from '../src/kernel_names';

// bench/run.mjs serves the wasm binaries next to the page.
setWasmPaths('/');

type Format = 'channelsLast' | 'channelsFirst';
export const VARIANTS = ['copy', 'fusedFwd', 'compFwd', 'fusedGrad', 'compGrad'] as const;
type Variant = (typeof VARIANTS)[number];

export interface ShapeCase {
  shape: number[];
  dataFormat: Format;
}

export interface BenchConfig {
  backends: string[];
  shapes: ShapeCase[];
  /** Per backend: shapes with more elements than this are skipped. */
  maxSize: Record<string, number>;
  rounds: number;
  /** Each timed batch of calls lasts about this long (ms), K calls at least 1. */
  batchMs: number;
  maxCalls: number;
  /** tf.time samples per variant (0: no kernel-time column). */
  kernelTimeSamples: number;
  training: {backends: string[]; batch: number; warmupSteps: number; rounds: number; steps: number};
}

export interface CaseResult {
  backend: string;
  shape: number[];
  dataFormat: Format;
  elements: number;
  /** Whether InstanceNorm/InstanceNormGrad were registered on the backend. */
  fusedKernels: boolean;
  calls: Record<Variant, number>;
  /** Median over the rounds of wall ms per call (K calls, one sync). */
  ms: Record<Variant, number>;
  /** Every round, for the record. */
  msRounds: Record<Variant, number[]>;
  /** tf.time kernel ms per call (median), where the backend reports it. */
  kernelMs: Partial<Record<Variant, number>>;
}

export interface TrainingResult {
  backend: string;
  fusedKernels: boolean;
  layer: string;
  msPerStep: {fused: number; composite: number};
}

export interface BenchOutput {
  userAgent: string;
  backends: Record<string, Record<string, unknown>>;
  cases: CaseResult[];
  training: TrainingResult[];
  skipped: string[];
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const log = (message: string): void => console.log(`[bench] ${message}`);

/**
 * Waits until every kernel queued so far has finished. GPU queues run in
 * order, so reading back one element computed from the last result waits for
 * all the calls before it without downloading the whole tensor.
 */
async function syncOn(result: tf.Tensor): Promise<void> {
  // Sliced in its own rank: a reshape of a packed WebGL texture would be a
  // full pass of its own.
  const first = result.shape.map(() => 0);
  const one = result.shape.map(() => 1);
  const probe = tf.tidy(() => tf.add(tf.slice(result, first, one), 0));
  await probe.data();
  probe.dispose();
}

type Call = () => tf.Tensor[];

/** Wall ms per call of K calls issued back to back with one sync at the end. */
async function timeCalls(call: Call, calls: number): Promise<number> {
  const start = performance.now();
  let last: tf.Tensor[] = [];
  for (let i = 0; i < calls; i++) {
    tf.dispose(last);
    last = call();
  }
  await syncOn(last[0]);
  const ms = (performance.now() - start) / calls;
  tf.dispose(last);
  return ms;
}

async function kernelTime(call: Call, samples: number): Promise<number | undefined> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    const info = await tf.time(() => tf.dispose(call()));
    if (typeof info.kernelMs !== 'number') return undefined;
    values.push(info.kernelMs);
  }
  return values.length ? median(values) : undefined;
}

function hasFusedKernels(backend: string): boolean {
  return (
    tf.getKernel(InstanceNorm, backend) != null && tf.getKernel(InstanceNormGrad, backend) != null
  );
}

/** Seeded uniform values, so every run and backend sees the same data. */
function seeded(size: number, seed: number, scale: number, offset: number): Float32Array {
  let a = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = offset + scale * (2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1);
  }
  return values;
}

async function benchShape(
  backend: string,
  {shape, dataFormat}: ShapeCase,
  config: BenchConfig,
): Promise<CaseResult> {
  const size = shape.reduce((a, b) => a * b, 1);
  const channels = dataFormat === 'channelsLast' ? shape[shape.length - 1] : shape[1];
  const x = tf.tensor(seeded(size, 1, 2, 0.5), shape);
  const dy = tf.tensor(seeded(size, 2, 1, 0), shape);
  const gamma = tf.tensor1d(seeded(channels, 3, 0.5, 1));
  const beta = tf.tensor1d(seeded(channels, 4, 0.5, 0));
  const eps = 1e-5;

  const fusedGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    pkg.instanceNorm(a, g, b, eps, dataFormat),
  );
  const compGrads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    instanceNormComposite(a, g, b, eps, dataFormat),
  );
  const calls: Record<Variant, Call> = {
    copy: () => [tf.neg(x)],
    fusedFwd: () => [pkg.instanceNorm(x, gamma, beta, eps, dataFormat)],
    compFwd: () => [instanceNormComposite(x, gamma, beta, eps, dataFormat)],
    fusedGrad: () => fusedGrads([x, gamma, beta], dy),
    compGrad: () => compGrads([x, gamma, beta], dy),
  };

  // Warm-up: shader compilation and texture/buffer pools. A second call,
  // timed, chooses K so that a batch lasts about batchMs. Never the first:
  // compilation can take seconds on SwiftShader even for tf.neg, and K = 1
  // would then time a one-call batch dominated by the sync.
  const count = {} as Record<Variant, number>;
  for (const v of VARIANTS) {
    await timeCalls(calls[v], 1);
    const once = await timeCalls(calls[v], 1);
    count[v] = Math.max(1, Math.min(config.maxCalls, Math.round(config.batchMs / once)));
  }
  const rounds = Object.fromEntries(VARIANTS.map(v => [v, [] as number[]])) as Record<
    Variant,
    number[]
  >;
  for (let r = 0; r < config.rounds; r++) {
    for (const v of VARIANTS) {
      rounds[v].push(await timeCalls(calls[v], count[v]));
    }
  }
  const kernelMs: Partial<Record<Variant, number>> = {};
  // The cpu and wasm backends' kernel time is wall time per kernel: no second opinion.
  if (config.kernelTimeSamples > 0 && backend !== 'cpu' && backend !== 'wasm') {
    for (const v of VARIANTS) {
      // One sample of a call that alone outlasts a batch: it takes seconds.
      const samples = count[v] === 1 ? 1 : config.kernelTimeSamples;
      const ms = await kernelTime(calls[v], samples);
      if (ms !== undefined) kernelMs[v] = ms;
    }
  }
  tf.dispose([x, dy, gamma, beta]);
  return {
    backend,
    shape,
    dataFormat,
    elements: size,
    fusedKernels: hasFusedKernels(backend),
    calls: count,
    ms: Object.fromEntries(VARIANTS.map(v => [v, median(rounds[v])])) as Record<Variant, number>,
    msRounds: rounds,
    kernelMs,
  };
}

async function backendInfo(backend: string): Promise<Record<string, unknown>> {
  const info: Record<string, unknown> = {fusedKernels: hasFusedKernels(backend)};
  if (backend === 'webgl') {
    const gl = (tf.backend() as unknown as {gpgpu: {gl: WebGL2RenderingContext}}).gpgpu.gl;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    info.version = gl.getParameter(gl.VERSION);
    info.vendor = gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR);
    info.renderer = gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
    info.pack = tf.env().getBool('WEBGL_PACK');
    info.timerQuery = tf.env().getNumber('WEBGL_DISJOINT_QUERY_TIMER_EXTENSION_VERSION') > 0;
  } else if (backend === 'webgpu') {
    const adapter = await navigator.gpu.requestAdapter();
    const a = adapter?.info;
    if (a) {
      info.adapter = {
        vendor: a.vendor,
        architecture: a.architecture,
        device: a.device,
        description: a.description,
      };
    }
    info.timestampQuery = adapter?.features.has('timestamp-query') ?? false;
  }
  return info;
}

/**
 * A stand-in for the package's layer with the composite norm inside: gamma
 * and beta per channel (axis -1), initialized to 1 and 0 like the layer's.
 */
class CompositeInstanceNorm extends tfl.layers.Layer {
  static className = 'BenchCompositeInstanceNorm';
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;

  build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShape as tfl.Shape;
    const channels = shape[shape.length - 1] as number;
    this.gamma = this.addWeight('gamma', [channels], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return instanceNormComposite(x, this.gamma.read(), this.beta.read());
  }
}

/**
 * conv 3x3 16 → norm → relu → conv 3x3 16 → norm → relu → conv 3x3 to 3
 * channels, on batches of 64x64x3 images, mean squared error, plain SGD.
 */
function convNet(norm: () => tfl.layers.Layer): tfl.LayersModel {
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({inputShape: [64, 64, 3], filters: 16, kernelSize: 3, padding: 'same'}),
  );
  model.add(norm());
  model.add(tfl.layers.activation({activation: 'relu'}));
  model.add(tfl.layers.conv2d({filters: 16, kernelSize: 3, padding: 'same'}));
  model.add(norm());
  model.add(tfl.layers.activation({activation: 'relu'}));
  model.add(tfl.layers.conv2d({filters: 3, kernelSize: 3, padding: 'same'}));
  model.compile({optimizer: tf.train.sgd(1e-3), loss: 'meanSquaredError'});
  return model;
}

/** Disposes the model and its optimizer (a model owns only an optimizer it made). */
function disposeNet(model: tfl.LayersModel): void {
  model.optimizer.dispose();
  model.dispose();
}

async function benchTraining(
  backend: string,
  config: BenchConfig['training'],
): Promise<TrainingResult> {
  const nets = {
    fused: convNet(() => pkg.instanceNormalization({axis: -1})),
    composite: convNet(() => new CompositeInstanceNorm({})),
  };
  const shape = [config.batch, 64, 64, 3];
  const size = config.batch * 64 * 64 * 3;
  const xs = tf.tensor(seeded(size, 5, 1, 0), shape);
  const ys = tf.tensor(seeded(size, 6, 1, 0), shape);
  const samples: Record<keyof typeof nets, number[]> = {fused: [], composite: []};
  for (const name of ['fused', 'composite'] as const) {
    for (let i = 0; i < config.warmupSteps; i++) await nets[name].trainOnBatch(xs, ys);
  }
  for (let r = 0; r < config.rounds; r++) {
    for (const name of ['fused', 'composite'] as const) {
      const start = performance.now();
      // trainOnBatch reads the loss back: each step ends with a sync.
      for (let i = 0; i < config.steps; i++) await nets[name].trainOnBatch(xs, ys);
      samples[name].push((performance.now() - start) / config.steps);
    }
  }
  disposeNet(nets.fused);
  disposeNet(nets.composite);
  tf.dispose([xs, ys]);
  return {
    backend,
    fusedKernels: hasFusedKernels(backend),
    layer: 'instanceNormalization({axis: -1})',
    msPerStep: {fused: median(samples.fused), composite: median(samples.composite)},
  };
}

async function runBenchmark(config: BenchConfig): Promise<BenchOutput> {
  const output: BenchOutput = {
    userAgent: navigator.userAgent,
    backends: {},
    cases: [],
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
    for (const shapeCase of config.shapes) {
      const size = shapeCase.shape.reduce((a, b) => a * b, 1);
      const label = `${backend} [${shapeCase.shape}] ${shapeCase.dataFormat}`;
      const maxSize = config.maxSize[backend] ?? Infinity;
      if (size > maxSize) {
        output.skipped.push(label);
        log(`${label}: skipped (more than ${maxSize} elements)`);
        continue;
      }
      const result = await benchShape(backend, shapeCase, config);
      output.cases.push(result);
      log(`${label}: ${VARIANTS.map(v => `${v} ${result.ms[v].toFixed(2)}`).join(', ')} ms`);
    }
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
