// What a TLS group's certificates must say and whether the Secrets holding
// them still do: the CA (the operator's `<group>-ca` or the user's
// spec.tls.caSecretName), one server+peer certificate per member, the
// operator's client certificate and the optional application client
// certificate; and the actions that create, reissue or delete them. Every
// Secret is checked against the CA, the names it must carry and its renewal
// time (operator/pki's rotation decisions). Pure: it decides, the wiring
// generates keys and signs; it must never read the clock or create key material.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { V1ObjectMeta, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { ReplicaGroup, ResolvedSpec, FieldError } from '../api/index.ts';
import { loadIssuer, parseCertificate, rotationReason } from '../pki/index.ts';
import type { Action, CertificateRequestSpec } from './actions.ts';
import {
  ANNOTATION_TLS,
  ANNOTATION_TLS_ISSUER,
  LABEL_CERTIFICATE,
  LABEL_MEMBER,
  OPERATOR_IDENTITY,
  caSecretName,
  clientServiceHosts,
  clientServiceName,
  memberHost,
  memberTlsSecretName,
  objectLabels,
  operatorTlsSecretName,
  ownerReference,
  peerServiceName,
} from './names.ts';

/** Leaves live 90 days and are renewed after two thirds (60 days), cert-manager's defaults. */
export const LEAF_VALIDITY_DAYS = 90;
/** The operator's own CA lives 10 years; it is not rotated automatically. */
export const CA_VALIDITY_DAYS = 3650;
export const ORGANIZATION = 'replicant';

export type CertificatePurpose = 'ca' | 'member' | 'operator' | 'client';

/** The keys of every certificate Secret (cert-manager's layout); a CA Secret has no ca.crt. */
export const TLS_CERT = 'tls.crt';
export const TLS_KEY = 'tls.key';
export const CA_CERT = 'ca.crt';

/** secretText reads one key of a Secret's base64 data (or stringData) as text; undefined when absent. */
export function secretText(secret: V1Secret | undefined, key: string): string | undefined {
  const v = secret?.data?.[key] ?? undefined;
  if (v !== undefined) return Buffer.from(v, 'base64').toString('utf8');
  return secret?.stringData?.[key];
}

export interface GroupAddressing {
  group: ReplicaGroup;
  namespace: string;
  clusterDomain: string;
  /** clientServiceIP is the client Service's cluster IP, when it has one. */
  clientServiceIP?: string;
}

/** clientServiceIP reads the cluster IP of the group's client Service (none when headless or not yet assigned). */
export function clientServiceIP(group: string, services: { metadata?: { name?: string }; spec?: { clusterIP?: string } }[]): string | undefined {
  const ip = services.find((s) => s.metadata?.name === clientServiceName(group))?.spec?.clusterIP;
  return ip && ip !== 'None' && /^[0-9a-fA-F:.]+$/.test(ip) ? ip : undefined;
}

/**
 * memberCertificate is a member's certificate: usable as TLS server and client
 * (it serves the client and peer ports and dials peers), naming its stable
 * peer host (the identity other members check against the member table), the
 * client Service and loopback (a port-forward, or etcdctl inside the pod).
 */
export function memberCertificate(a: GroupAddressing, member: string): CertificateRequestSpec {
  const name = a.group.metadata.name!;
  const host = memberHost(name, a.namespace, member, a.clusterDomain);
  return {
    profile: 'peer',
    commonName: member,
    organization: ORGANIZATION,
    dnsNames: [host, `${member}.${peerServiceName(name)}.${a.namespace}.svc`, ...clientServiceHosts(name, a.namespace, a.clusterDomain), 'localhost'],
    ipAddresses: ['127.0.0.1', ...(a.clientServiceIP ? [a.clientServiceIP] : [])],
    validityDays: LEAF_VALIDITY_DAYS,
  };
}

/** operatorCertificate is the operator's client certificate: CN replicant-operator, the identity members let call the admin API. */
export function operatorCertificate(): CertificateRequestSpec {
  return { profile: 'client', commonName: OPERATOR_IDENTITY, organization: ORGANIZATION, dnsNames: [], ipAddresses: [], validityDays: LEAF_VALIDITY_DAYS };
}

