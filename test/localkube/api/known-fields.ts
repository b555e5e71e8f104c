// Unknown fields in a request body, as the API server treats them: dropped,
// and with fieldValidation=Strict a 400 "strict decoding error" (Warn: a Warning
// header). Checked here: ObjectMeta for every kind and the top-level fields of
// built-in kinds (custom resources are pruned against their CRD schema).
// It must never drop a field the kind declares.
import { badRequest } from './errors.ts';
import type { KubeObject } from '../store/object.ts';
import type { ResourceType, WriteContext } from '../kinds/types.ts';

const META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

/** dropUnknownFields removes undeclared fields (mutating obj), or throws 400 under Strict. */
export function dropUnknownFields(type: ResourceType, obj: KubeObject, ctx: WriteContext): void {
  const unknown: string[] = [];
  for (const key of Object.keys(obj.metadata)) {
    if (!META_FIELDS.has(key)) {
      unknown.push(`metadata.${key}`);
      delete obj.metadata[key];
    }
  }
  if (type.topLevelFields) {
    const allowed = new Set(['apiVersion', 'kind', 'metadata', ...type.topLevelFields]);
    for (const key of Object.keys(obj)) {
      if (!allowed.has(key)) {
        unknown.push(key);
        delete obj[key];
      }
    }
  }
  if (unknown.length === 0) return;
  if (ctx.fieldValidation === 'Strict') {
    throw badRequest(`${type.kind} in version "${ctx.version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
  }
  if (ctx.fieldValidation === 'Warn') for (const u of unknown) ctx.warnings.push(`unknown field "${u}"`);
}
