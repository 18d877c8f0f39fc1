/**
 * Backend choice: webgpu, then webgl, then wasm, then cpu. Every failure is
 * turned into a sentence for the page, so a visitor learns why a backend is
 * missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
// demo/serve.mjs swaps in a stub with `setWasmPaths = undefined` when
// @tensorflow/tfjs-backend-wasm is not installed, and serves its .wasm files
// under /wasm/ when it is.
import * as wasm from '@tensorflow/tfjs-backend-wasm';

export const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export const BACKEND_LABELS: Record<BackendName, string> = {
  webgpu: 'WebGPU',
  webgl: 'WebGL',
  wasm: 'WASM',
  cpu: 'CPU',
};

const wasmPresent = typeof wasm.setWasmPaths === 'function';
if (wasmPresent) wasm.setWasmPaths('/wasm/');

/** Why a backend cannot run here, in words; null when nothing is known against it. */
async function precheck(name: BackendName): Promise<string | null> {
  if (name === 'webgpu') {
    if (!window.isSecureContext) {
      return 'WebGPU needs a secure origin: open the demo at http://localhost (as npm start prints).';
    }
    if (!navigator.gpu) {
      return 'this browser has no WebGPU (navigator.gpu is missing).';
    }
    const adapter = await navigator.gpu.requestAdapter().catch(() => null);
    if (!adapter) {
      return (
        'WebGPU found no usable GPU adapter (the GPU or driver may be blocklisted, ' +
        'or WebGPU is disabled).'
      );
    }
  }
  if (name === 'wasm') {
    if (!wasmPresent) {
      return 'this build of the demo has no WASM backend (@tensorflow/tfjs-backend-wasm is not installed).';
    }
    if (typeof WebAssembly !== 'object') {
      return 'this browser has no WebAssembly.';
    }
  }
  if (name === 'webgl') {
    const canvas = document.createElement('canvas');
    if (!canvas.getContext('webgl2') && !canvas.getContext('webgl')) {
      return 'this browser could not create a WebGL context (WebGL is disabled or unsupported).';
    }
  }
  return null;
}

/**
 * WebGPU reports a shader that fails to compile, or any other validation
 * error, as an event on the device, not as an exception: the kernel just
 * computes nothing. The page listens, so it can say so and move on.
 */
let onGpuError: (text: string) => void = () => {};
const watchedDevices = new WeakSet<GPUDevice>();

export function setGpuErrorHandler(handler: (text: string) => void): void {
  onGpuError = handler;
}

function watchWebGpuDevice(): void {
  const device = (tf.backend() as unknown as {device?: GPUDevice}).device;
  if (!device || watchedDevices.has(device)) return;
  watchedDevices.add(device);
  device.addEventListener('uncapturederror', event => {
    onGpuError((event as GPUUncapturedErrorEvent).error.message);
  });
}

/** Makes `name` the active tfjs backend, or throws an Error that says why it cannot be. */
export async function activateBackend(name: BackendName): Promise<void> {
  const reason = await precheck(name);
  if (reason) throw new Error(reason);
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(`tfjs could not start the ${BACKEND_LABELS[name]} backend: ${message(e)}`, {
      cause: e,
    });
  }
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tfjs could not start the ${BACKEND_LABELS[name]} backend (see the console).`);
  }
  await tf.ready();
  if (name === 'webgpu') watchWebGpuDevice();
}

export function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // Shader compile errors carry the whole shader source; the first lines say what failed.
  return text.split('\n').slice(0, 3).join(' ').slice(0, 300);
}
