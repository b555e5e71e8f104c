// Serves resource requests (/api/v1/…, /apis/G/V/…): maps the HTTP verb, path,
// query and content type onto the api layer, and renders the answer (object,
// list, Table, Scale, Status). It must never implement API semantics itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Api, DeleteOptions, FieldValidation, PatchType } from '../api/rest.ts';
import { ApiError, badRequest, methodNotAllowed, unsupportedMediaType } from '../api/errors.ts';
import { present } from '../api/present.ts';
import { patchScale, toScale, writeScale } from '../api/scale.ts';
import { bindPod, evictPod } from '../api/pod-subresources.ts';
import { groupVersion } from '../kinds/types.ts';
import { toTable, wantsTable } from '../kinds/table.ts';
import type { IncludeObject } from '../kinds/table.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { isPlainObject } from '../store/object.ts';
import type { ResourcePath } from './route.ts';
import { readBodyBytes, sendJson, successStatus } from './respond.ts';
import { decodeProtobufBody, isProtobufBody } from './protobuf-body.ts';
import { serveWatch } from './watch.ts';
import type { WatchHub, WatchSettings } from './watch.ts';

/** PodLogServer answers GET pods/NAME/log (provided by the kubelet). */
export type PodLogServer = (req: IncomingMessage, res: ServerResponse, pod: KubeObject, query: URLSearchParams) => Promise<void>;

export interface ResourceContext {
  api: Api;
  hub: WatchHub;
  watch: WatchSettings;
  podLogs?: PodLogServer;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

async function parseBody(req: IncomingMessage, allowYaml: boolean): Promise<unknown> {
  const bytes = await readBodyBytes(req);
  // client-go typed clients (helm 4's release storage) write built-ins as protobuf.
  if (isProtobufBody(req.headers['content-type'], bytes)) return decodeProtobufBody(bytes);
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    if (allowYaml) {
      const { loadYaml } = await import('@kubernetes/client-node');
      try {
        return loadYaml(text);
      } catch (yamlErr) {
        throw badRequest(`error decoding YAML: ${(yamlErr as Error).message}`);
      }
    }
    throw badRequest(`the body of the request is not valid JSON: ${(err as Error).message}`);
  }
}

function writeOptions(query: URLSearchParams, version: string, warnings: string[]) {
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((d) => d !== 'All')) throw badRequest(`dryRun must be "All", got ${JSON.stringify(dryRun)}`);
  return {
    version,
    dryRun: dryRun.length > 0,
    fieldValidation: (query.get('fieldValidation') ?? undefined) as FieldValidation | undefined,
    fieldManager: query.get('fieldManager') ?? undefined,
    force: query.get('force') === 'true',
    warnings,
  };
}

function deleteOptions(query: URLSearchParams, body: unknown): DeleteOptions {
  const opts: DeleteOptions = isPlainObject(body) ? { ...(body as DeleteOptions) } : {};
  const grace = query.get('gracePeriodSeconds');
  if (grace !== null) opts.gracePeriodSeconds = Number(grace);
  const policy = query.get('propagationPolicy');
  if (policy !== null) opts.propagationPolicy = policy;
  const orphan = query.get('orphanDependents');
  if (orphan !== null) opts.orphanDependents = orphan === 'true';
  if (query.getAll('dryRun').length > 0) opts.dryRun = true;
  if (isPlainObject(body) && Array.isArray(body.dryRun) && body.dryRun.length > 0) opts.dryRun = true;
  return opts;
}

