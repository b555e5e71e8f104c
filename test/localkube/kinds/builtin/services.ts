// The Service kind (core/v1): defaults (ports, type, a cluster IP from the
// local 127.x service range unless headless), validation, the immutable
// clusterIP, and the `kubectl get svc` columns.
// It must never proxy traffic or publish names: the kubelet's network does.
import type { FieldError } from '../../api/errors.ts';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired } from '../../api/errors.ts';
import type { JsonObject, KubeObject } from '../../store/object.ts';
import { isPlainObject } from '../../store/object.ts';
import { age, column, NAME_COLUMN } from '../printing.ts';
import type { ResourceType } from '../types.ts';
import { defineBuiltin } from './define.ts';

/** ClusterIPAllocator hands out a service address; undefined when the range is exhausted. */
export interface ClusterIPAllocator {
  allocate(namespace: string, name: string): string | undefined;
}

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

function defaultService(obj: KubeObject): void {
  const spec = (obj.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName') {
    spec.internalTrafficPolicy ??= 'Cluster';
    spec.ipFamilies ??= ['IPv4'];
    spec.ipFamilyPolicy ??= 'SingleStack';
  }
  for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
    if (!isPlainObject(p)) continue;
    p.protocol ??= 'TCP';
    p.targetPort ??= p.port;
  }
}

function validateService(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const spec: JsonObject = obj.spec ?? {};
  if (!SERVICE_TYPES.includes(spec.type)) errors.push(fieldNotSupported('spec.type', spec.type, SERVICE_TYPES));
  const ports: JsonObject[] = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && spec.type !== 'ExternalName' && spec.clusterIP !== 'None') errors.push(fieldRequired('spec.ports'));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) errors.push(fieldInvalid(`spec.ports[${i}].port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
    if (ports.length > 1 && !p.name) errors.push(fieldRequired(`spec.ports[${i}].name`));
    if (p.name) {
      if (names.has(p.name)) errors.push(fieldDuplicate(`spec.ports[${i}].name`, p.name));
      names.add(p.name);
    }
  });
  if (old && old.spec?.clusterIP && spec.clusterIP !== old.spec.clusterIP) {
    errors.push(fieldInvalid('spec.clusterIP', spec.clusterIP ?? '', 'field is immutable'));
  }
  if (spec.selector !== undefined && !isPlainObject(spec.selector)) errors.push(fieldInvalid('spec.selector', spec.selector, 'must be a map of labels'));
  return errors;
}

function portsCell(spec: JsonObject): string {
  const ports: JsonObject[] = spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

/** serviceType builds the Service kind around the network's cluster IP allocator. */
export function serviceType(ips: ClusterIPAllocator): ResourceType {
  return defineBuiltin({
    topLevelFields: ['spec', 'status'],
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    statusSubresource: true,
    nameRule: 'dns1035',
    print: {
      columns: [
        NAME_COLUMN,
        column('Type', 'string', 'type determines how the Service is exposed.'),
        column('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
        column('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
        column('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
        column('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
        column('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', 1),
      ],
      cells(svc, now) {
        const spec = svc.spec ?? {};
        const external = spec.type === 'ExternalName' ? spec.externalName : (spec.externalIPs ?? []).join(',') || '<none>';
        const selector = Object.entries(spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
        return [svc.metadata.name, spec.type, spec.clusterIP || '<none>', external, portsCell(spec), age(svc.metadata.creationTimestamp, now), selector];
      },
    },
    rules: {
      prepareCreate(obj) {
        defaultService(obj);
        const spec = obj.spec;
        if (spec.type !== 'ExternalName' && !spec.clusterIP) {
          const ip = ips.allocate(obj.metadata.namespace ?? '', obj.metadata.name);
          if (ip) spec.clusterIP = ip;
        }
        if (spec.clusterIP) spec.clusterIPs ??= [spec.clusterIP];
        obj.status = { loadBalancer: {} };
      },
      prepareUpdate(next, old) {
        defaultService(next);
        // Like the API server: an update that omits the cluster IP keeps the allocated one.
        if (!next.spec.clusterIP && old.spec?.clusterIP) next.spec.clusterIP = old.spec.clusterIP;
        if (!next.spec.clusterIPs && old.spec?.clusterIPs) next.spec.clusterIPs = old.spec.clusterIPs;
      },
      validate: (obj, old) => validateService(obj, old),
    },
  });
}
