// Custom resources against their CRD's structural openAPIV3Schema: defaulting,
// pruning of unknown fields, and validation (type, required, enum,
// minimum/maximum, length, items, pattern, nullable, int-or-string), with the
// field paths and wording of the real API server.
// CEL rules (x-kubernetes-validations), formats and anyOf/allOf/oneOf/not are not
// evaluated. It must never change the object beyond defaults and pruning.
import { fieldInvalid, fieldNotSupported, fieldRequired, fieldTypeInvalid, fieldDuplicate } from '../api/errors.ts';
import type { FieldError } from '../api/errors.ts';
import { deepEqual, isPlainObject } from '../store/object.ts';
import type { JsonObject } from '../store/object.ts';

/** applyDefaults fills `default` values of missing properties, recursively (mutates value). */
export function applyDefaults(value: unknown, schema: JsonObject | undefined): void {
  if (!schema) return;
  if (isPlainObject(value)) {
    const props: JsonObject = schema.properties ?? {};
    for (const [name, sub] of Object.entries(props)) {
      if (value[name] === undefined && isPlainObject(sub) && sub.default !== undefined) {
        value[name] = structuredClone(sub.default);
      }
      if (value[name] !== undefined) applyDefaults(value[name], sub);
    }
    if (isPlainObject(schema.additionalProperties)) {
      for (const [name, v] of Object.entries(value)) if (!(name in props)) applyDefaults(v, schema.additionalProperties);
    }
  } else if (Array.isArray(value) && isPlainObject(schema.items)) {
    for (const item of value) applyDefaults(item, schema.items);
  }
}

/** pruneUnknown removes fields the schema does not declare and returns their paths ("spec.foo"). */
export function pruneUnknown(value: unknown, schema: JsonObject | undefined, path: string, isRoot = false): string[] {
  if (!schema || (schema['x-kubernetes-preserve-unknown-fields'] === true && !schema.properties)) return [];
  const unknown: string[] = [];
  if (isPlainObject(value)) {
    const props: JsonObject = schema.properties ?? {};
    const additional = schema.additionalProperties;
    for (const name of Object.keys(value)) {
      const child = join(path, name);
      if ((isRoot || schema['x-kubernetes-embedded-resource'] === true) && name === 'metadata') {
        // ObjectMeta is the API server's, whatever the schema says about it (often just `type: object`).
        continue;
      }
      if (name in props) {
        unknown.push(...pruneUnknown(value[name], props[name], child));
      } else if (isPlainObject(additional)) {
        unknown.push(...pruneUnknown(value[name], additional, child));
      } else if (additional === true || schema['x-kubernetes-preserve-unknown-fields'] === true) {
        // kept as is
      } else if ((isRoot || schema['x-kubernetes-embedded-resource'] === true) && (name === 'apiVersion' || name === 'kind' || name === 'metadata')) {
        // apiVersion, kind and metadata of (embedded) objects are always allowed.
      } else {
        unknown.push(child);
        delete value[name];
      }
    }
  } else if (Array.isArray(value) && isPlainObject(schema.items)) {
    value.forEach((item, i) => unknown.push(...pruneUnknown(item, schema.items, `${path}[${i}]`)));
  }
  return unknown;
}