/** wantsPartialMetadata tells whether the client asked for metadata only (client-go's metadata client). */
export function wantsPartialMetadata(accept: string | undefined): boolean {
  return !!accept && /as=PartialObjectMetadata(List)?\b/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

/** partialMetadata is an object as a meta.k8s.io/v1 PartialObjectMetadata. */
export function partialMetadata(obj: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** serveResource handles one request on a resource path. */
export async function serveResource(req: IncomingMessage, res: ServerResponse, url: URL, path: ResourcePath, ctx: ResourceContext): Promise<void> {
  const { api } = ctx;
  const type = api.kinds.find(path.group, path.version, path.plural);
  if (!type) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  if (path.namespace && !type.namespaced) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const method = req.method ?? 'GET';
  const query = url.searchParams;
  const version = path.version;
  const ns = path.namespace;
  const warnings: string[] = [];
  const table = wantsTable(req.headers.accept);
  const metadataOnly = !table && wantsPartialMetadata(req.headers.accept);
  const include = (query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
  const show = (obj: KubeObject): KubeObject => (metadataOnly ? partialMetadata(obj) : present(obj, type, version));
  const showOne = (obj: KubeObject) => (table ? toTable(type, version, [show(obj)], { includeObject: include, now: api.clock(), resourceVersion: obj.metadata.resourceVersion }) : show(obj));
  if (type.namespaced && path.name && !ns) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  const sub = path.subresource ?? '';

  if (!path.name) {
    if (method === 'GET' && (path.legacyWatch || query.get('watch') === 'true' || query.get('watch') === '1')) {
      serveWatch(req, res, api, ctx.hub, { type, version, namespace: ns, query, table, metadataOnly }, ctx.watch);
      return;
    }
    switch (method) {
      case 'GET': {
        const limit = query.get('limit');
        const result = api.list(type, ns, {
          labelSelector: query.get('labelSelector') ?? '',
          fieldSelector: query.get('fieldSelector') ?? '',
          limit: limit ? Number(limit) : undefined,
          continue: query.get('continue') ?? undefined,
        });
        if (table) {
          sendJson(res, 200, toTable(type, version, result.items.map(show), { includeObject: include, now: api.clock(), resourceVersion: result.resourceVersion, continue: result.continue }));
          return;
        }
        const metadata: JsonObject = { resourceVersion: result.resourceVersion };
        if (result.continue) {
          metadata.continue = result.continue;
          metadata.remainingItemCount = result.remainingItemCount;
        }
        const listType = metadataOnly ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' } : { kind: type.listKind, apiVersion: groupVersion(type.group, version) };
        sendJson(res, 200, { ...listType, metadata, items: result.items.map(show) });
        return;
      }
      case 'POST': {
        const body = await parseBody(req, false);
        const created = api.create(type, ns, body, writeOptions(query, version, warnings));
        sendJson(res, 201, showOne(created), 'application/json', warnings);
        return;
      }
      case 'DELETE': {
        const body = await parseBody(req, false);
        const deleted = api.deleteCollection(
          type,
          ns,
          { labelSelector: query.get('labelSelector') ?? '', fieldSelector: query.get('fieldSelector') ?? '' },
          deleteOptions(query, body),
        );
        sendJson(res, 200, { kind: type.listKind, apiVersion: groupVersion(type.group, version), metadata: {}, items: deleted.map(show) });
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  const name = path.name;
  if (sub === '' || sub === 'status') {
    if (sub === 'status' && !type.statusSubresource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    switch (method) {
      case 'GET':
        sendJson(res, 200, showOne(api.get(type, ns, name)));
        return;
      case 'PUT': {
        const body = await parseBody(req, false);
        const { object, created } = api.update(type, ns, name, body, { ...writeOptions(query, version, warnings), subresource: sub });
        sendJson(res, created ? 201 : 200, showOne(object), 'application/json', warnings);
        return;
      }
      case 'PATCH': {
        const ct = mediaType(req.headers['content-type']);
        const patchType = PATCH_TYPES[ct];
        if (!patchType) throw unsupportedMediaType();
        const body = await parseBody(req, patchType === 'apply');
        if (body === undefined) throw badRequest('the patch body is empty');
        const { object, created } = api.patch(type, ns, name, patchType, body, { ...writeOptions(query, version, warnings), subresource: sub });
        sendJson(res, created ? 201 : 200, showOne(object), 'application/json', warnings);
        return;
      }
      case 'DELETE': {
        if (sub !== '') throw methodNotAllowed();
        const body = await parseBody(req, false);
        const { object, deleted } = api.delete(type, ns, name, deleteOptions(query, body));
        sendJson(res, deleted ? 200 : 202, show(object));
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  if (sub === 'scale' && type.scale) {
    const opts = writeOptions(query, version, warnings);
    switch (method) {
      case 'GET':
        sendJson(res, 200, toScale(type, api.get(type, ns, name)));
        return;
      case 'PUT':
        sendJson(res, 200, writeScale(api, type, ns, name, await parseBody(req, false), opts));
        return;
      case 'PATCH': {
        const ct = mediaType(req.headers['content-type']);
        const patchType = PATCH_TYPES[ct];
        if (!patchType || patchType === 'apply') throw unsupportedMediaType();
        sendJson(res, 200, patchScale(api, type, ns, name, patchType, await parseBody(req, false), opts));
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  if (type.group === '' && type.plural === 'pods') {
    if (sub === 'log' && method === 'GET') {
      const pod = api.get(type, ns, name);
      if (!ctx.podLogs) throw new ApiError(503, 'ServiceUnavailable', 'no kubelet is running: pod logs are unavailable');
      await ctx.podLogs(req, res, pod, query);
      return;
    }
    if (sub === 'binding' && method === 'POST') {
      bindPod(api, type, ns, name, await parseBody(req, false));
      sendJson(res, 201, successStatus({}, 201), 'application/json');
      return;
    }
    if (sub === 'eviction' && method === 'POST') {
      evictPod(api, type, ns, name, await parseBody(req, false));
      sendJson(res, 201, successStatus({ name, kind: 'pods' }, 201));
      return;
    }
  }

  if (type.group === '' && type.plural === 'namespaces' && sub === 'finalize' && method === 'PUT') {
    const body = await parseBody(req, false);
    if (!isPlainObject(body)) throw badRequest('the body of the request must be a Namespace');
    const finalizers = Array.isArray(body.spec?.finalizers) ? body.spec.finalizers : [];
    const current = api.get(type, '', name);
    const updated = api.mutate(type, '', name, (n) => {
      n.spec = { ...(n.spec ?? {}), finalizers };
    });
    sendJson(res, 200, show(updated ?? current));
    return;
  }
  throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}
