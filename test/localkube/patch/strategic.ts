// Strategic merge patch (application/strategic-merge-patch+json) for built-in
// kinds: like a merge patch, except that lists the schema marks as "merge" are
// merged element by element (by a merge key such as a container's name), plus
// the directives $patch, $retainKeys, $setElementOrder/<f> and
// $deleteFromPrimitiveList/<f>. It must never mutate its inputs.
import { badRequest } from '../api/errors.ts';
import { isPlainObject } from '../store/object.ts';
import type { JsonObject } from '../store/object.ts';

/**
 * PatchMeta describes the patch strategy of one field. For a list field,
 * `fields` describes its elements; for an object field, its own fields.
 */
export interface PatchMeta {
  fields?: Record<string, PatchMeta>;
  /** mergeKey identifies the elements of a list of objects that merges. */
  mergeKey?: string;
  /** strategy is the field's patch strategy: "merge", "retainKeys" or both. */
  strategy?: ('merge' | 'retainKeys')[];
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM = '$deleteFromPrimitiveList/';

/** applyStrategicMergePatch merges patch into a copy of original following meta. */
export function applyStrategicMergePatch(original: unknown, patch: unknown, meta: PatchMeta | undefined): JsonObject {
  if (!isPlainObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
  const base = isPlainObject(original) ? structuredClone(original) : {};
  const merged = mergeMap(base, patch, meta);
  return merged ?? {};
}

function mergeMap(original: JsonObject, patch: JsonObject, meta: PatchMeta | undefined): JsonObject | undefined {
  const directive = patch.$patch;
  if (directive === 'delete') return undefined;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive !== undefined && directive !== 'merge') throw badRequest(`unknown $patch directive "${directive}"`);

  const out = original;
  const retainKeys = patch.$retainKeys;
  if (retainKeys !== undefined) {
    if (!Array.isArray(retainKeys)) throw badRequest('$retainKeys must be a list of field names');
    for (const key of Object.keys(out)) if (!retainKeys.includes(key)) delete out[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) throw badRequest(`${key} must be a list`);
      if (Array.isArray(out[field])) out[field] = out[field].filter((v: unknown) => !value.includes(v));
      continue;
    }
    const fieldMeta = meta?.fields?.[key];
    if (value === null) {
      delete out[key];
    } else if (isPlainObject(value)) {
      const merged = mergeMap(isPlainObject(out[key]) ? out[key] : {}, value, fieldMeta);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(out[key]) ? out[key] : [], value, fieldMeta);
    } else {
      out[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw badRequest(`${key} must be a list`);
    if (Array.isArray(out[field])) out[field] = reorder(out[field], order, meta?.fields?.[field]?.mergeKey);
  }
  return out;
}

function mergeList(original: unknown[], patch: unknown[], meta: PatchMeta | undefined): unknown[] {
  const merges = meta?.strategy?.includes('merge') ?? false;
  if (patch.some((e) => isPlainObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1)) {
    return patch.filter((e) => !(isPlainObject(e) && e.$patch === 'replace')).map((e) => (isPlainObject(e) ? stripDirectives(e) : e));
  }
  if (!merges) return patch.map((e) => (isPlainObject(e) ? stripDirectives(e) : e));
  const key = meta?.mergeKey;
  if (!key) {
    // A list of scalars that merges: the union, original order first.
    const out = [...original];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const out = original.map((e) => (isPlainObject(e) ? structuredClone(e) : e)) as unknown[];
  for (const element of patch) {
    if (!isPlainObject(element)) throw badRequest(`elements of a list merged by "${key}" must be objects`);
    if (!Object.hasOwn(element, key)) throw badRequest(`map: ${JSON.stringify(element)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((e) => isPlainObject(e) && e[key] === element[key]);
    if (element.$patch === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = mergeMap(out[at] as JsonObject, element, meta);
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    } else {
      out.push(mergeMap({}, element, meta) ?? {});
    }
  }
  return out;
}

function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (v: unknown) => (key && isPlainObject(v) ? v[key] : v);
  const wanted = order.map(id);
  const listed = wanted.map((w) => list.find((e) => id(e) === w)).filter((e) => e !== undefined);
  const rest = list.filter((e) => !wanted.includes(id(e)));
  return [...listed, ...rest];
}

function stripDirectives(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith(SET_ORDER) || k.startsWith(DELETE_FROM)) continue;
    out[k] = isPlainObject(v) ? stripDirectives(v) : Array.isArray(v) ? v.map((e) => (isPlainObject(e) ? stripDirectives(e) : e)) : v;
  }
  return out;
}
