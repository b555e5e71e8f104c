// The HTTP front of the local control plane (Node's http module, plain HTTP on
// 127.0.0.1, and the same handler behind HTTPS for pods' in-cluster clients):
// version, health, discovery, OpenAPI, resource requests and the
// /localkube/v1 test hooks. Any token is the admin, except the service account
// tokens projected into pods, whose resource requests RBAC authorizes.
// Answers are always JSON (never protobuf, never 406).
// It must never implement API semantics: it routes to the api layer.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
} from '../kinds/discovery.ts';
import type { OpenApiCache } from '../kinds/openapi.ts';
import { parsePath } from './route.ts';
import { authenticate } from '../api/authn.ts';
import { allowed, forbiddenFor, requestVerb } from '../api/rbac.ts';
import { sendError, sendJson, sendText } from './respond.ts';
import { serveResource } from './resources.ts';
import type { PodLogServer } from './resources.ts';
import { WatchHub } from './watch.ts';
import type { WatchSettings } from './watch.ts';

/** VERSION is what GET /version answers; kubectl's dispatcher picks kubectl 1.32 from it. */
export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-localkube',
  gitCommit: 'localkube',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/**
 * OPENAPI_V2 is an empty OpenAPI v2 document in gnostic protobuf form
 * (swagger "2.0", info {title, version}), which is how client-go fetches v2.
 * kubectl validates `kind: List` files client-side against v2; with no
 * definitions everything passes and the server validates each item (Strict).
 */
const OPENAPI_V2 = (() => {
  const str = (field: number, s: string) => Buffer.concat([Buffer.from([(field << 3) | 2, Buffer.byteLength(s)]), Buffer.from(s)]);
  const info = Buffer.concat([str(1, 'Kubernetes'), str(2, 'v1.32.0')]);
  return Buffer.concat([str(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
})();

function sendOpenApiV2(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': String(OPENAPI_V2.length) });
  res.end(OPENAPI_V2);
}

/** ExtraRoute handles paths the API does not own (the test hooks); it returns false when the path is not its own. */
export type ExtraRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export interface ApiServerOptions {
  api: Api;
  openapi: OpenApiCache;
  watch?: Partial<WatchSettings>;
  podLogs?: PodLogServer;
  extraRoutes?: ExtraRoute[];
  /** log receives one line per request when set (debugging). */
  log?: (line: string) => void;
}

export interface ApiServer {
  server: http.Server;
  /** handler serves one request (the HTTPS listener uses it too). */
  handler: http.RequestListener;
  hub: WatchHub;
  setPodLogs(podLogs: PodLogServer): void;
  addRoute(route: ExtraRoute): void;
}

function discoveryVersion(accept: string | undefined): string | undefined {
  if (!accept || !accept.includes('apidiscovery.k8s.io')) return undefined;
  for (const part of accept.split(',')) {
    if (!part.includes('g=apidiscovery.k8s.io') || !part.includes('as=APIGroupDiscoveryList')) continue;
    if (/v=v2(;|$)/.test(part.replace(/\s/g, ''))) return 'v2';
    if (/v=v2beta1(;|$)/.test(part.replace(/\s/g, ''))) return 'v2beta1';
  }
  return undefined;
}

/** createApiServer builds the HTTP server (not yet listening). */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { api, openapi } = options;
  const hub = new WatchHub();
  const watch: WatchSettings = { bookmarkIntervalMs: 15000, defaultTimeoutSeconds: 1800, ...options.watch };
  let podLogs = options.podLogs;
  const routes = [...(options.extraRoutes ?? [])];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    for (const route of routes) if (await route(req, res, url)) return;
    if (method === 'GET') {
      if (p === '/version') return sendJson(res, 200, VERSION);
      if (p === '/healthz' || p === '/livez' || p === '/readyz') return sendText(res, 200, 'ok');
      if (p === '/api' || p === '/apis') {
        const v = discoveryVersion(req.headers.accept);
        if (v) {
          return sendJson(res, 200, aggregatedDiscovery(api.kinds, p === '/api', `apidiscovery.k8s.io/${v}`), AGGREGATED_CONTENT_TYPE.replace('v=v2', `v=${v}`));
        }
        if (p === '/api') return sendJson(res, 200, apiVersions(req.headers.host ?? '127.0.0.1'));
        return sendJson(res, 200, apiGroupList(api.kinds));
      }
      if (p === '/openapi/v2') return sendOpenApiV2(res);
      if (p === '/openapi/v3') return sendJson(res, 200, openapi.index());
      if (p.startsWith('/openapi/v3/')) {
        const doc = openapi.document(p.slice('/openapi/v3/'.length));
        if (doc) return sendJson(res, 200, doc);
        throw new ApiError(404, 'NotFound', `no OpenAPI document for ${p}`);
      }
    }
    const parsed = parsePath(p);
    if (parsed.kind === 'resource') {
      const user = authenticate(req.headers.authorization);
      if (!user.admin) {
        const rp = parsed.path;
        const watching = rp.legacyWatch || url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
        const attrs = { verb: requestVerb(method, !!rp.name, watching), group: rp.group, resource: rp.plural, subresource: rp.subresource, namespace: rp.namespace, name: rp.name };
        if (!allowed(api.store, user, attrs)) {
          req.resume();
          throw forbiddenFor(user, attrs);
        }
      }
      return serveResource(req, res, url, parsed.path, { api, hub, watch, podLogs });
    }
    if (method === 'GET' && parsed.kind === 'groupVersion') {
      const doc = apiResourceList(api.kinds, parsed.group, parsed.version);
      if (doc) return sendJson(res, 200, doc);
    }
    if (method === 'GET' && parsed.kind === 'group') {
      const doc = apiGroupDoc(api.kinds, parsed.group);
      if (doc) return sendJson(res, 200, doc);
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  };

  const handler: http.RequestListener = (req, res) => {
    const started = Date.now();
    if (options.log) res.on('finish', () => options.log!(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    handle(req, res).catch((err) => {
      // A request's body may still be arriving; drain it so the connection stays usable.
      req.resume();
      sendError(res, err);
    });
  };
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;
  return {
    server,
    handler,
    hub,
    setPodLogs(fn) {
      podLogs = fn;
    },
    addRoute(route) {
      routes.push(route);
    },
  };
}
