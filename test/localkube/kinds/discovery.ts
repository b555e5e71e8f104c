// API discovery documents: the aggregated form (apidiscovery.k8s.io/v2, what
// kubectl 1.32 asks for) and the legacy APIVersions / APIGroupList / APIGroup /
// APIResourceList forms (client-node maps kind → plural with the latter).
// It must never look at objects: only at the registered types.
import type { JsonObject } from '../store/object.ts';
import type { Kinds } from './registry.ts';
import type { ResourceType } from './types.ts';
import { groupVersion } from './types.ts';

/** The Content-Type client-go requires to parse an aggregated discovery document. */
export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

interface SubresourceInfo {
  subresource: string;
  kind: { group: string; version: string; kind: string };
  verbs: string[];
}

function subresourcesOf(type: ResourceType, version: string): SubresourceInfo[] {
  const self = { group: type.group, version, kind: type.kind };
  const out: SubresourceInfo[] = [];
  if (type.statusSubresource) out.push({ subresource: 'status', kind: self, verbs: ['get', 'patch', 'update'] });
  if (type.scale) out.push({ subresource: 'scale', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] });
  for (const sub of type.otherSubresources) {
    if (sub === 'log') out.push({ subresource: 'log', kind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] });
    if (sub === 'binding') out.push({ subresource: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' }, verbs: ['create'] });
    if (sub === 'eviction') out.push({ subresource: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, verbs: ['create'] });
    if (sub === 'finalize') out.push({ subresource: 'finalize', kind: self, verbs: ['update'] });
  }
  return out;
}

function typesOf(kinds: Kinds, group: string, version: string): ResourceType[] {
  return kinds
    .all()
    .filter((t) => t.group === group && t.versions.includes(version))
    .sort((a, b) => (a.plural < b.plural ? -1 : 1));
}

/** aggregatedDiscovery is the APIGroupDiscoveryList for /api (core) or /apis (every other group). */
export function aggregatedDiscovery(kinds: Kinds, core: boolean, apiVersion = 'apidiscovery.k8s.io/v2'): JsonObject {
  const items = kinds
    .groupVersions()
    .filter(({ group }) => (group === '') === core)
    .map(({ group, versions }) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((version) => ({
        version,
        resources: typesOf(kinds, group, version).map((t) => {
          const entry: JsonObject = {
            resource: t.plural,
            responseKind: { group: t.group, version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs,
          };
          if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
          if (t.categories.length > 0) entry.categories = t.categories;
          const subs = subresourcesOf(t, version);
          if (subs.length > 0) {
            entry.subresources = subs.map((s) => ({ subresource: s.subresource, responseKind: s.kind, verbs: s.verbs }));
          }
          return entry;
        }),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion, metadata: {}, items };
}

/** apiVersions is the legacy answer to GET /api. */
export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string, versions: string[]): JsonObject {
  const list = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

/** apiGroupList is the legacy answer to GET /apis. */
export function apiGroupList(kinds: Kinds): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: kinds
      .groupVersions()
      .filter(({ group }) => group !== '')
      .map(({ group, versions }) => apiGroup(group, versions)),
  };
}

/** apiGroupDoc answers GET /apis/GROUP, or undefined for an unknown group. */
export function apiGroupDoc(kinds: Kinds, group: string): JsonObject | undefined {
  const gv = kinds.groupVersions().find((g) => g.group === group && group !== '');
  return gv ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(gv.group, gv.versions) } : undefined;
}

/** apiResourceList answers GET /api/v1 or /apis/G/V, or undefined when that version is not served. */
export function apiResourceList(kinds: Kinds, group: string, version: string): JsonObject | undefined {
  const types = typesOf(kinds, group, version);
  if (types.length === 0) return undefined;
  const resources: JsonObject[] = [];
  for (const t of types) {
    const entry: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
    if (t.categories.length > 0) entry.categories = t.categories;
    resources.push(entry);
    for (const s of subresourcesOf(t, version)) {
      const sub: JsonObject = { name: `${t.plural}/${s.subresource}`, singularName: '', namespaced: t.namespaced, kind: s.kind.kind, verbs: s.verbs };
      if (s.kind.group !== t.group || s.kind.version !== version) {
        sub.group = s.kind.group;
        sub.version = s.kind.version;
      }
      resources.push(sub);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources };
}
