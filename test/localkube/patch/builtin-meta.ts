// The strategic-merge metadata (patchMergeKey / patchStrategy from the
// Kubernetes Go types) of the built-in kinds we serve. Fields not listed merge
// like a JSON merge patch (lists replace). It must never hold behaviour.
import type { PatchMeta } from './strategic.ts';

const merge = (mergeKey?: string, fields?: Record<string, PatchMeta>): PatchMeta => ({
  strategy: ['merge'],
  ...(mergeKey ? { mergeKey } : {}),
  ...(fields ? { fields } : {}),
});

const objectMeta: PatchMeta = {
  fields: { finalizers: merge(), ownerReferences: merge('uid') },
};

const conditions = merge('type');

const container: Record<string, PatchMeta> = {
  ports: merge('containerPort'),
  env: merge('name'),
  volumeMounts: merge('mountPath'),
  volumeDevices: merge('devicePath'),
};

const podSpec: PatchMeta = {
  fields: {
    volumes: { strategy: ['merge', 'retainKeys'], mergeKey: 'name' },
    initContainers: merge('name', container),
    containers: merge('name', container),
    ephemeralContainers: merge('name', container),
    imagePullSecrets: merge('name'),
    hostAliases: merge('ip'),
    topologySpreadConstraints: merge('topologyKey'),
    schedulingGates: merge('name'),
    resourceClaims: { strategy: ['merge', 'retainKeys'], mergeKey: 'name' },
  },
};

const podTemplate: PatchMeta = { fields: { metadata: objectMeta, spec: podSpec } };

/** BUILTIN_PATCH_META maps "group/Kind" to the kind's strategic-merge metadata. */
export const BUILTIN_PATCH_META: Record<string, PatchMeta> = {
  '/Pod': {
    fields: {
      metadata: objectMeta,
      spec: podSpec,
      status: { fields: { conditions, podIPs: merge('ip'), hostIPs: merge('ip') } },
    },
  },
  '/Service': {
    fields: { metadata: objectMeta, spec: { fields: { ports: merge('port') } }, status: { fields: { conditions } } },
  },
  '/Node': {
    fields: {
      metadata: objectMeta,
      spec: { fields: { podCIDRs: merge() } },
      status: { fields: { conditions, addresses: merge('type') } },
    },
  },
  '/Namespace': { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
  '/PersistentVolumeClaim': { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
  '/PersistentVolume': { fields: { metadata: objectMeta } },
  '/PodTemplate': { fields: { metadata: objectMeta, template: podTemplate } },
  'policy/PodDisruptionBudget': { fields: { metadata: objectMeta, status: { fields: { conditions } } } },
  'apps/Deployment': {
    fields: { metadata: objectMeta, spec: { fields: { template: podTemplate } }, status: { fields: { conditions } } },
  },
  'apps/ReplicaSet': {
    fields: { metadata: objectMeta, spec: { fields: { template: podTemplate } }, status: { fields: { conditions } } },
  },
  'apps/StatefulSet': { fields: { metadata: objectMeta, spec: { fields: { template: podTemplate } } } },
};

/** patchMetaFor returns the metadata of a kind; unknown kinds get only ObjectMeta's rules. */
export function patchMetaFor(group: string, kind: string): PatchMeta {
  return BUILTIN_PATCH_META[`${group}/${kind}`] ?? { fields: { metadata: objectMeta } };
}
