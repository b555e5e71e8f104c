// Renders the group's Services and PodDisruptionBudget, and says whether an
// existing one needs updating: the headless peer Service (stable member DNS,
// published before members are Ready so they can find each other), the client
// Service (Ready members only), and the PDB (minAvailable = quorum). Pure:
// must never read observed state beyond the object it compares.
import type { V1NetworkPolicy, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import type { ReplicaGroup } from '../api/index.ts';
import {
  CLIENT_PORT,
  METRICS_PORT,
  PEER_PORT,
  clientServiceName,
  groupLabels,
  objectLabels,
  ownerReference,
  LABEL_MEMBER,
  pdbName,
  peerPolicyName,
  peerServiceName,
} from './names.ts';
import { quorumSize } from './quorum.ts';

function meta(group: ReplicaGroup, name: string) {
  return {
    name,
    namespace: group.metadata.namespace,
    labels: objectLabels(group.metadata.name!),
    ownerReferences: [ownerReference(group)],
  };
}

export function buildPeerService(group: ReplicaGroup): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(group, peerServiceName(group.metadata.name!)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: groupLabels(group.metadata.name!),
      ports: [
        { name: 'peer', port: PEER_PORT, targetPort: PEER_PORT },
        { name: 'client', port: CLIENT_PORT, targetPort: CLIENT_PORT },
        { name: 'metrics', port: METRICS_PORT, targetPort: METRICS_PORT },
      ],
    },
  };
}

export function buildClientService(group: ReplicaGroup): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(group, clientServiceName(group.metadata.name!)),
    spec: {
      type: 'ClusterIP',
      selector: groupLabels(group.metadata.name!),
      ports: [{ name: 'client', port: CLIENT_PORT, targetPort: CLIENT_PORT }],
    },
  };
}

/**
 * buildPdb keeps a quorum of `voters` available through voluntary disruptions
 * (drains). A single member has no quorum to protect; minAvailable 1 would
 * block every drain of its node forever, so it gets 0.
 */
export function buildPdb(group: ReplicaGroup, voters: number): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(group, pdbName(group.metadata.name!)),
    spec: {
      minAvailable: voters <= 1 ? 0 : quorumSize(voters),
      selector: { matchLabels: groupLabels(group.metadata.name!) },
    },
  };
}

function sameEntries(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ea = Object.entries(a ?? {}).sort();
  const eb = Object.entries(b ?? {}).sort();
  return JSON.stringify(ea) === JSON.stringify(eb);
}

/** serviceNeedsUpdate compares the fields the operator owns (selector, ports, headlessness). */
export function serviceNeedsUpdate(actual: V1Service, desired: V1Service): boolean {
  const a = actual.spec ?? {};
  const d = desired.spec ?? {};
  if (!sameEntries(a.selector, d.selector)) return true;
  if ((d.clusterIP === 'None') !== (a.clusterIP === 'None')) return true;
  if (!!a.publishNotReadyAddresses !== !!d.publishNotReadyAddresses) return true;
  const ports = (s: typeof a) => JSON.stringify((s.ports ?? []).map((p) => [p.name, p.port, String(p.targetPort ?? p.port)]).sort());
  return ports(a) !== ports(d);
}

/** pdbNeedsUpdate compares minAvailable and the selector. */
export function pdbNeedsUpdate(actual: V1PodDisruptionBudget, desired: V1PodDisruptionBudget): boolean {
  return (
    String(actual.spec?.minAvailable) !== String(desired.spec?.minAvailable) ||
    !sameEntries(actual.spec?.selector?.matchLabels, desired.spec?.selector?.matchLabels)
  );
}

/**
 * buildPeerNetworkPolicy lets only this group's members reach its members'
 * peer port (raft, snapshots, relayed admin calls). NetworkPolicies add up: it
 * opens 2380 to the group; the chart's namespace policy isolates the members
 * and opens the client and metrics ports.
 */
export function buildPeerNetworkPolicy(group: ReplicaGroup): V1NetworkPolicy {
  const members = { matchLabels: groupLabels(group.metadata.name!), matchExpressions: [{ key: LABEL_MEMBER, operator: 'Exists' }] };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(group, peerPolicyName(group.metadata.name!)),
    spec: {
      podSelector: members,
      policyTypes: ['Ingress'],
      ingress: [{ ports: [{ port: PEER_PORT, protocol: 'TCP' }], _from: [{ podSelector: members }] }],
    },
  };
}

/** networkPolicyNeedsUpdate compares the spec (selectors, ports, peers). */
export function networkPolicyNeedsUpdate(actual: V1NetworkPolicy, desired: V1NetworkPolicy): boolean {
  const norm = (p: V1NetworkPolicy) =>
    JSON.stringify({
      pod: p.spec?.podSelector,
      types: p.spec?.policyTypes,
      ingress: (p.spec?.ingress ?? []).map((r) => ({ ports: r.ports?.map((x) => [String(x.port), x.protocol ?? 'TCP']), from: r._from })),
    });
  return norm(actual) !== norm(desired);
}
