/**
 * The per-signature plan memo: what a kernel computes from its call
 * signature alone (geometry, attributes, plans, programs, uniform values),
 * computed once per signature.
 */
import type {TensorInfo} from '@tensorflow/tfjs-core';
import type {WebGPUBackend} from '@tensorflow/tfjs-backend-webgpu';

import {NormGeometry, normGeometry} from '../../src/geometry';
import type {NormAttrs} from '../../src/kernel_names';
import {KernelAttributes, kernelAttributes} from '../common/attributes';
import {WorkgroupBudget, workgroupBudget} from './budget';
import {LruCache} from './lru_cache';

/**
 * Call signatures remembered: one per distinct (kernel, shapes, attributes,
 * workgroup budget); a model meets a few dozen.
 */
export const SIGNATURES_KEPT = 1024;

const signatures = new LruCache<string, Map<string, unknown>>(SIGNATURES_KEPT);

/** A value computed once per call signature: `memo(name, compute)`. */
export type Memo = <T>(name: string, compute: () => T) => T;

/**
 * The memo of a call signature: a string naming everything a kernel's
 * geometry, plans, programs and uniform values depend on. A repeated call
 * then skips them all: two map lookups per value.
 */
export function signatureMemo(signature: string): Memo {
  const values = signatures.getOrCreate(signature, () => new Map());
  return <T>(name: string, compute: () => T): T => {
    if (!values.has(name)) values.set(name, compute());
    return values.get(name) as T;
  };
}

/** What both kernels plan from, per call signature. */
export interface CallPlanning {
  budget: WorkgroupBudget;
  memo: Memo;
  geometry: NormGeometry;
  attributes: KernelAttributes;
}

/**
 * The memo of a kernel call and the values every plan starts from: the
 * signature is everything the plans depend on (the kernel, the shapes, the
 * attributes and the adapter's workgroup budget).
 */
export function callPlanning(
  kernel: string,
  backend: WebGPUBackend,
  x: TensorInfo,
  gamma: TensorInfo | undefined,
  beta: TensorInfo | undefined,
  attrs: Partial<NormAttrs> & Pick<NormAttrs, 'dataFormat' | 'groups'>,
): CallPlanning {
  const budget = workgroupBudget(backend);
  const signature = JSON.stringify([kernel, x.shape, attrs, gamma?.shape, beta?.shape, budget]);
  const memo = signatureMemo(signature);
  const geometry = memo('geometry', () =>
    normGeometry(x.shape, attrs.dataFormat, attrs.groups, kernel),
  );
  const attributes = memo('attributes', () => kernelAttributes(attrs, gamma, beta));
  return {budget, memo, geometry, attributes};
}

/** How many signatures the memo holds now (for the specs). */
export function signaturesHeld(): number {
  return signatures.size;
}
