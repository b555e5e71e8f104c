// The smaller core/v1 kinds: Namespace, ConfigMap, Secret, ServiceAccount,
// Event, Endpoints, Node, PersistentVolumeClaim and PersistentVolume, with
// their defaults, validation and `kubectl get` columns.
// It must never run controllers (namespace cleanup, PVC binding): controllers/ does.
import { fieldInvalid, fieldRequired, forbidden } from '../../api/errors.ts';
import type { FieldError } from '../../api/errors.ts';
import type { JsonObject, KubeObject } from '../../store/object.ts';
import { isPlainObject } from '../../store/object.ts';
import { age, AGE_COLUMN, column, NAME_COLUMN } from '../printing.ts';
import type { ResourceType } from '../types.ts';
import { defineBuiltin } from './define.ts';

const PROTECTED_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

export const namespaceType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  namespaced: false,
  shortNames: ['ns'],
  statusSubresource: true,
  otherSubresources: ['finalize'],
  nameRule: 'label',
  print: {
    columns: [NAME_COLUMN, column('Status', 'string', 'The status of the namespace'), AGE_COLUMN],
    cells: (ns, now) => [ns.metadata.name, ns.status?.phase ?? 'Active', age(ns.metadata.creationTimestamp, now)],
  },
  rules: {
    prepareCreate(obj) {
      obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
      obj.status = { phase: 'Active' };
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
    },
    prepareUpdate(next, old) {
      next.metadata.labels = { ...(next.metadata.labels ?? {}), 'kubernetes.io/metadata.name': next.metadata.name };
      if (next.spec === undefined) next.spec = old.spec;
    },
    prepareDelete(obj) {
      if (PROTECTED_NAMESPACES.has(obj.metadata.name)) {
        throw forbidden('namespaces', '', obj.metadata.name, 'this namespace may not be deleted');
      }
      obj.status = { ...(obj.status ?? {}), phase: 'Terminating' };
    },
    blocksRemoval: (obj) => (obj.spec?.finalizers ?? []).length > 0,
  },
  fieldSelectors: { 'status.phase': (o) => o.status?.phase ?? '' },
});

function dataCount(obj: KubeObject): number {
  return Object.keys(obj.data ?? {}).length + Object.keys(obj.binaryData ?? {}).length;
}