/**
 * applicationCertificate is the client certificate applications get: client
 * usage only and no names, so the members never take it for a peer's.
 */
export function applicationCertificate(group: string, secret: string): CertificateRequestSpec {
  return { profile: 'client', commonName: `${group}-application-${secret}`.slice(0, 64), organization: ORGANIZATION, dnsNames: [], ipAddresses: [], validityDays: LEAF_VALIDITY_DAYS };
}

/** secretMetadata is the metadata of a certificate Secret the operator owns. */
export function secretMetadata(group: ReplicaGroup, name: string, purpose: CertificatePurpose, member?: string): V1ObjectMeta {
  return {
    name,
    namespace: group.metadata.namespace,
    labels: { ...objectLabels(group.metadata.name!), [LABEL_CERTIFICATE]: purpose, ...(member ? { [LABEL_MEMBER]: member } : {}) },
    ownerReferences: [ownerReference(group)],
  };
}

/** ownedBy says whether the group controls a Secret (its controller owner reference carries the group's uid). */
export function ownedBy(group: ReplicaGroup, secret: V1Secret): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === group.metadata.uid);
}

export type CaVerdict = { ok: true; name: string; certificatePem: string; managed: boolean } | { ok: false; name: string; managed: boolean; missing: boolean; problem: string };

/** checkCA finds the group's CA Secret and says whether it can sign (a CA, its key matching, valid at `now`). */
export function checkCA(group: ReplicaGroup, spec: ResolvedSpec, secrets: V1Secret[], now: number): CaVerdict {
  const managed = !spec.tls?.caSecretName;
  const name = spec.tls?.caSecretName ?? caSecretName(group.metadata.name!);
  const secret = secrets.find((s) => s.metadata?.name === name);
  const where = `Secret ${name}${managed ? '' : ' (spec.tls.caSecretName)'}`;
  if (!secret) return { ok: false, name, managed, missing: true, problem: `${where} does not exist` };
  const certificatePem = secretText(secret, TLS_CERT);
  const privateKeyPem = secretText(secret, TLS_KEY);
  if (!certificatePem || !privateKeyPem) return { ok: false, name, managed, missing: false, problem: `${where} needs both ${TLS_CERT} and ${TLS_KEY} (a kubernetes.io/tls Secret with the CA certificate and its key)` };
  try {
    const { info } = loadIssuer({ certificatePem, privateKeyPem });
    if (now >= info.notAfter.getTime()) return { ok: false, name, managed, missing: false, problem: `${where}: the CA expired at ${info.notAfter.toISOString()}; put a new CA in it` };
    if (now < info.notBefore.getTime()) return { ok: false, name, managed, missing: false, problem: `${where}: the CA is not valid before ${info.notBefore.toISOString()}` };
  } catch (e) {
    return { ok: false, name, managed, missing: false, problem: `${where} cannot sign: ${(e as Error).message}` };
  }
  return { ok: true, name, certificatePem, managed };
}

/**
 * certificateProblem says why the Secret does not hold a good certificate for
 * `want` signed by the CA `caPem` at `now` (missing, incomplete, unreadable,
 * another CA bundle, key not matching, or operator/pki's rotation reasons:
 * expiring, expired, names-changed, issuer-changed); undefined when it is fine.
 */
