/**
 * The kernels through tfjs' public API only: the composite of built-in ops,
 * taken when backend_seam.ts finds a private member missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorInfo} from '@tensorflow/tfjs-core';

import {instanceNormCompositeKernel, instanceNormGradCompositeKernel} from '../../src/composite';
import type {NormGeometry} from '../../src/geometry';
import type {InstanceNormGradInputs, InstanceNormInputs, NormAttrs} from '../../src/kernel_names';

/**
 * A tensor on the data of a kernel input, holding its own reference: the
 * data outlives the tensor's disposal at the end of the tidy.
 */
function tensorOf(info: TensorInfo | undefined): Tensor | undefined {
  if (info == null) return undefined;
  const engine = tf.engine();
  const tensor = engine.makeTensorFromTensorInfo(info);
  engine.backend.incRef(info.dataId);
  return tensor;
}

/** The forward's outputs, as tensors (the engine takes them as they are). */
export function forwardByOps(
  inputs: InstanceNormInputs,
  attrs: NormAttrs,
  geometry: NormGeometry,
): Tensor[] {
  return tf.tidy(() =>
    instanceNormCompositeKernel(
      tensorOf(inputs.x) as Tensor,
      tensorOf(inputs.gamma),
      tensorOf(inputs.beta),
      attrs.epsilon,
      geometry.dataFormat,
      geometry.groups,
    ),
  );
}

/** The gradient's outputs, as tensors. */
export function gradientByOps(
  inputs: InstanceNormGradInputs,
  attrs: NormAttrs,
  geometry: NormGeometry,
): Tensor[] {
  void attrs;
  return tf.tidy(() =>
    instanceNormGradCompositeKernel(
      tensorOf(inputs.dy) as Tensor,
      tensorOf(inputs.x) as Tensor,
      tensorOf(inputs.gamma),
      tensorOf(inputs.mean) as Tensor,
      tensorOf(inputs.invStd) as Tensor,
      geometry.dataFormat,
      geometry.groups,
    ),
  );
}
