// How a stored object is shown to a client of one API version: apiVersion and
// kind set for the requested version (custom resources are stored once and
// served in every version, conversion strategy None).
// It must never change the stored object.
import type { KubeObject } from '../store/object.ts';
import type { ResourceType } from '../kinds/types.ts';
import { groupVersion } from '../kinds/types.ts';

/** present returns the object as served in `version` (a shallow copy when apiVersion differs). */
export function present(obj: KubeObject, type: ResourceType, version: string): KubeObject {
  const apiVersion = groupVersion(type.group, version);
  if (obj.apiVersion === apiVersion && obj.kind === type.kind) return obj;
  return { ...obj, apiVersion, kind: type.kind };
}
