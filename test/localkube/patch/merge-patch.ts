// RFC 7386 JSON Merge Patch (application/merge-patch+json): objects merge, null
// deletes, everything else (lists included) replaces. It must never mutate its inputs.
import { isPlainObject } from '../store/object.ts';

/** applyMergePatch returns target with patch merged in. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}
