/**
 * Uniforms declared once: a list of fields generates both the WGSL struct
 * and the values in the same order, so the two cannot drift.
 */

/** A scalar uniform field: its WGSL name and type. */
export interface UniformField {
  name: string;
  type: 'i32' | 'f32';
}

/** The values handed to the backend's uniform buffer, in field order. */
export interface UniformValue {
  type: 'int32' | 'float32';
  data: number[];
}

/** Fields of the given type, in the order given. */
export function fields(type: UniformField['type'], ...names: string[]): UniformField[] {
  return names.map(name => ({name, type}));
}

/** `struct Uniforms { ... }` for the fields. */
export function uniformStruct(list: readonly UniformField[]): string {
  const members = list.map(field => `${field.name} : ${field.type},`).join(' ');
  return `struct Uniforms { ${members} };`;
}

/**
 * The values of the fields, each looked up by name in `values` (an object
 * that may hold other properties too, e.g. a plan).
 */
export function uniformValues(list: readonly UniformField[], values: object): UniformValue[] {
  const byName = values as Record<string, unknown>;
  return list.map(field => {
    const value = byName[field.name];
    if (typeof value !== 'number') throw new Error(`uniform '${field.name}' has no value`);
    return {type: field.type === 'i32' ? 'int32' : 'float32', data: [value]};
  });
}

/** The geometry every program reads (NormGeometry, less the dataFormat). */
export const GEOMETRY_UNIFORMS: readonly UniformField[] = fields(
  'i32',
  'batch',
  'spatial',
  'channels',
  'channelsPerGroup',
  'groups',
);
