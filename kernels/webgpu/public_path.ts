/**
 * The kernels through tfjs' public API only: the composite of built-in ops,
 * taken when backend_seam.ts finds a private member missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Tensor, TensorInfo} from '@tensorflow/tfjs-core';

import {
  CompleteNormAttrs,
  instanceNormCompositeKernel,
  instanceNormGradCompositeKernel,
} from '../../src/composite';
import type {NormGeometry} from '../../src/geometry';
import type {InstanceNormGradInputs, InstanceNormInputs} from '../../src/kernel_names';
import type {KernelAttributes} from '../common/attributes';

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

/** Every attribute, defaults filled in, as the composite takes them. */
function completeAttrs(attributes: KernelAttributes, geometry: NormGeometry): CompleteNormAttrs {
  const {epsilon, epsilonMode, activation, alpha} = attributes;
  return {epsilon, epsilonMode, activation, alpha, ...geometry};
}

/** The forward's outputs, as tensors (the engine takes them as they are). */
export function forwardByOps(
  inputs: InstanceNormInputs,
  attributes: KernelAttributes,
  geometry: NormGeometry,
): Tensor[] {
  return tf.tidy(() =>
    instanceNormCompositeKernel(
      tensorOf(inputs.x) as Tensor,
      tensorOf(inputs.gamma),
      tensorOf(inputs.beta),
      completeAttrs(attributes, geometry),
    ),
  );
}

/** The gradient's outputs, as tensors. */
export function gradientByOps(
  inputs: InstanceNormGradInputs,
  attributes: KernelAttributes,
  geometry: NormGeometry,
): Tensor[] {
  return tf.tidy(() =>
    instanceNormGradCompositeKernel(
      tensorOf(inputs.dy) as Tensor,
      tensorOf(inputs.x) as Tensor,
      tensorOf(inputs.gamma),
      tensorOf(inputs.beta),
      tensorOf(inputs.mean) as Tensor,
      tensorOf(inputs.invStd) as Tensor,
      completeAttrs(attributes, geometry),
    ),
  );
}
