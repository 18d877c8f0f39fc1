/**
 * What both SIMD kernels need from their inputs: byte offsets in the wasm
 * heap, the call as the module's `setup` takes it (geometry, gamma / beta and
 * their shapes, the attributes as numbers), and scratch memory from the
 * backend's allocator.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {BackendWasm} from '@tensorflow/tfjs-backend-wasm';

import type {NormGeometry} from '../../src/geometry';
import {isPerInstance} from '../../src/geometry';
import {ACTIVATIONS, LEAKY_RELU_ALPHA, NormAttrs} from '../../src/kernel_names';
import {checkFloat32} from '../float64/memory';
import {backendHeap, SimdKernels} from './simd_module';

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
function parameterLayout(
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
function moduleAttrs(attrs: NormAttrs, kernelName: string): [number, number, number, number] {
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

/** A call of the module, checked: the scratch it needs, and its `setup`. */
export interface ModuleCall {
  scratchBytes: number;
  /** Writes the call into the scratch block at `scratch`. */
  setup(scratch: number): void;
}

/** The call of the module for these inputs and attributes; throws on bad gamma / beta / attributes. */
export function moduleCall(
  backend: BackendWasm,
  kernels: SimdKernels,
  geometry: NormGeometry,
  parameters: {gamma?: TensorInfo; beta?: TensorInfo},
  attrs: NormAttrs,
  kernelName: string,
): ModuleCall {
  const {gamma, beta} = parameters;
  const gammaLayout = parameterLayout(gamma, 'gamma', geometry, kernelName);
  const betaLayout = parameterLayout(beta, 'beta', geometry, kernelName);
  const attributes = moduleAttrs(attrs, kernelName);
  const {batch, spatial, channels, groups} = geometry;
  const channelsLast = geometry.dataFormat === 'channelsLast' ? 1 : 0;
  return {
    scratchBytes: kernels.scratchBytes(channels),
    setup: scratch =>
      kernels.setup(
        scratch,
        batch,
        spatial,
        channels,
        groups,
        channelsLast,
        heapOffset(backend, gamma, 'gamma', kernelName),
        gammaLayout,
        heapOffset(backend, beta, 'beta', kernelName),
        betaLayout,
        ...attributes,
      ),
  };
}

/**
 * Makes float32 outputs, takes the call's scratch from the backend's
 * allocator, sets the call up in it and runs `write` with the scratch offset;
 * frees the scratch always and the outputs if `write` throws.
 */
export function withOutputs(
  backend: BackendWasm,
  call: ModuleCall,
  shapes: number[][],
  write: (outputs: TensorInfo[], scratch: number) => void,
): TensorInfo[] {
  const outputs = shapes.map(shape => backend.makeOutput(shape, 'float32'));
  const heap = backendHeap(backend);
  let pointer = 0;
  try {
    pointer = heap._malloc(Math.max(call.scratchBytes, 16)) >>> 0;
    call.setup(pointer);
    write(outputs, pointer);
  } catch (e) {
    for (const info of outputs) backend.disposeData(info.dataId, true);
    throw e;
  } finally {
    if (pointer !== 0) heap._free(pointer);
  }
  return outputs;
}
