// Built-in kinds outside the core group: Lease (coordination.k8s.io/v1),
// PodDisruptionBudget (policy/v1), EndpointSlice (discovery.k8s.io/v1),
// StorageClass (storage.k8s.io/v1) and the RBAC kinds (stored, not enforced).
// It must never run controllers.
import { fieldInvalid, fieldRequired } from '../../api/errors.ts';
import type { FieldError } from '../../api/errors.ts';
import type { JsonObject } from '../../store/object.ts';
import { age, AGE_COLUMN, column, NAME_COLUMN } from '../printing.ts';
import type { ResourceType } from '../types.ts';
import { defineBuiltin } from './define.ts';

export const leaseType = defineBuiltin({
  topLevelFields: ['spec'],
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
  print: {
    columns: [NAME_COLUMN, column('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), AGE_COLUMN],
    cells: (l, now) => [l.metadata.name, l.spec?.holderIdentity ?? '', age(l.metadata.creationTimestamp, now)],
  },
  rules: {
    validate(obj) {
      const errors: FieldError[] = [];
      const d = obj.spec?.leaseDurationSeconds;
      if (d !== undefined && (!Number.isInteger(d) || d <= 0)) errors.push(fieldInvalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
      const t = obj.spec?.leaseTransitions;
      if (t !== undefined && (!Number.isInteger(t) || t < 0)) errors.push(fieldInvalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
      return errors;
    },
  },
});

function intOrPercent(v: unknown): string {
  return v === undefined || v === null ? 'N/A' : String(v);
}

export const pdbType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  namespaced: true,
  shortNames: ['pdb'],
  statusSubresource: true,
  generation: true,
  print: {
    columns: [
      NAME_COLUMN,
      column('Min Available', 'string', 'The minimum number of pods that must be available, either as a count or a percentage.'),
      column('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable, either as a count or a percentage.'),
      column('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
      AGE_COLUMN,
    ],
    cells: (p, now) => [
      p.metadata.name,
      intOrPercent(p.spec?.minAvailable),
      intOrPercent(p.spec?.maxUnavailable),
      p.status?.disruptionsAllowed ?? 0,
      age(p.metadata.creationTimestamp, now),
    ],
  },
  rules: {
    prepareCreate(obj) {
      obj.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    },
    validate(obj) {
      const errors: FieldError[] = [];
      const spec: JsonObject = obj.spec ?? {};
      if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
        errors.push(fieldInvalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
      }
      for (const f of ['minAvailable', 'maxUnavailable']) {
        const v = spec[f];
        if (v === undefined) continue;
        const ok = (Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^(\d+%|\d+)$/.test(v) && (!v.endsWith('%') || Number(v.slice(0, -1)) <= 100));
        if (!ok) errors.push(fieldInvalid(`spec.${f}`, v, 'must be a non-negative integer or a percentage between 0% and 100%'));
      }
      return errors;
    },
  },
});

export const endpointSliceType = defineBuiltin({
  topLevelFields: ['addressType', 'endpoints', 'ports'],
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  namespaced: true,
  print: {
    columns: [
      NAME_COLUMN,
      column('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
      column('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
      column('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
      AGE_COLUMN,
    ],
    cells(s, now) {
      const ports = (s.ports ?? []).map((p: JsonObject) => p.port).join(',') || '<unset>';
      const addrs = (s.endpoints ?? []).flatMap((e: JsonObject) => e.addresses ?? []);
      const shown = addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',') || '<unset>';
      return [s.metadata.name, s.addressType ?? '', ports, shown, age(s.metadata.creationTimestamp, now)];
    },
  },
  rules: {
    validate: (obj) => (obj.addressType ? [] : [fieldRequired('addressType')]),
  },
});

export const storageClassType = defineBuiltin({
  topLevelFields: ['provisioner', 'parameters', 'reclaimPolicy', 'mountOptions', 'allowVolumeExpansion', 'volumeBindingMode', 'allowedTopologies'],
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  namespaced: false,
  shortNames: ['sc'],
  print: {
    columns: [
      NAME_COLUMN,
      column('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
      column('ReclaimPolicy', 'string', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.'),
      column('VolumeBindingMode', 'string', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.'),
      column('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
      AGE_COLUMN,
    ],
    cells(sc, now) {
      const isDefault = sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
      return [
        isDefault ? `${sc.metadata.name} (default)` : sc.metadata.name,
        sc.provisioner ?? '',
        sc.reclaimPolicy ?? 'Delete',
        sc.volumeBindingMode ?? 'Immediate',
        String(sc.allowVolumeExpansion ?? false),
        age(sc.metadata.creationTimestamp, now),
      ];
    },
  },
  rules: {
    prepareCreate(obj) {
      obj.reclaimPolicy ??= 'Delete';
      obj.volumeBindingMode ??= 'Immediate';
    },
    validate: (obj) => (obj.provisioner ? [] : [fieldRequired('provisioner')]),
  },
});

const createdAtPrinter = {
  columns: [NAME_COLUMN, column('Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
  cells: (o: JsonObject) => [o.metadata.name, o.metadata.creationTimestamp],
};

function rbac(kind: string, plural: string, namespaced: boolean): ResourceType {
  const binding = kind.endsWith('Binding');
  return defineBuiltin({
    topLevelFields: binding ? ['subjects', 'roleRef'] : ['rules', 'aggregationRule'],
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind,
    plural,
    namespaced,
    nameRule: 'path',
    print: binding
      ? {
          columns: [NAME_COLUMN, column('Role', 'string', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'), AGE_COLUMN],
          cells: (b, now) => [b.metadata.name, `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, age(b.metadata.creationTimestamp, now)],
        }
      : createdAtPrinter,
    rules: binding ? { validate: (obj) => (obj.roleRef?.name ? [] : [fieldRequired('roleRef.name')]) } : {},
  });
}

export const GROUP_TYPES: ResourceType[] = [
  leaseType,
  pdbType,
  endpointSliceType,
  storageClassType,
  rbac('Role', 'roles', true),
  rbac('RoleBinding', 'rolebindings', true),
  rbac('ClusterRole', 'clusterroles', false),
  rbac('ClusterRoleBinding', 'clusterrolebindings', false),
];
