/**
 * The one place where the layers touch tfjs backend internals: a tensor's
 * values, read only where they already are in CPU memory, so that reading
 * them never waits for a GPU.
 *
 * Backends that keep tensors in CPU memory (cpu, wasm, tensorflow in Node:
 * every backend but webgl and webgpu) read them with `dataSync()`, which
 * costs no GPU sync there. WebGL and WebGPU keep a tensor made from JS values
 * in CPU memory until they upload it for a GPU op (the upload drops that
 * copy), and keep what `data()`/`dataSync()` read back. tfjs 4.22
 * holds both in one record per tensor, the `values` of
 * `backend.texData.get(dataId)` (webgl) or `backend.tensorMap.get(dataId)`
 * (webgpu), null while the values are only on the GPU. Those records are
 * reached only through the members listed in {@link GPU_BACKENDS}: once per
 * backend instance the member is checked to be a tfjs DataStorage (`has` and
 * `get` functions); if it is not (a tfjs release renamed or reshaped it), one
 * console warning names it and every tensor of that backend counts as
 * GPU-resident.
 *
 * Nothing here imports a backend package, so every entry of the package may
 * use it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Tensor} from '@tensorflow/tfjs-core';

/** A GPU backend of tfjs, as this module recognises it. */
export interface GpuBackendKind {
  /** The class, for messages. */
  name: string;
  /** A member only this backend has, which tells it apart (its GPU context). */
  marker: string;
  /** The private member holding one record per tensor, `values` among its fields. */
  storage: string;
}

/** The GPU backends whose per-tensor records may hold the values in CPU memory. */
export const GPU_BACKENDS: readonly GpuBackendKind[] = [
  {name: 'MathBackendWebGL', marker: 'gpgpu', storage: 'texData'},
  {name: 'WebGPUBackend', marker: 'device', storage: 'tensorMap'},
];

/** The part of tfjs' DataStorage that is read: the record of a dataId it holds. */
interface TensorRecords {
  has(dataId: object): boolean;
  get(dataId: object): unknown;
}

/** The fields of a record that are read (MathBackendWebGL's TextureData, WebGPU's TensorData). */
interface TensorRecord {
  /** The values in CPU memory, or null while they are only on the GPU. */
  values?: unknown;
  /** WebGL: set on a view into another tensor's texture; `values` are then the other tensor's. */
  slice?: unknown;
}

/** The GPU backend kind of `backend`, or null for a backend that keeps tensors in CPU memory. */
export function gpuBackendKind(backend: object): GpuBackendKind | null {
  return GPU_BACKENDS.find(kind => kind.marker in backend) ?? null;
}

function isTensorRecords(value: unknown): value is TensorRecords {
  const records = value as Partial<TensorRecords> | null;
  return (
    typeof records === 'object' &&
    records != null &&
    typeof records.has === 'function' &&
    typeof records.get === 'function'
  );
}

const checked = new WeakMap<object, TensorRecords | null>();

/**
 * The per-tensor records of a GPU backend, checked once per backend
 * instance; null when the member is missing or of another type, after one
 * console warning naming it.
 */
export function tensorRecords(backend: object, kind: GpuBackendKind): TensorRecords | null {
  let records = checked.get(backend);
  if (records === undefined) {
    const member = (backend as Record<string, unknown>)[kind.storage];
    records = isTensorRecords(member) ? member : null;
    if (records == null) {
      console.warn(
        `tfjs-instance-norm: ${kind.name} has no member '${kind.storage}' of the expected ` +
          `type (another tfjs release?); values of its tensors count as GPU-resident, so ` +
          `ConditionalInstanceNormalization does not check style ids on this backend.`,
      );
    }
    checked.set(backend, records);
  }
  return records;
}

/**
 * The values of `tensor` (numeric, on the active backend, or on `backend`)
 * where they are in CPU memory, read without a GPU sync; null where they are
 * only on the GPU (or a record is not as expected).
 */
export function valuesInCpuMemory(
  tensor: Tensor,
  backend: object = tf.engine().backend,
): ArrayLike<number> | null {
  if (tensor.dtype === 'string' || tensor.dtype === 'complex64') {
    return null;
  }
  const kind = gpuBackendKind(backend);
  if (kind == null) {
    return tensor.dataSync();
  }
  const records = tensorRecords(backend, kind);
  // A dataId the backend does not hold lives on another backend: DataStorage.get would move it.
  if (records == null || !records.has(tensor.dataId)) {
    return null;
  }
  const record = records.get(tensor.dataId) as TensorRecord | null;
  const values = record?.values;
  const valid =
    record?.slice == null &&
    ArrayBuffer.isView(values) &&
    !(values instanceof DataView) &&
    (values as unknown as ArrayLike<number>).length === tensor.size;
  return valid ? (values as unknown as ArrayLike<number>) : null;
}
