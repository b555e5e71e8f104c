// The test hooks under /localkube/v1: crash, pause and resume a pod's
// container, list its processes, take a node away (NotReady, optionally killing
// its processes) and bring it back, wipe or locate a claim's directory, look up a
// Service's endpoints, resolve a cluster DNS name from the host, and compact the
// watch log (so old resourceVersions answer 410).
// It must never be reachable except through the local API server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, methodNotAllowed } from '../api/errors.ts';
import type { Api } from '../api/rest.ts';
import type { NodeLifecycle } from '../controllers/node-lifecycle.ts';
import type { VolumeController } from '../controllers/volumes.ts';
import type { Kubelet } from '../kubelet/kubelet.ts';
import type { JsonObject } from '../store/object.ts';
import { sendError, sendJson } from './respond.ts';
import type { ExtraRoute } from './http.ts';

export interface HookTargets {
  api: Api;
  kubelet?: Kubelet;
  volumes?: VolumeController;
  lifecycle?: NodeLifecycle;
  info: () => JsonObject;
}

const SIGNALS: Record<string, NodeJS.Signals> = { crash: 'SIGKILL', pause: 'SIGSTOP', resume: 'SIGCONT', term: 'SIGTERM' };

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new ApiError(503, 'ServiceUnavailable', `${what} is not running in this localkube`);
  return value;
}

/** hookRoute builds the /localkube/v1 route. */
export function hookRoute(t: HookTargets): ExtraRoute {
  return async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!url.pathname.startsWith('/localkube/v1/') && url.pathname !== '/localkube/v1') return false;
    try {
      req.resume();
      sendJson(res, 200, handle(t, req.method ?? 'GET', url));
    } catch (err) {
      sendError(res, err);
    }
    return true;
  };
}

function handle(t: HookTargets, method: string, url: URL): JsonObject {
  const parts = url.pathname.split('/').filter(Boolean).slice(2).map(decodeURIComponent);
  const q = url.searchParams;
  const [kind, a, b, action] = parts;
  const post = () => {
    if (method !== 'POST') throw methodNotAllowed(`use POST for ${url.pathname}`);
  };
  switch (kind) {
    case 'info':
      return t.info();
    case 'compact': {
      post();
      const rv = q.get('resourceVersion');
      t.api.store.compact(rv ? Number(rv) : undefined);
      return { compactedRevision: t.api.store.compactedRevision };
    }
    case 'dns': {
      const name = q.get('name');
      if (!name) throw badRequest('dns needs ?name=');
      return { name, addresses: need(t.kubelet, 'the kubelet').dns.resolve(name, q.get('namespace') ?? 'default') };
    }
    case 'pods': {
      if (!a || !b) throw badRequest('use /localkube/v1/pods/NAMESPACE/NAME/ACTION');
      const kubelet = need(t.kubelet, 'the kubelet');
      const worker = kubelet.worker(a, b);
      if (!worker) throw new ApiError(404, 'NotFound', `pod ${a}/${b} is not running on any localkube node`);
      if (action === 'processes' || action === undefined) return { namespace: a, name: b, processes: worker.pids() };
      const sig = SIGNALS[action];
      if (!sig) throw badRequest(`unknown pod action "${action}" (crash, pause, resume, term, processes)`);
      post();
      const container = q.get('container') ?? undefined;
      const sent = worker.signal(sig, container);
      if (!sent) throw new ApiError(409, 'Conflict', `container ${container ?? '(first)'} of pod ${a}/${b} is not running`);
      return { namespace: a, name: b, signal: sig };
    }
    case 'nodes': {
      const kubelet = need(t.kubelet, 'the kubelet');
      const node = kubelet.node(a ?? '');
      if (!node) throw new ApiError(404, 'NotFound', `no localkube node "${a}"`);
      if (b === 'notready') {
        post();
        node.setReady(false, q.get('kill') === 'true');
        t.lifecycle?.nodeLost(node.name);
        return { node: node.name, ready: false };
      }
      if (b === 'ready') {
        post();
        t.lifecycle?.nodeBack(node.name);
        node.setReady(true);
        return { node: node.name, ready: true };
      }
      if (b === undefined) return { node: node.name, ready: node.ready, ip: node.ip };
      throw badRequest(`unknown node action "${b}" (notready, ready)`);
    }
    case 'pvcs': {
      const volumes = need(t.volumes, 'the volume controller');
      if (!a || !b) throw badRequest('use /localkube/v1/pvcs/NAMESPACE/NAME[/wipe]');
      if (action === 'wipe') {
        post();
        return { namespace: a, name: b, path: volumes.wipe(a, b) };
      }
      if (action !== undefined) throw badRequest(`unknown claim action "${action}" (wipe)`);
      const at = volumes.claimDir(a, b);
      if ('error' in at) throw new ApiError(404, 'NotFound', at.error);
      return { namespace: a, name: b, path: at.dir };
    }
    case 'services': {
      if (!a || !b) throw badRequest('use /localkube/v1/services/NAMESPACE/NAME');
      const svc = t.api.store.get('/services', a, b);
      if (!svc) throw new ApiError(404, 'NotFound', `services "${b}" not found`);
      const ep = t.api.store.get('/endpoints', a, b);
      const endpoints: JsonObject[] = [];
      for (const s of (ep?.subsets ?? []) as JsonObject[]) {
        for (const [list, ready] of [[s.addresses, true], [s.notReadyAddresses, false]] as const) {
          for (const addr of (list ?? []) as JsonObject[]) {
            for (const p of (s.ports ?? [{}]) as JsonObject[]) endpoints.push({ ip: addr.ip, port: p.port, name: p.name ?? '', ready, pod: addr.targetRef?.name, hostname: addr.hostname });
          }
        }
      }
      return { namespace: a, name: b, clusterIP: svc.spec?.clusterIP, ports: svc.spec?.ports ?? [], endpoints };
    }
    default:
      throw new ApiError(404, 'NotFound', `no localkube hook at ${url.pathname}`);
  }
}
