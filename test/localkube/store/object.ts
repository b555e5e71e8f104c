// The shape of an API object as the local control plane stores it (plain JSON),
// and small helpers over it. It must never know about any particular kind.

/** JsonObject is any JSON object; API objects are manipulated as plain JSON. */
export type JsonObject = Record<string, any>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: JsonObject[];
  [extra: string]: unknown;
}

/** KubeObject is a stored API object: apiVersion, kind, metadata and any other fields. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: any;
}

/** deepFreeze makes a stored object immutable, so no reader can change the store by accident. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

/** mutable returns a deep, writable copy of a (possibly frozen) object. */
export function mutable<T>(value: T): T {
  return structuredClone(value) as T;
}

/** nowTimestamp is the current time in the API's second-resolution RFC 3339 form. */
export function nowTimestamp(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** microTimestamp is the current time in the API's MicroTime form (events, leases). */
export function microTimestamp(clock: () => number = Date.now): string {
  return new Date(clock()).toISOString().replace(/Z$/, '000Z');
}

/** deepEqual compares two JSON values structurally (object key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.hasOwn(bo, k) && deepEqual(ao[k], bo[k]));
}

/** isPlainObject tells a JSON object from arrays, null and scalars. */
export function isPlainObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
