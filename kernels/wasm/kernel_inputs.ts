/**
 * What both SIMD kernels need from their inputs: byte offsets in the wasm
 * heap, the shape of gamma / beta, the attributes as the module's numbers,
 * and scratch memory from the backend's allocator.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import type {NormGeometry} from '../../src/geometry';
import {isPerInstance} from '../../src/geometry';
import {ACTIVATIONS, LEAKY_RELU_ALPHA, NormAttrs} from '../../src/kernel_names';
import {checkFloat32} from '../float64/memory';
import {backendHeap} from './simd_module';

/** The heap offset of a float32 tensor, 0 for an absent one. */
export function heapOffset(
  backend: BackendWasm,
  info: TensorInfo | undefined,
  name: string,
  kernelName: string,
): number {
  if (info == null) return 0;
  checkFloat32(info, name, kernelName);
  return backend.dataIdMap.get(info.dataId).memoryOffset >>> 0;
}

/** Throws unless gamma / beta is `[C]` or `[N, C]`; 1 for `[N, C]`, else 0. */
export function parameterLayout(
  info: TensorInfo | undefined,
  name: string,
  geometry: NormGeometry,
  kernelName: string,
): number {
  if (info == null) return 0;
  const {shape} = info;
  const perChannel = shape.length === 1 && shape[0] === geometry.channels;
  const perInstance =
    isPerInstance(shape) && shape[0] === geometry.batch && shape[1] === geometry.channels;
  if (!perChannel && !perInstance) {
    throw new Error(
      `${kernelName}: input '${name}' must have shape [${geometry.channels}] or ` +
        `[${geometry.batch}, ${geometry.channels}], but got [${shape}].`,
    );
  }
  return perInstance ? 1 : 0;
}

/** The attributes as the module takes them: epsilon, stddev mode, activation code, alpha. */
export function moduleAttrs(
  attrs: NormAttrs,
  kernelName: string,
): [number, number, number, number] {
  const mode = attrs.epsilonMode ?? 'variance';
  if (mode !== 'variance' && mode !== 'stddev') {
    throw new Error(
      `${kernelName}: attribute 'epsilonMode' must be 'variance' or 'stddev', but got ${String(mode)}.`,
    );
  }
  const activation = ACTIVATIONS.indexOf(attrs.activation ?? 'linear');
  if (activation < 0) {
    throw new Error(
      `${kernelName}: attribute 'activation' must be one of ${ACTIVATIONS.join(', ')}, ` +
        `but got ${String(attrs.activation)}.`,
    );
  }
  return [attrs.epsilon, mode === 'stddev' ? 1 : 0, activation, attrs.alpha ?? LEAKY_RELU_ALPHA];
}

/**
 * Makes float32 outputs, takes `scratch` bytes from the backend's allocator,
 * runs `write` with the scratch offset, frees the scratch always and the
 * outputs if `write` throws.
 */
export function withOutputs(
  backend: BackendWasm,
  shapes: number[][],
  scratch: number,
  write: (outputs: TensorInfo[], scratch: number) => void,
): TensorInfo[] {
  const outputs = shapes.map(shape => backend.makeOutput(shape, 'float32'));
  const heap = backendHeap(backend);
  let pointer = 0;
  try {
    pointer = heap._malloc(Math.max(scratch, 16)) >>> 0;
    write(outputs, pointer);
  } catch (e) {
    for (const info of outputs) backend.disposeData(info.dataId, true);
    throw e;
  } finally {
    if (pointer !== 0) heap._free(pointer);
  }
  return outputs;
}
