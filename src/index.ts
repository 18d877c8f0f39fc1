/**
 * tfjs-instance-norm: instance and group normalization with their gradients
 * for TensorFlow.js, as fused kernels of the cpu, webgl, webgpu and wasm
 * backends.
 *
 * Importing this module registers the kernels of all four backends and the
 * layer classes (side effects). It loads no backend package at runtime:
 * kernels are registered by backend name at import, loaded or not, and only
 * run on a backend the app installed (see register.ts). The per-backend
 * entries (`tfjs-instance-norm/webgl`, ...: src/webgl.ts, ...) export the
 * same API and register one backend's kernels only.
 */
import '../kernels/cpu/index';
import '../kernels/webgl/index';
import '../kernels/webgpu/index';
import '../kernels/wasm/index';

export * from './api';