/** validateAgainstSchema returns every violation of the schema, with field paths. */
export function validateAgainstSchema(value: unknown, schema: JsonObject | undefined, path: string): FieldError[] {
  if (!schema) return [];
  const errors: FieldError[] = [];
  const field = path || '<root>';
  if (value === null) {
    if (schema.nullable === true) return [];
    if (schema.type) errors.push(typeError(field, value, schema.type));
    return errors;
  }
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    if (!(typeof value === 'string' || Number.isInteger(value))) {
      errors.push(fieldTypeInvalid(field, typeName(value), `${field} in body must be of type integer,string: ${JSON.stringify(typeName(value))}`));
      return errors;
    }
  } else if (schema.type && !hasType(value, schema.type)) {
    errors.push(typeError(field, value, schema.type));
    return errors;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e: unknown) => deepEqual(e, value))) {
    errors.push(fieldNotSupported(field, value, schema.enum));
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number') {
      if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum) {
        errors.push(fieldInvalid(field, value, `${field} in body should be greater than ${schema.exclusiveMinimum === true ? '' : 'or equal to '}${schema.minimum}`));
      }
    }
    if (typeof schema.maximum === 'number') {
      if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum) {
        errors.push(fieldInvalid(field, value, `${field} in body should be less than ${schema.exclusiveMaximum === true ? '' : 'or equal to '}${schema.maximum}`));
      }
    }
    if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0 && Math.abs(value / schema.multipleOf - Math.round(value / schema.multipleOf)) > 1e-9) {
      errors.push(fieldInvalid(field, value, `${field} in body should be a multiple of ${schema.multipleOf}`));
    }
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) {
      errors.push(fieldInvalid(field, value, `${field} in body should be at least ${schema.minLength} chars long`));
    }
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) {
      errors.push({ type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${schema.maxLength} bytes` });
    }
    if (typeof schema.pattern === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema.pattern, 'u');
      } catch {
        re = undefined;
      }
      if (re && !re.test(value)) errors.push(fieldInvalid(field, value, `${field} in body should match '${schema.pattern}'`));
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
      errors.push(fieldInvalid(field, value.length, `${field} in body should have at least ${schema.minItems} items`));
    }
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
      errors.push({ type: 'FieldValueTooMany', field, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
    }
    if (schema.uniqueItems === true || schema['x-kubernetes-list-type'] === 'set') {
      value.forEach((v, i) => {
        if (value.findIndex((w) => deepEqual(v, w)) < i) errors.push(fieldDuplicate(`${path}[${i}]`, v));
      });
    }
    if (schema['x-kubernetes-list-type'] === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys'])) {
      const keys: string[] = schema['x-kubernetes-list-map-keys'];
      value.forEach((v, i) => {
        const id = (x: unknown) => JSON.stringify(keys.map((k) => (isPlainObject(x) ? x[k] : undefined)));
        if (value.findIndex((w) => id(w) === id(v)) < i) errors.push(fieldDuplicate(`${path}[${i}]`, v));
      });
    }
    if (isPlainObject(schema.items)) {
      value.forEach((item, i) => errors.push(...validateAgainstSchema(item, schema.items, `${path}[${i}]`)));
    }
  }
  if (isPlainObject(value)) {
    for (const name of Array.isArray(schema.required) ? schema.required : []) {
      if (value[name] === undefined) errors.push(fieldRequired(join(path, name)));
    }
    const count = Object.keys(value).length;
    if (typeof schema.minProperties === 'number' && count < schema.minProperties) {
      errors.push(fieldInvalid(field, count, `${field} in body should have at least ${schema.minProperties} properties`));
    }
    if (typeof schema.maxProperties === 'number' && count > schema.maxProperties) {
      errors.push(fieldInvalid(field, count, `${field} in body should have at most ${schema.maxProperties} properties`));
    }
    const props: JsonObject = schema.properties ?? {};
    for (const [name, v] of Object.entries(value)) {
      if (name in props) errors.push(...validateAgainstSchema(v, props[name], join(path, name)));
      else if (isPlainObject(schema.additionalProperties)) errors.push(...validateAgainstSchema(v, schema.additionalProperties, join(path, name)));
    }
  }
  return errors;
}

function join(path: string, name: string): string {
  const segment = /^[A-Za-z0-9_\-]+$/.test(name) ? name : `[${JSON.stringify(name)}]`;
  if (!path) return segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function typeError(field: string, value: unknown, type: string): FieldError {
  const got = typeName(value);
  return fieldTypeInvalid(field, got, `${field} in body must be of type ${type}: ${JSON.stringify(got)}`);
}
