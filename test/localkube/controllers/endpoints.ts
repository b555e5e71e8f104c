// The endpoints controllers: for every Service with a selector, keeps an
// Endpoints object (ready pods in `addresses`, others in `notReadyAddresses`,
// everything in `addresses` when publishNotReadyAddresses is set; a pod's
// hostname when its subdomain is the Service's name) and EndpointSlices
// (discovery.k8s.io/v1, owned by the Service) from pod readiness.
// It must never touch Endpoints of Services without a selector (user-managed).
import { createHash } from 'node:crypto';
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import { matchesLabels, selectorFromMap } from '../api/selectors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { deepEqual } from '../store/object.ts';
import { QueuedController } from './controller.ts';
import { isPodReady as podReady } from '../kinds/builtin/pods.ts';

const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
const CONTROLLER = 'endpointslice-controller.k8s.io';


function targetPort(pod: KubeObject, port: JsonObject): number | undefined {
  const t = port.targetPort ?? port.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  for (const c of (pod.spec?.containers ?? []) as JsonObject[]) {
    const found = ((c.ports ?? []) as JsonObject[]).find((p) => p.name === t);
    if (found) return found.containerPort;
  }
  return undefined;
}

export class EndpointsController extends QueuedController {
  readonly #api: Api;

  constructor(api: Api) {
    super('endpoints controller');
    this.#api = api;
    this.follow(api.store, (e) => {
      const ns = e.object.metadata.namespace;
      if (e.resource === '/services') this.queue.add(`${ns}/${e.object.metadata.name}`);
      else if (e.resource === '/pods' && ns) for (const svc of api.store.list('/services', ns)) this.queue.add(`${ns}/${svc.metadata.name}`);
    });
    for (const svc of api.store.list('/services')) this.queue.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
  }

