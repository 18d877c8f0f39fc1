/**
 * Initializers, regularizers and constraints from the forms a layer config
 * holds them in: an instance, a tfjs identifier ('zeros', 'nonNeg', 'l1l2'),
 * or a Keras config `{className, config}` as a loaded model JSON has it.
 *
 * tfjs-layers resolves these with getInitializer / getRegularizer /
 * getConstraint, which its public entry does not export (and a deep import of
 * its dist/ would load a second copy of tfjs-layers in Node). The classes are
 * registered in tfjs-core's SerializationMap, which is public, so this module
 * looks them up there.
 */
import * as tf from '@tensorflow/tfjs-core';
import type {Constraint} from '@tensorflow/tfjs-layers/dist/constraints';
import type {Initializer} from '@tensorflow/tfjs-layers/dist/initializers';
import type {Regularizer} from '@tensorflow/tfjs-layers/dist/regularizers';

export type {Constraint, Initializer, Regularizer};

/** What a config may hold for an initializer, regularizer or constraint. */
export type KerasObjectIdentifier<T> = T | string | tf.serialization.ConfigDict;

type Kind = 'initializer' | 'regularizer' | 'constraint';

/** tfjs identifiers whose class name is not the identifier capitalized. */
const CLASS_NAME_OF_IDENTIFIER: Record<string, string> = {l1l2: 'L1L2'};

/**
 * The class behind a tfjs identifier or a Keras class name. Keras saves
 * `regularizers.l1(0.01)` / `l2(0.01)` as classes `L1` / `L2` (tf.keras >= 2.3),
 * which tfjs does not register: they are L1L2 with the other rate zero.
 */
function kerasConfig(identifier: string | tf.serialization.ConfigDict): {
  className: string;
  config: tf.serialization.ConfigDict;
} {
  let className: string;
  let config: tf.serialization.ConfigDict;
  if (typeof identifier === 'string') {
    className =
      CLASS_NAME_OF_IDENTIFIER[identifier] ??
      identifier.charAt(0).toUpperCase() + identifier.slice(1);
    config = {};
  } else {
    className = identifier['className'] as string;
    config = (identifier['config'] ?? {}) as tf.serialization.ConfigDict;
    if (typeof className !== 'string' || typeof config !== 'object') {
      throw new Error(`expected {className, config}, but got ${JSON.stringify(identifier)}`);
    }
  }
  if (className === 'L1' || className === 'L2') {
    const rate = className.toLowerCase();
    config = {l1: 0, l2: 0, [rate]: config[rate] ?? 0.01};
    className = 'L1L2';
  }
  return {className, config};
}

/**
 * Resolves `identifier` to an instance; null/undefined give null. `owner`
 * names the layer and the argument in errors, e.g.
 * "InstanceNormalization layer 'norm1': gammaConstraint".
 */
export function resolveKerasObject<T>(
  kind: Kind,
  identifier: KerasObjectIdentifier<T> | null | undefined,
  owner: string,
): T | null {
  if (identifier == null) {
    return null;
  }
  if (
    typeof identifier === 'object' &&
    typeof (identifier as {apply?: unknown}).apply === 'function'
  ) {
    return identifier as T;
  }
  if (typeof identifier !== 'string' && typeof identifier !== 'object') {
    throw new Error(
      `${owner} must be a ${kind}, an identifier string or a ` +
        `{className, config} object, but got ${String(identifier)}.`,
    );
  }
  let resolved: {className: string; config: tf.serialization.ConfigDict};
  try {
    resolved = kerasConfig(identifier as string | tf.serialization.ConfigDict);
  } catch (e) {
    throw new Error(`${owner}: ${(e as Error).message}.`, {cause: e});
  }
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[resolved.className];
  if (entry == null) {
    throw new Error(
      `${owner}: unknown ${kind} '${resolved.className}' (from ${JSON.stringify(
        identifier,
      )}); register custom ones with ` + `tf.serialization.registerClass.`,
    );
  }
  const [cls, fromConfig] = entry;
  const instance = fromConfig(cls, resolved.config) as unknown as T;
  if (typeof (instance as {apply?: unknown}).apply !== 'function') {
    throw new Error(`${owner}: '${resolved.className}' is not a ${kind}.`);
  }
  return instance;
}

/** The Keras config `{className, config}` of an instance, or null. */
export function serializeKerasObject(
  instance: tf.serialization.Serializable | null,
): tf.serialization.ConfigDict | null {
  return instance == null
    ? null
    : {className: instance.getClassName(), config: instance.getConfig()};
}
