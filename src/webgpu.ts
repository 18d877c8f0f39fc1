/**
 * `tfjs-instance-norm/webgpu`: the package's whole API (the same exports as the
 * root entry), registering the fused kernels for the 'webgpu' backend only. On
 * any other backend the ops compute through tfjs' built-in ops (the
 * composite), with the same results. An app may import several entries;
 * they share the API modules, so the layer classes are registered once.
 */
import '../kernels/webgpu/index';

export * from './api';