  protected reconcile(key: string): void {
    const [ns, name] = key.split('/');
    const api = this.#api;
    const endpointsType = api.kinds.byKind('', 'Endpoints')!;
    const svc = api.store.get('/services', ns, name);
    if (!svc) {
      const ep = api.store.get('/endpoints', ns, name);
      if (ep?.metadata.labels?.[MANAGED_BY] === CONTROLLER || ep?.metadata.annotations?.['localkube.dev/managed'] === 'true') {
        try {
          api.delete(endpointsType, ns, name);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
      return;
    }
    if (!svc.spec?.selector || svc.spec.type === 'ExternalName' || svc.metadata.deletionTimestamp) return;
    const selector = selectorFromMap(svc.spec.selector);
    const publishAll = svc.spec.publishNotReadyAddresses === true;
    const pods = api.store
      .list('/pods', ns)
      .filter((p) => matchesLabels(selector, p.metadata.labels) && p.status?.podIP && p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed');
    const svcPorts: JsonObject[] = svc.spec.ports ?? [];

    // Pods whose named target ports resolve differently land in different subsets.
    const groups = new Map<string, { ports: JsonObject[]; pods: KubeObject[] }>();
    for (const pod of pods) {
      const ports: JsonObject[] = [];
      for (const p of svcPorts) {
        const port = targetPort(pod, p);
        if (port === undefined) continue;
        const entry: JsonObject = { port, protocol: p.protocol ?? 'TCP' };
        if (p.name !== undefined) entry.name = p.name;
        if (p.appProtocol) entry.appProtocol = p.appProtocol;
        ports.push(entry);
      }
      const k = JSON.stringify(ports);
      const g = groups.get(k) ?? { ports, pods: [] as KubeObject[] };
      g.pods.push(pod);
      groups.set(k, g);
    }
    const address = (pod: KubeObject): JsonObject => {
      const a: JsonObject = { ip: pod.status.podIP, nodeName: pod.spec?.nodeName, targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid } };
      if (pod.spec?.hostname && pod.spec?.subdomain === name) a.hostname = pod.spec.hostname;
      return a;
    };
    const subsets: JsonObject[] = [];
    for (const g of groups.values()) {
      const ready = g.pods.filter((p) => !p.metadata.deletionTimestamp && (publishAll || podReady(p)));
      const notReady = publishAll ? [] : g.pods.filter((p) => !p.metadata.deletionTimestamp && !podReady(p));
      if (ready.length === 0 && notReady.length === 0) continue;
      const subset: JsonObject = {};
      if (ready.length > 0) subset.addresses = ready.map(address);
      if (notReady.length > 0) subset.notReadyAddresses = notReady.map(address);
      if (g.ports.length > 0) subset.ports = g.ports;
      subsets.push(subset);
    }
    this.#writeEndpoints(svc, subsets);
    this.#writeSlices(svc, [...groups.values()], publishAll);
  }

  #writeEndpoints(svc: KubeObject, subsets: JsonObject[]): void {
    const api = this.#api;
    const type = api.kinds.byKind('', 'Endpoints')!;
    const ns = svc.metadata.namespace!;
    const name = svc.metadata.name;
    const labels = { ...(svc.metadata.labels ?? {}), [MANAGED_BY]: CONTROLLER };
    const current = api.store.get('/endpoints', ns, name);
    if (!current) {
      api.create(type, ns, { metadata: { name, labels, annotations: { 'localkube.dev/managed': 'true' } }, ...(subsets.length ? { subsets } : {}) });
      return;
    }
    if (deepEqual(current.subsets ?? [], subsets) && deepEqual(current.metadata.labels ?? {}, labels)) return;
    api.mutate(type, ns, name, (ep) => {
      ep.metadata.labels = labels;
      if (subsets.length) ep.subsets = subsets;
      else delete ep.subsets;
    });
  }

  #writeSlices(svc: KubeObject, groups: { ports: JsonObject[]; pods: KubeObject[] }[], publishAll: boolean): void {
    const api = this.#api;
    const type = api.kinds.byKind('discovery.k8s.io', 'EndpointSlice');
    if (!type) return;
    const ns = svc.metadata.namespace!;
    const svcName = svc.metadata.name;
    const prefix = `${svcName.slice(0, 50)}-${createHash('sha256').update(svc.metadata.uid ?? '').digest('hex').slice(0, 5)}`;
    const wanted = new Map<string, JsonObject>();
    const list = groups.length > 0 ? groups : [{ ports: [], pods: [] }];
    list.forEach((g, i) => {
      const name = i === 0 ? prefix : `${prefix}-${i}`;
      wanted.set(name, {
        metadata: {
          name,
          labels: { 'kubernetes.io/service-name': svcName, [MANAGED_BY]: CONTROLLER },
          ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svcName, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
        },
        addressType: 'IPv4',
        endpoints: g.pods.map((pod) => {
          const ready = !pod.metadata.deletionTimestamp && podReady(pod);
          const e: JsonObject = {
            addresses: [pod.status.podIP],
            conditions: { ready: publishAll ? !pod.metadata.deletionTimestamp : ready, serving: podReady(pod), terminating: !!pod.metadata.deletionTimestamp },
            nodeName: pod.spec?.nodeName,
            targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
          };
          if (pod.spec?.hostname && pod.spec?.subdomain === svcName) e.hostname = pod.spec.hostname;
          return e;
        }),
        ports: g.ports,
      });
    });
    for (const existing of api.store.list('discovery.k8s.io/endpointslices', ns)) {
      if (existing.metadata.labels?.['kubernetes.io/service-name'] !== svcName || existing.metadata.labels?.[MANAGED_BY] !== CONTROLLER) continue;
      if (!wanted.has(existing.metadata.name)) {
        try {
          api.delete(type, ns, existing.metadata.name);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    for (const [name, slice] of wanted) {
      const current = api.store.get('discovery.k8s.io/endpointslices', ns, name);
      if (!current) {
        api.create(type, ns, slice);
      } else if (!deepEqual(current.endpoints, slice.endpoints) || !deepEqual(current.ports, slice.ports)) {
        api.mutate(type, ns, name, (s) => {
          s.endpoints = slice.endpoints;
          s.ports = slice.ports;
        });
      }
    }
  }
}
