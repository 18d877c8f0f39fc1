/**
 * The one place where the WebGPU kernels touch tfjs internals.
 *
 * tfjs 4.22's `runWebGPUProgram` binds one output, so the multi-output
 * programs of this package are recorded by dispatch.ts exactly as the
 * backend's private `recordAndSubmit` does, through the private members
 * listed in {@link PRIVATE_MEMBERS}. Once per backend instance each member is
 * checked to exist with the expected type; if one does not (a tfjs release
 * renamed or reshaped it), the kernels take tfjs' public path instead (the
 * composite of built-in ops) and one console warning names the member.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import type {UniformValue} from './uniforms';

/** The private members of WebGPUBackend that recordAndSubmit uses. */
export interface BackendInternals {
  activeTimers?: Array<{name: string; query: Promise<number>}> | null;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
  tensorToBinding(tensor: TensorInfo): GPUBufferBinding;
  makeUniforms(values: UniformValue[]): GPUBufferBinding;
}

/** How a member's value is recognised. */
type Expected = 'function' | 'number' | 'boolean' | 'weakSet' | 'objectOrNull' | 'arrayOrAbsent';

/** Every private member the kernels use, with the type it must have. */
export const PRIVATE_MEMBERS: Readonly<Record<keyof BackendInternals, Expected>> = {
  activeTimers: 'arrayOrAbsent',
  commandEncoder: 'objectOrNull',
  computePassEncoder: 'objectOrNull',
  commandQueueOwnedIds: 'weakSet',
  dispatchCountInPass: 'number',
  supportTimestampQuery: 'boolean',
  querySet: 'objectOrNull',
  querySetCount: 'number',
  ensureCommandEncoderReady: 'function',
  endComputePassEncoder: 'function',
  submitQueue: 'function',
  getQueryTime: 'function',
  tensorToBinding: 'function',
  makeUniforms: 'function',
};

function matches(holder: object, member: string, expected: Expected): boolean {
  const value = (holder as Record<string, unknown>)[member];
  switch (expected) {
    case 'function':
    case 'number':
    case 'boolean':
      return typeof value === expected;
    case 'weakSet':
      return value instanceof WeakSet;
    case 'objectOrNull':
      // Present (an own field set in the constructor), null or an object.
      return member in holder && (value === null || typeof value === 'object');
    case 'arrayOrAbsent':
      // Set only while tf.time() runs.
      return value == null || Array.isArray(value);
  }
}

/** The first private member that is missing or of another type, or null. */
export function missingMember(backend: WebGPUBackend): string | null {
  for (const [member, expected] of Object.entries(PRIVATE_MEMBERS)) {
    if (!matches(backend, member, expected)) return member;
  }
  return null;
}

const checked = new WeakMap<WebGPUBackend, BackendInternals | null>();

/**
 * The backend's internals, checked once per backend instance; null when a
 * member is missing (the kernels then take the public path), after one
 * console warning naming it.
 */
export function backendInternals(backend: WebGPUBackend): BackendInternals | null {
  let internals = checked.get(backend);
  if (internals === undefined) {
    const missing = missingMember(backend);
    if (missing != null) {
      console.warn(
        `tfjs-instance-norm: WebGPUBackend has no member '${missing}' of the expected ` +
          `type (another tfjs release?); InstanceNorm and InstanceNormGrad run as ` +
          `built-in ops on this backend.`,
      );
    }
    internals = missing == null ? (backend as unknown as BackendInternals) : null;
    checked.set(backend, internals);
  }
  return internals;
}

/** Forgets the check of `backend`: the next kernel call checks it again. */
export function forgetBackendCheck(backend: WebGPUBackend): void {
  checked.delete(backend);
}
