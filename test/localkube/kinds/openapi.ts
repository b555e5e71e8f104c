// OpenAPI v3 documents, as much as kubectl needs: an index of group-versions
// (/openapi/v3) and, per group-version, a path per kind whose PATCH operation
// carries x-kubernetes-group-version-kind and the fieldValidation / dryRun query
// parameters (so kubectl validates on the server), plus component schemas
// (the CRD's openAPIV3Schema for custom resources). Strategic merge is not
// advertised, so kubectl falls back to its compiled-in patch metadata for
// built-ins and to merge patches for custom resources.
// It must never look at objects.
import { createHash } from 'node:crypto';
import type { JsonObject } from '../store/object.ts';
import type { Kinds } from './registry.ts';
import type { ResourceType } from './types.ts';

function schemaName(type: ResourceType, version: string): string {
  const reversedGroup = (type.group || 'core').split('.').reverse().join('.');
  return type.custom ? `${reversedGroup}.${version}.${type.kind}` : `io.k8s.api.${type.group ? type.group.split('.')[0] : 'core'}.${version}.${type.kind}`;
}

const queryParam = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });

const PATCH_PARAMS = [
  queryParam('dryRun', 'When present, indicates that modifications should not be persisted.'),
  queryParam('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  queryParam('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.'),
  { name: 'force', in: 'query', description: 'Force is going to "force" Apply requests.', schema: { type: 'boolean', uniqueItems: true } },
];

function pathsFor(type: ResourceType, version: string): JsonObject {
  const prefix = type.group ? `/apis/${type.group}/${version}` : `/api/${version}`;
  const scope = type.namespaced ? `${prefix}/namespaces/{namespace}/${type.plural}` : `${prefix}/${type.plural}`;
  const gvk = { group: type.group, version, kind: type.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(type, version)}` };
  const body = (types: string[]) => ({ content: Object.fromEntries(types.map((t) => [t, { schema: ref }])), required: true });
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const pathParams = [
    { name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } },
    ...(type.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }] : []),
  ];
  const op = (action: string, extra: JsonObject = {}) => ({
    operationId: `${action}${type.kind}`,
    responses: ok,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    ...extra,
  });
  const paths: JsonObject = {
    [scope]: {
      get: op('list'),
      post: op('post', { requestBody: body(['*/*']), parameters: PATCH_PARAMS.slice(0, 3) }),
      parameters: type.namespaced ? [pathParams[1]] : [],
    },
    [`${scope}/{name}`]: {
      get: op('get'),
      put: op('put', { requestBody: body(['*/*']), parameters: PATCH_PARAMS.slice(0, 3) }),
      patch: op('patch', {
        requestBody: body(['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml']),
        parameters: PATCH_PARAMS,
      }),
      delete: op('delete'),
      parameters: pathParams,
    },
  };
  if (type.statusSubresource) {
    paths[`${scope}/{name}/status`] = { get: op('get'), parameters: pathParams };
  }
  return paths;
}

function componentSchema(type: ResourceType, version: string): JsonObject {
  const gvk = [{ group: type.group, version, kind: type.kind }];
  const crdSchema = type.schema?.(version);
  if (crdSchema) {
    const props = { ...(crdSchema.properties ?? {}) };
    props.apiVersion ??= { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
    props.kind ??= { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
    props.metadata = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    return { ...crdSchema, properties: props, 'x-kubernetes-group-version-kind': gvk };
  }
  return { type: 'object', description: `${type.kind} (served by localkube without a detailed schema)`, 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-group-version-kind': gvk };
}

/** openApiDocument is the OpenAPI v3 document of one group-version, or undefined when it is not served. */
export function openApiDocument(kinds: Kinds, group: string, version: string): JsonObject | undefined {
  const types = kinds.all().filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const paths: JsonObject = {};
  const schemas: JsonObject = {};
  for (const t of types) {
    Object.assign(paths, pathsFor(t, version));
    schemas[schemaName(t, version)] = componentSchema(t, version);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

/** OpenApiCache serves the index and documents, rebuilding them when the registered kinds change. */
export class OpenApiCache {
  readonly #kinds: Kinds;
  #docs: Map<string, { doc: JsonObject; hash: string }> | undefined;

  constructor(kinds: Kinds) {
    this.#kinds = kinds;
    kinds.onChange(() => {
      this.#docs = undefined;
    });
  }

  #all(): Map<string, { doc: JsonObject; hash: string }> {
    if (this.#docs) return this.#docs;
    const docs = new Map<string, { doc: JsonObject; hash: string }>();
    for (const { group, versions } of this.#kinds.groupVersions()) {
      for (const version of versions) {
        const doc = openApiDocument(this.#kinds, group, version);
        if (!doc) continue;
        const key = group ? `apis/${group}/${version}` : `api/${version}`;
        docs.set(key, { doc, hash: createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase() });
      }
    }
    this.#docs = docs;
    return docs;
  }

  /** index answers GET /openapi/v3. */
  index(): JsonObject {
    const paths: JsonObject = {};
    for (const [key, { hash }] of this.#all()) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
    return { paths };
  }

  /** document answers GET /openapi/v3/api/v1 or /openapi/v3/apis/G/V. */
  document(key: string): JsonObject | undefined {
    return this.#all().get(key)?.doc;
  }
}
