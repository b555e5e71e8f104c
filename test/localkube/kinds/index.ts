// The resource types the local control plane serves: the registry, the
// built-in kinds, CRD support, discovery, OpenAPI and Table output.
// It must never hold objects.
import { CORE_TYPES } from './builtin/core.ts';
import { GROUP_TYPES } from './builtin/groups.ts';
import { APPS_TYPES } from './builtin/apps.ts';
import { podType } from './builtin/pods.ts';
import { serviceType } from './builtin/services.ts';
import type { ClusterIPAllocator } from './builtin/services.ts';
import { crdType } from './crd.ts';
import { Kinds } from './registry.ts';

export { Kinds, sortVersions } from './registry.ts';
export type { ResourceType, Printer, ColumnDefinition, WriteContext, KindRules, ScaleSpec } from './types.ts';
export { storeKey, groupVersion, qualifiedKind } from './types.ts';
export { crdType, customResourceType, acceptedNames } from './crd.ts';
export { podType, podStatusReason, defaultPodSpec } from './builtin/pods.ts';
export { deploymentType, replicaSetType } from './builtin/apps.ts';
export { nodeStatusCell } from './builtin/core.ts';
export type { ClusterIPAllocator } from './builtin/services.ts';
export { toTable, wantsTable } from './table.ts';
export type { IncludeObject } from './table.ts';
export { OpenApiCache } from './openapi.ts';
export { AGGREGATED_CONTENT_TYPE, aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions } from './discovery.ts';
export { evaluateJsonPath, getPath, setPath } from './jsonpath.ts';
export { humanDuration } from './printing.ts';

/** builtinKinds creates a registry holding every built-in kind. */
export function builtinKinds(clusterIPs: ClusterIPAllocator): Kinds {
  const kinds = new Kinds();
  for (const t of [...CORE_TYPES, podType, serviceType(clusterIPs), ...GROUP_TYPES, ...APPS_TYPES, crdType]) kinds.register(t);
  return kinds;
}
