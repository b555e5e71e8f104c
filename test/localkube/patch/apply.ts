// A simplified server-side apply (application/apply-patch+yaml): the applied
// configuration is merged into the live object (strategic rules for built-ins,
// merge rules for custom resources), and the fields this field manager applied
// last time but no longer applies are removed. Each applier's field set is kept
// in metadata.managedFields (FieldsV1). Conflicts between managers are not
// detected (documented in the README). It must never mutate its inputs.
import { isPlainObject } from '../store/object.ts';
import type { JsonObject } from '../store/object.ts';
import { applyStrategicMergePatch } from './strategic.ts';
import type { PatchMeta } from './strategic.ts';

/** FieldSet is a FieldsV1 tree: "f:name" for fields, "k:{...}" for keyed list elements, "v:..." for set values. */
export type FieldSet = Record<string, JsonObject>;

const UNTRACKED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName']);

/** fieldSetOf lists the fields an applied configuration sets. */
export function fieldSetOf(config: JsonObject, meta: PatchMeta | undefined): FieldSet {
  const out: FieldSet = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'apiVersion' || key === 'kind' || value === null) continue;
    if (key === 'metadata' && isPlainObject(value)) {
      const sub: FieldSet = {};
      for (const [mk, mv] of Object.entries(value)) {
        if (UNTRACKED_META.has(mk) || mv === null) continue;
        sub[`f:${mk}`] = valueSet(mv, meta?.fields?.metadata?.fields?.[mk]);
      }
      if (Object.keys(sub).length > 0) out['f:metadata'] = sub;
      continue;
    }
    out[`f:${key}`] = valueSet(value, meta?.fields?.[key]);
  }
  return out;
}

function valueSet(value: unknown, meta: PatchMeta | undefined): JsonObject {
  if (isPlainObject(value)) {
    const sub: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) sub[`f:${k}`] = valueSet(v, meta?.fields?.[k]);
    return sub;
  }
  if (Array.isArray(value) && meta?.strategy?.includes('merge')) {
    const sub: JsonObject = {};
    for (const e of value) {
      if (meta.mergeKey && isPlainObject(e)) {
        const inner = valueSet(e, meta);
        sub[`k:${JSON.stringify({ [meta.mergeKey]: e[meta.mergeKey] })}`] = { '.': {}, ...inner };
      } else if (!isPlainObject(e)) {
        sub[`v:${JSON.stringify(e)}`] = {};
      }
    }
    return sub;
  }
  return {};
}

/** removeFields deletes from obj every field in `previous` that `current` no longer holds. */
export function removeFields(obj: JsonObject, previous: FieldSet, current: FieldSet): void {
  for (const [key, prevSub] of Object.entries(previous)) {
    if (key === '.') continue;
    const curSub = current[key];
    if (key.startsWith('f:')) {
      const field = key.slice(2);
      if (curSub === undefined) {
        delete obj[field];
      } else if (isPlainObject(obj[field]) && Object.keys(prevSub).length > 0) {
        removeFields(obj[field], prevSub, curSub);
      } else if (Array.isArray(obj[field])) {
        removeListEntries(obj[field], prevSub, curSub);
      }
    }
  }
}

function removeListEntries(list: unknown[], previous: FieldSet, current: FieldSet): void {
  for (const [key, prevSub] of Object.entries(previous)) {
    const curSub = current[key];
    if (key.startsWith('k:')) {
      const id = JSON.parse(key.slice(2)) as JsonObject;
      const [[k, v]] = Object.entries(id);
      const at = list.findIndex((e) => isPlainObject(e) && e[k] === v);
      if (at < 0) continue;
      if (curSub === undefined) list.splice(at, 1);
      else removeFields(list[at] as JsonObject, prevSub, curSub);
    } else if (key.startsWith('v:') && curSub === undefined) {
      const v = JSON.parse(key.slice(2));
      const at = list.indexOf(v);
      if (at >= 0) list.splice(at, 1);
    }
  }
}

export interface ApplyResult {
  object: JsonObject;
}

/**
 * applyConfiguration computes the object after `manager` applies `config` on top
 * of `live` (undefined when the object does not exist yet).
 */
export function applyConfiguration(
  live: JsonObject | undefined,
  config: JsonObject,
  manager: string,
  meta: PatchMeta | undefined,
  timestamp: string,
): JsonObject {
  const fields = fieldSetOf(config, meta);
  const entry = {
    manager,
    operation: 'Apply',
    apiVersion: config.apiVersion,
    time: timestamp,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
  };
  if (!live) {
    const created = structuredClone(config);
    created.metadata = { ...(created.metadata ?? {}), managedFields: [entry] };
    return created;
  }
  const base = structuredClone(live);
  const managed: JsonObject[] = Array.isArray(base.metadata?.managedFields) ? base.metadata.managedFields : [];
  const previous = managed.find((m) => m.manager === manager && m.operation === 'Apply');
  if (previous?.fieldsV1) removeFields(base, previous.fieldsV1, fields);
  const merged = applyStrategicMergePatch(base, withoutNulls(config), meta ?? { fields: {} });
  merged.metadata.managedFields = [...managed.filter((m) => !(m.manager === manager && m.operation === 'Apply')), entry];
  return merged;
}

function withoutNulls(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    out[k] = isPlainObject(v) ? withoutNulls(v) : v;
  }
  return out;
}
