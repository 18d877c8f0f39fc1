/**
 * Which kind of renderer a webgl backend draws with, for planning: read once
 * per backend from its context's renderer string.
 */
import {env} from '@tensorflow/tfjs-core';
import type {MathBackendWebGL} from '@tensorflow/tfjs-backend-webgl';

/**
 * 'software': SwiftShader and the like, a handful of CPU threads, where the
 * total work counts. 'gpu': thousands of threads, where the longest loop a
 * fragment runs (latency) counts.
 */
export type Renderer = 'software' | 'gpu';

/**
 * An env flag forcing a plan regardless of the renderer: 'auto' (the
 * default), 'software' or 'gpu'. Registered on import; for tests and
 * benchmarks.
 */
export const PLAN_FLAG = 'INSTANCE_NORM_WEBGL_PLAN';
if (!isRegistered()) env().registerFlag(PLAN_FLAG, () => 'auto');

const renderers = new WeakMap<MathBackendWebGL, Renderer>();

/** Renderer strings of CPU implementations of WebGL. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** The renderer kind of a backend, read once from its context's renderer string. */
export function rendererOf(backend: MathBackendWebGL): Renderer {
  const forced = env().get(PLAN_FLAG);
  if (forced === 'software' || forced === 'gpu') return forced;
  let renderer = renderers.get(backend);
  if (renderer == null) {
    const gl = backend.gpgpu.gl;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(
      gl.getParameter(info != null ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '',
    );
    renderer = SOFTWARE_RENDERER.test(name) ? 'software' : 'gpu';
    renderers.set(backend, renderer);
  }
  return renderer;
}

function isRegistered(): boolean {
  try {
    env().get(PLAN_FLAG);
    return true;
  } catch {
    return false;
  }
}
