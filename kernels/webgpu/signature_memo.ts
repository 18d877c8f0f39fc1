/**
 * The per-signature plan memo: what a kernel computes from its call
 * signature alone (geometry, attributes, plans, programs, uniform values),
 * computed once per signature.
 */
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

/** How many signatures the memo holds now (for the specs). */
export function signaturesHeld(): number {
  return signatures.size;
}
