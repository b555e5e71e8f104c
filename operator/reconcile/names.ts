// How a group's members and objects are named, labelled and addressed: member
// names `<group>-<ordinal>`, their volumes, Services, peer and client URLs and
// the cluster token. Pure string functions: must never look at observed state.
import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, type ReplicaGroup } from '../api/index.ts';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_GROUP = 'replicant.dev/group';
export const LABEL_MEMBER = 'replicant.dev/member';
/** LABEL_RETAINED marks a volume kept for inspection after its member was removed (e.g. divergent). */
export const LABEL_RETAINED = 'replicant.dev/retained';
/** ANNOTATION_SPEC_HASH is the hash of the pod settings a member pod was built from (rolling updates). */
export const ANNOTATION_SPEC_HASH = 'replicant.dev/spec-hash';
/** ANNOTATION_CLUSTER_STATE records whether a member was founding ("new") or added later ("existing"). */
export const ANNOTATION_CLUSTER_STATE = 'replicant.dev/initial-cluster-state';

export const APP_NAME = 'replicant';
export const MANAGER = 'replicant-operator';
export const FINALIZER = 'replicant.dev/teardown';

export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;
export const METRICS_PORT = 2381;

/** groupLabels select every pod of a group. */
export function groupLabels(group: string): Record<string, string> {
  return { [LABEL_NAME]: APP_NAME, [LABEL_GROUP]: group };
}

/** selectorString is groupLabels as a label selector string (status.selector, for the scale subresource). */
export function selectorString(group: string): string {
  return Object.entries(groupLabels(group)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** objectLabels are put on every object the operator creates for a group. */
export function objectLabels(group: string): Record<string, string> {
  return { ...groupLabels(group), [LABEL_INSTANCE]: group, [LABEL_MANAGED_BY]: MANAGER };
}

export function memberLabels(group: string, member: string): Record<string, string> {
  return { ...objectLabels(group), [LABEL_MEMBER]: member };
}

export function memberName(group: string, ordinal: number): string {
  return `${group}-${ordinal}`;
}

/** ordinalOf reads the ordinal of a member name of this group; undefined for other names. */
export function ordinalOf(group: string, name: string): number | undefined {
  if (!name.startsWith(`${group}-`)) return undefined;
  const rest = name.slice(group.length + 1);
  return /^(0|[1-9][0-9]{0,8})$/.test(rest) ? Number(rest) : undefined;
}

export function pvcName(member: string): string {
  return `data-${member}`;
}

/** memberOfPvc is the member a data volume belongs to, from its name. */
export function memberOfPvc(pvc: string): string | undefined {
  return pvc.startsWith('data-') ? pvc.slice(5) : undefined;
}

export function peerServiceName(group: string): string {
  return `${group}-peer`;
}

export function clientServiceName(group: string): string {
  return `${group}-client`;
}

export function pdbName(group: string): string {
  return group;
}

/** memberHost is the member's stable DNS name through the headless peer Service. */
export function memberHost(group: string, namespace: string, member: string, clusterDomain: string): string {
  return `${member}.${peerServiceName(group)}.${namespace}.svc.${clusterDomain}`;
}

export function peerUrl(group: string, namespace: string, member: string, clusterDomain: string): string {
  return `http://${memberHost(group, namespace, member, clusterDomain)}:${PEER_PORT}`;
}

export function clientUrl(group: string, namespace: string, member: string, clusterDomain: string): string {
  return `http://${memberHost(group, namespace, member, clusterDomain)}:${CLIENT_PORT}`;
}

/** memberOfPeerUrl reads the member name from a peer URL built by peerUrl (its first DNS label). */
export function memberOfPeerUrl(url: string): string | undefined {
  try {
    const host = new URL(url).hostname;
    return host.includes('.') ? host.split('.')[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * clusterToken is the --initial-cluster-token of a group: derived from its uid,
 * so a group deleted and created again under the same name never mixes with
 * volumes or members of the old one.
 */
export function clusterToken(group: ReplicaGroup): string {
  return `${group.metadata.name}-${group.metadata.uid}`;
}

/** ownerReference makes the group own (and garbage-collect) an object. */
export function ownerReference(group: ReplicaGroup): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: group.metadata.name!,
    uid: group.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}