function validateDataKeys(obj: KubeObject, field: 'data' | 'binaryData' | 'stringData'): FieldError[] {
  const errors: FieldError[] = [];
  if (obj[field] === undefined) return errors;
  if (!isPlainObject(obj[field])) return [fieldInvalid(field, obj[field], 'must be a map of strings')];
  for (const [k, v] of Object.entries(obj[field])) {
    if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253) errors.push(fieldInvalid(`${field}[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
    if (typeof v !== 'string') errors.push(fieldInvalid(`${field}[${k}]`, v, 'must be a string'));
  }
  return errors;
}

export const configMapType = defineBuiltin({
  topLevelFields: ['data', 'binaryData', 'immutable'],
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
  shortNames: ['cm'],
  print: {
    columns: [NAME_COLUMN, column('Data', 'string', 'Data contains the configuration data.'), AGE_COLUMN],
    cells: (cm, now) => [cm.metadata.name, dataCount(cm), age(cm.metadata.creationTimestamp, now)],
  },
  rules: {
    validate: (obj) => [...validateDataKeys(obj, 'data'), ...validateDataKeys(obj, 'binaryData')],
  },
});

function foldStringData(obj: KubeObject): void {
  if (!isPlainObject(obj.stringData)) return;
  obj.data = { ...(obj.data ?? {}) };
  for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  delete obj.stringData;
}

export const secretType = defineBuiltin({
  topLevelFields: ['data', 'stringData', 'type', 'immutable'],
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
  print: {
    columns: [NAME_COLUMN, column('Type', 'string', 'Used to facilitate programmatic handling of secret data.'), column('Data', 'string', 'Data contains the secret data.'), AGE_COLUMN],
    cells: (s, now) => [s.metadata.name, s.type ?? 'Opaque', dataCount(s), age(s.metadata.creationTimestamp, now)],
  },
  fieldSelectors: { type: (o) => o.type ?? 'Opaque' },
  rules: {
    prepareCreate(obj) {
      obj.type ??= 'Opaque';
      foldStringData(obj);
    },
    prepareUpdate(obj, old) {
      obj.type ??= old.type ?? 'Opaque';
      foldStringData(obj);
    },
    validate(obj, old) {
      const errors = validateDataKeys(obj, 'data');
      for (const [k, v] of Object.entries(obj.data ?? {})) {
        if (typeof v === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) errors.push(fieldInvalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
      }
      if (old && old.type !== obj.type) errors.push(fieldInvalid('type', obj.type, 'field is immutable'));
      if (old?.immutable === true && (JSON.stringify(old.data) !== JSON.stringify(obj.data))) errors.push({ type: 'FieldValueForbidden', field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' });
      return errors;
    },
  },
});

export const serviceAccountType = defineBuiltin({
  topLevelFields: ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  namespaced: true,
  shortNames: ['sa'],
  print: {
    columns: [NAME_COLUMN, column('Secrets', 'string', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE_COLUMN],
    cells: (sa, now) => [sa.metadata.name, (sa.secrets ?? []).length, age(sa.metadata.creationTimestamp, now)],
  },
});

function involvedObjectCell(e: JsonObject): string {
  const o = e.involvedObject ?? {};
  return `${String(o.kind ?? '').toLowerCase()}/${o.name ?? ''}`;
}

export const eventType = defineBuiltin({
  topLevelFields: ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
  shortNames: ['ev'],
  allowCreateOnUpdate: true,
  nameRule: 'path',
  print: {
    columns: [
      column('Last Seen', 'string', 'Time when this Event was last seen'),
      column('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future.'),
      column('Reason', 'string', 'This should be a short, machine understandable string that gives the reason for this event being generated.'),
      column('Object', 'string', 'The object that this event is about.'),
      column('Subobject', 'string', 'The subobject (container) this event is about.', 1),
      column('Source', 'string', 'The component reporting this event.', 1),
      column('Message', 'string', 'A human-readable description of the status of this operation.'),
      column('First Seen', 'string', 'The time at which the event was first recorded.', 1),
      column('Count', 'string', 'The number of times this event has occurred.', 1),
      column('Name', 'string', 'Name of the event', 1, 'name'),
    ],
    cells(e, now) {
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const source = [e.source?.component ?? e.reportingComponent, e.source?.host].filter(Boolean).join(', ');
      return [
        age(last, now),
        e.type ?? '',
        e.reason ?? '',
        involvedObjectCell(e),
        e.involvedObject?.fieldPath ?? '',
        source,
        String(e.message ?? '').trim(),
        age(first, now),
        e.count ?? 1,
        e.metadata.name,
      ];
    },
  },
  fieldSelectors: {
    'involvedObject.kind': (o) => o.involvedObject?.kind ?? '',
    'involvedObject.namespace': (o) => o.involvedObject?.namespace ?? '',
    'involvedObject.name': (o) => o.involvedObject?.name ?? '',
    'involvedObject.uid': (o) => o.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (o) => o.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (o) => o.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (o) => o.involvedObject?.fieldPath ?? '',
    reason: (o) => o.reason ?? '',
    reportingComponent: (o) => o.reportingComponent ?? '',
    source: (o) => o.source?.component ?? o.reportingComponent ?? '',
    type: (o) => o.type ?? '',
  },
  rules: {
    validate(obj) {
      const errors: FieldError[] = [];
      if (!isPlainObject(obj.involvedObject)) errors.push(fieldRequired('involvedObject'));
      else if (obj.involvedObject.namespace && obj.involvedObject.namespace !== obj.metadata.namespace) {
        errors.push(fieldInvalid('involvedObject.namespace', obj.involvedObject.namespace, 'does not match event.namespace'));
      }
      return errors;
    },
  },
});

function endpointsCell(ep: KubeObject): string {
  const out: string[] = [];
  for (const subset of ep.subsets ?? []) {
    const ports: JsonObject[] = subset.ports?.length ? subset.ports : [{}];
    for (const a of subset.addresses ?? []) for (const p of ports) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  }
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

export const endpointsType = defineBuiltin({
  topLevelFields: ['subsets'],
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  plural: 'endpoints',
  singular: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  allowCreateOnUpdate: true,
  print: {
    columns: [NAME_COLUMN, column('Endpoints', 'string', 'Endpoints is the list of endpoints in the subsets.'), AGE_COLUMN],
    cells: (ep, now) => [ep.metadata.name, endpointsCell(ep), age(ep.metadata.creationTimestamp, now)],
  },
});

/** nodeStatusCell is the STATUS column of `kubectl get nodes`. */
export function nodeStatusCell(node: KubeObject): string {
  const ready = (node.status?.conditions ?? []).find((c: JsonObject) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

export const nodeType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  namespaced: false,
  shortNames: ['no'],
  statusSubresource: true,
  print: {
    columns: [
      NAME_COLUMN,
      column('Status', 'string', 'The status of the node'),
      column('Roles', 'string', 'The roles of the node'),
      AGE_COLUMN,
      column('Version', 'string', 'Kubelet Version reported by the node.'),
      column('Internal-IP', 'string', 'List of addresses reachable to the node.', 1),
      column('External-IP', 'string', 'List of addresses reachable to the node.', 1),
      column('OS-Image', 'string', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', 1),
      column('Kernel-Version', 'string', 'Kernel Version reported by the node.', 1),
      column('Container-Runtime', 'string', 'Container runtime version reported by the node.', 1),
    ],
    cells(node, now) {
      const roles = Object.keys(node.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      const addr = (t: string) => (node.status?.addresses ?? []).find((a: JsonObject) => a.type === t)?.address ?? '<none>';
      const info = node.status?.nodeInfo ?? {};
      return [
        node.metadata.name,
        nodeStatusCell(node),
        roles.join(',') || '<none>',
        age(node.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        addr('InternalIP'),
        addr('ExternalIP'),
        info.osImage ?? '<unknown>',
        info.kernelVersion ?? '<unknown>',
        info.containerRuntimeVersion ?? '<unknown>',
      ];
    },
  },
  fieldSelectors: { 'spec.unschedulable': (o) => String(o.spec?.unschedulable ?? false) },
});

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: 'RWO',
  ReadOnlyMany: 'ROX',
  ReadWriteMany: 'RWX',
  ReadWriteOncePod: 'RWOP',
};

function accessModes(modes: string[] | undefined): string {
  return (modes ?? []).map((m) => ACCESS_MODES[m] ?? m).join(',');
}

export const pvcType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  namespaced: true,
  shortNames: ['pvc'],
  statusSubresource: true,
  print: {
    columns: [
      NAME_COLUMN,
      column('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
      column('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
      column('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
      column('Access Modes', 'string', 'accessModes contains the actual access modes the volume backing the PVC has.'),
      column('StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'),
      column('VolumeAttributesClass', 'string', 'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.'),
      AGE_COLUMN,
      column('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1),
    ],
    cells(pvc, now) {
      const bound = pvc.status?.phase === 'Bound';
      return [
        pvc.metadata.name,
        pvc.metadata.deletionTimestamp ? 'Terminating' : (pvc.status?.phase ?? 'Pending'),
        pvc.spec?.volumeName ?? '',
        bound ? (pvc.status?.capacity?.storage ?? '') : '',
        bound ? accessModes(pvc.status?.accessModes) : '',
        pvc.spec?.storageClassName ?? '<unset>',
        pvc.spec?.volumeAttributesClassName ?? '<unset>',
        age(pvc.metadata.creationTimestamp, now),
        pvc.spec?.volumeMode ?? 'Filesystem',
      ];
    },
  },
  rules: {
    prepareCreate(obj) {
      obj.spec ??= {};
      obj.spec.volumeMode ??= 'Filesystem';
      obj.status = { phase: 'Pending' };
    },
    validate(obj, old) {
      const errors: FieldError[] = [];
      const spec = obj.spec ?? {};
      if (!Array.isArray(spec.accessModes) || spec.accessModes.length === 0) errors.push(fieldRequired('spec.accessModes'));
      if (!spec.resources?.requests?.storage) errors.push(fieldRequired('spec.resources[storage]'));
      if (old) {
        const strip = (s: JsonObject) => ({ ...s, resources: undefined, volumeName: undefined, storageClassName: undefined });
        if (JSON.stringify(strip(old.spec ?? {})) !== JSON.stringify(strip(spec))) {
          errors.push({ type: 'FieldValueForbidden', field: 'spec', message: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims' });
        }
      }
      return errors;
    },
  },
});

export const pvType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  namespaced: false,
  shortNames: ['pv'],
  statusSubresource: true,
  print: {
    columns: [
      NAME_COLUMN,
      column('Capacity', 'string', 'capacity is the description of the persistent volume\'s resources and capacity.'),
      column('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
      column('Reclaim Policy', 'string', 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.'),
      column('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
      column('Claim', 'string', 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.'),
      column('StorageClass', 'string', 'storageClassName is the name of StorageClass to which this persistent volume belongs.'),
      column('VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.'),
      column('Reason', 'string', 'reason is a brief CamelCase string that describes any failure.'),
      AGE_COLUMN,
      column('VolumeMode', 'string', 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', 1),
    ],
    cells(pv, now) {
      const claim = pv.spec?.claimRef ? `${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}` : '';
      return [
        pv.metadata.name,
        pv.spec?.capacity?.storage ?? '',
        accessModes(pv.spec?.accessModes),
        pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain',
        pv.metadata.deletionTimestamp ? 'Terminating' : (pv.status?.phase ?? 'Pending'),
        claim,
        pv.spec?.storageClassName ?? '',
        pv.spec?.volumeAttributesClassName ?? '<unset>',
        pv.status?.reason ?? '',
        age(pv.metadata.creationTimestamp, now),
        pv.spec?.volumeMode ?? 'Filesystem',
      ];
    },
  },
});

/** CORE_TYPES are the core/v1 kinds that need no outside dependencies. */
export const CORE_TYPES: ResourceType[] = [
  namespaceType,
  configMapType,
  secretType,
  serviceAccountType,
  eventType,
  endpointsType,
  nodeType,
  pvcType,
  pvType,
];