export function certificateProblem(secret: V1Secret | undefined, want: CertificateRequestSpec, caPem: string, now: number): string | undefined {
  if (!secret) return 'missing';
  const cert = secretText(secret, TLS_CERT);
  const key = secretText(secret, TLS_KEY);
  const ca = secretText(secret, CA_CERT);
  if (!cert || !key || !ca) return 'incomplete';
  if (ca.trim() !== caPem.trim()) return 'ca-changed';
  try {
    const info = parseCertificate(cert);
    const reason = rotationReason(info, { commonName: want.commonName, dnsNames: want.dnsNames, ipAddresses: want.ipAddresses, uris: [], issuerPem: caPem }, new Date(now));
    if (reason) return reason;
    if (!new X509Certificate(info.der).checkPrivateKey(createPrivateKey(key))) return 'key-mismatch';
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  return undefined;
}

/** issueAction asks the wiring to (re)issue a certificate into a Secret. */
export function issueAction(group: ReplicaGroup, caSecret: string, meta: V1ObjectMeta, existing: V1Secret | undefined, certificate: CertificateRequestSpec, reason: string): Action {
  const name = meta.name!;
  return {
    kind: 'IssueCertificate',
    key: `IssueCertificate/${name}`,
    description: `${existing ? 'reissue' : 'issue'} certificate ${certificate.commonName} into Secret ${name} (${reason})`,
    metadata: meta,
    ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
    caSecret,
    certificate,
    reason,
  };
}

/** NotOwned: a Secret with the name the operator needs exists and belongs to someone else; it is never overwritten. */
export interface NotOwned {
  notOwned: string;
}

/** notOwnedMessage says what to do about a Secret in the way. */
export function notOwnedMessage(secret: string, purpose: string): string {
  return `Secret ${secret} exists and does not belong to this group, so the ${purpose} certificate cannot be written there; delete or rename it (the operator never overwrites it)`;
}

/**
 * memberCertificateAction returns the action that makes member `member`'s
 * Secret good, undefined when it is, or NotOwned when a foreign Secret has its name.
 */
export function memberCertificateAction(a: GroupAddressing, ca: { name: string; certificatePem: string }, secrets: V1Secret[], member: string, now: number): Action | NotOwned | undefined {
  const name = memberTlsSecretName(member);
  const secret = secrets.find((s) => s.metadata?.name === name);
  if (secret && !ownedBy(a.group, secret)) return { notOwned: name };
  const want = memberCertificate(a, member);
  const problem = certificateProblem(secret, want, ca.certificatePem, now);
  return problem ? issueAction(a.group, ca.name, secretMetadata(a.group, name, 'member', member), secret, want, problem) : undefined;
}

/** operatorSecretName is the Secret of the operator's client certificate for a group. */
export function operatorSecretName(group: ReplicaGroup): string {
  return operatorTlsSecretName(group.metadata.name!);
}

/**
 * tlsModeErrors: TLS cannot be switched on or off under a running group (its
 * member table holds http:// or https:// peer URLs and its members trust no or
 * some CA), so a spec whose TLS setting differs from the pods' is refused
 * with what to do. Pods built before TLS existed carry no annotation: plaintext.
 */
export function tlsModeErrors(spec: ResolvedSpec, pods: V1Pod[]): FieldError[] {
  const want = !!spec.tls;
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const other = live.find((p) => (p.metadata?.annotations?.[ANNOTATION_TLS] === 'true') !== want);
  if (other) {
    const runs = want ? 'plaintext' : 'with TLS';
    return [
      {
        path: 'spec.tls.enabled',
        message: `is ${want} but the group's members run ${runs} (pod ${other.metadata?.name}); TLS cannot be switched on or off under a running group: set spec.tls.enabled back to ${!want}, or create a new group and move the data`,
      },
    ];
  }
  if (!want) return [];
  // The issuer cannot be switched either: members trust one CA, and the other issuer's certificates would not get in.
  const wantCm = !!spec.tls!.certManager;
  const switched = live.find((p) => (p.metadata?.annotations?.[ANNOTATION_TLS_ISSUER] === 'cert-manager') !== wantCm);
  if (!switched) return [];
  return [
    {
      path: 'spec.tls.certManager',
      message: wantCm
        ? `is set but the group's members run on certificates from the operator's CA (pod ${switched.metadata?.name}); the issuer cannot be switched under a running group: remove spec.tls.certManager, or create a new group and move the data`
        : `is not set but the group's members run on certificates issued by cert-manager (pod ${switched.metadata?.name}); the issuer cannot be switched under a running group: set spec.tls.certManager back, or create a new group and move the data`,
    },
  ];
}
