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

/** ANNOTATION_TLS records whether a member pod was built to speak TLS ("true") or plaintext ("false"; absent: plaintext). */
export const ANNOTATION_TLS = 'replicant.dev/tls';
/** ANNOTATION_TLS_ISSUER records who issues a TLS member pod's certificate: "cert-manager", or absent for the operator's CA. */
export const ANNOTATION_TLS_ISSUER = 'replicant.dev/tls-issuer';
/** LABEL_CERTIFICATE says what a certificate Secret the operator keeps is for: ca, member, operator or client. */
export const LABEL_CERTIFICATE = 'replicant.dev/certificate';

/** OPERATOR_IDENTITY is the CN of the operator's client certificate, the identity replicas let call the admin API. */
export const OPERATOR_IDENTITY = 'replicant-operator';

/** TLS_MOUNT_PATH is where a member's certificate Secret (tls.crt, tls.key, ca.crt) is mounted. */
export const TLS_MOUNT_PATH = '/etc/replicant/tls';

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

/** peerPolicyName is the NetworkPolicy that keeps a group's peer port to its own members. */
export function peerPolicyName(group: string): string {
  return `${group}-peers`;
}

export function pdbName(group: string): string {
  return group;
}

/** memberHost is the member's stable DNS name through the headless peer Service. */
export function memberHost(group: string, namespace: string, member: string, clusterDomain: string): string {
  return `${member}.${peerServiceName(group)}.${namespace}.svc.${clusterDomain}`;
}

/** scheme is the URL scheme of a group's ports: https with TLS. */
export function scheme(tls: boolean): 'https' | 'http' {
  return tls ? 'https' : 'http';
}

export function peerUrl(group: string, namespace: string, member: string, clusterDomain: string, tls = false): string {
  return `${scheme(tls)}://${memberHost(group, namespace, member, clusterDomain)}:${PEER_PORT}`;
}

export function clientUrl(group: string, namespace: string, member: string, clusterDomain: string, tls = false): string {
  return `${scheme(tls)}://${memberHost(group, namespace, member, clusterDomain)}:${CLIENT_PORT}`;
}

/** clientServiceHosts are the DNS names of the client Service, shortest first. */
export function clientServiceHosts(group: string, namespace: string, clusterDomain: string): string[] {
  const svc = clientServiceName(group);
  return [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.${clusterDomain}`];
}

/** caSecretName is the Secret of the CA the operator creates for a group (when the user brings none). */
export function caSecretName(group: string): string {
  return `${group}-ca`;
}

/** memberTlsSecretName is the Secret holding a member's certificate, key and CA certificate. */
export function memberTlsSecretName(member: string): string {
  return `${member}-tls`;
}

/** operatorTlsSecretName is the Secret holding the operator's client certificate for a group. */
export function operatorTlsSecretName(group: string): string {
  return `${group}-operator-tls`;
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
