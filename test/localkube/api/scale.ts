// The autoscaling/v1 Scale subresource: a view of an object's replica count
// (custom resources map it through the CRD's specReplicasPath,
// statusReplicasPath and labelSelectorPath); writing it writes the object.
// It must never write anything but the spec replica field.
import type { Api, PatchType, WriteOptions } from './rest.ts';
import type { ResourceType } from '../kinds/types.ts';
import type { KubeObject } from '../store/object.ts';
import { isPlainObject, mutable } from '../store/object.ts';
import { getPath, setPath } from '../kinds/jsonpath.ts';
import { applyJsonPatch, applyMergePatch } from '../patch/index.ts';
import { badRequest, conflict, fieldInvalid, invalid, MODIFIED_CONFLICT, notFound } from './errors.ts';

/** toScale renders an object's Scale. */
export function toScale(type: ResourceType, obj: KubeObject): KubeObject {
  const scale = type.scale;
  if (!scale) throw notFound(`${type.plural}/scale`, type.group, obj.metadata.name);
  const spec = getPath(obj, scale.specReplicasPath);
  const status = getPath(obj, scale.statusReplicasPath);
  const selector = scale.labelSelectorPath ? getPath(obj, scale.labelSelectorPath) : undefined;
  const meta: KubeObject['metadata'] = {
    name: obj.metadata.name,
    uid: obj.metadata.uid,
    resourceVersion: obj.metadata.resourceVersion,
    creationTimestamp: obj.metadata.creationTimestamp,
  };
  if (obj.metadata.namespace) meta.namespace = obj.metadata.namespace;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: meta,
    spec: typeof spec === 'number' ? { replicas: spec } : {},
    status: {
      replicas: typeof status === 'number' ? status : 0,
      ...(typeof selector === 'string' && selector ? { selector } : {}),
    },
  };
}

/** writeScale stores a new replica count from a Scale (PUT …/scale); a stale resourceVersion answers 409. */
export function writeScale(api: Api, type: ResourceType, namespace: string, name: string, body: unknown, options: WriteOptions): KubeObject {
  if (!type.scale) throw notFound(`${type.plural}/scale`, type.group, name);
  if (!isPlainObject(body)) throw badRequest('the body of the request must be a Scale object');
  const current = api.get(type, namespace, name);
  const rv = body.metadata?.resourceVersion;
  if (rv && rv !== current.metadata.resourceVersion) throw conflict(type.plural, type.group, name, MODIFIED_CONFLICT);
  const replicas = body.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw invalid('Scale.autoscaling', 'Scale', 'autoscaling', name, [
      fieldInvalid('spec.replicas', replicas ?? null, 'must be greater than or equal to 0'),
    ]);
  }
  const next = mutable(current);
  setPath(next, type.scale.specReplicasPath, replicas);
  const { object } = api.update(type, namespace, name, next, options);
  return toScale(type, object);
}

/** patchScale patches the Scale view (merge or JSON patch) and writes it back. */
export function patchScale(api: Api, type: ResourceType, namespace: string, name: string, patchType: PatchType, patch: unknown, options: WriteOptions): KubeObject {
  const current = toScale(type, api.get(type, namespace, name));
  let next: unknown;
  if (patchType === 'json') next = applyJsonPatch(current, patch);
  else next = applyMergePatch(current, patch);
  return writeScale(api, type, namespace, name, next, options);
}
