/**
 * The SIMD module of the wasm backend's kernels (built from assembly/ by
 * scripts/build_wasm.mjs, inlined in module_bytes.ts): instantiated lazily and
 * synchronously, once per backend memory, on the backend's own memory, so
 * its kernels read and write tensors in place. Absent (null) where the
 * backend runs without SIMD (the tfjs flag WASM_HAS_SIMD_SUPPORT, which the
 * backend's own detection sets) or its memory cannot be found: the kernels
 * then run the float64 TypeScript loops.
 */
import {env} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import {INSTANCE_NORM_WASM, INSTANCE_NORM_WASM_SHARED} from './module_bytes';

/**
 * The exports of the module; pointers are byte offsets in the backend's
 * memory. A call takes a scratch block of `scratchBytes`, described by
 * `setup`, then runs `forward` or `gradient` on it.
 */
export interface SimdKernels {
  /** Bytes of scratch a call needs for C channels. */
  scratchBytes(channels: number): number;
  /**
   * Writes the call into the scratch block: geometry, gamma and beta (0 when
   * absent; `*PerInstance` 1 for `[N, C]`) and attributes (`stddevMode` 1 for
   * epsilonMode 'stddev', `activation` an index of ACTIVATIONS).
   */
  setup(
    scratch: number,
    batch: number,
    spatial: number,
    channels: number,
    groups: number,
    channelsLast: number,
    gamma: number,
    gammaPerInstance: number,
    beta: number,
    betaPerInstance: number,
    epsilon: number,
    stddevMode: number,
    activation: number,
    alpha: number,
  ): void;
  forward(scratch: number, x: number, y: number, mean: number, invStd: number): void;
  gradient(
    scratch: number,
    dy: number,
    x: number,
    mean: number,
    invStd: number,
    dx: number,
    dgamma: number,
    dbeta: number,
  ): void;
}

/** What this package reads of the backend's Emscripten module. */
interface EmscriptenHeap {
  /** The threaded build's (shared) memory. */
  wasmMemory?: WebAssembly.Memory;
  /** The exports of the other builds, which export their memory. */
  asm?: {memory?: WebAssembly.Memory};
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels>();
let compileFailed = false;

/** The backend's module as this package uses it. */
export function backendHeap(backend: BackendWasm): EmscriptenHeap {
  return backend.wasm as unknown as EmscriptenHeap;
}

/**
 * Whether the backend runs with SIMD: the flag WASM_HAS_SIMD_SUPPORT, as the
 * backend's own detection (or the app) set it. After `tf.env().reset()` the
 * flag has no value until evaluated again (asynchronously): then the same
 * detection the backend made, whether this engine validates a SIMD module.
 */
export function simdEnabled(): boolean {
  try {
    return env().getBool('WASM_HAS_SIMD_SUPPORT');
  } catch {
    if (engineValidatesSimd == null) {
      engineValidatesSimd =
        typeof WebAssembly === 'object' && WebAssembly.validate(decode(INSTANCE_NORM_WASM));
    }
    return engineValidatesSimd;
  }
}
let engineValidatesSimd: boolean | null = null;

/** The SIMD kernels on this backend's memory, or null to run the float64 loops. */
export function simdKernels(backend: BackendWasm): SimdKernels | null {
  if (compileFailed || typeof WebAssembly !== 'object' || !simdEnabled()) return null;
  const heap = backendHeap(backend);
  const memory = heap.wasmMemory ?? heap.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  const known = instances.get(memory);
  if (known) return known;
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  try {
    const module = new WebAssembly.Module(
      decode(shared ? INSTANCE_NORM_WASM_SHARED : INSTANCE_NORM_WASM),
    );
    const instance = new WebAssembly.Instance(module, {env: {memory}});
    const kernels = instance.exports as unknown as SimdKernels;
    instances.set(memory, kernels);
    return kernels;
  } catch {
    compileFailed = true;
    return null;
  }
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
