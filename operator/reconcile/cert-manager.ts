// cert-manager mode (spec.tls.certManager): what the cert-manager.io/v1
// Certificates of a group must say (the same names, identities and usages as
// the certificates the operator signs itself), whether the Secrets cert-manager
// wrote are usable by a member (tls.crt, tls.key and ca.crt), and whether a
// Secret of a given name belongs to the group. Pure: it decides; it must never
// sign, read the clock to rotate, or judge a certificate's age — renewal is
// cert-manager's job in this mode.
import type { V1ObjectMeta, V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type { ReplicaGroup, ResolvedCertManager } from '../api/index.ts';
import { parseCertificates } from '../pki/index.ts';
import type { CertificateRequestSpec } from './actions.ts';
import { CA_CERT, TLS_CERT, TLS_KEY, ownedBy, secretMetadata, secretText, type CertificatePurpose } from './certificates.ts';
import { LABEL_GROUP, ownerReference } from './names.ts';

/** The cert-manager API the operator writes: cert-manager.io/v1 Certificates (namespaced). */
export const CERT_MANAGER_GROUP = 'cert-manager.io';
export const CERT_MANAGER_VERSION = 'v1';
export const CERTIFICATE_PLURAL = 'certificates';
export const CERTIFICATE_KIND = 'Certificate';
/** ANNOTATION_CERTIFICATE_NAME is set by cert-manager on every Secret it writes: the Certificate it belongs to. */
export const ANNOTATION_CERTIFICATE_NAME = 'cert-manager.io/certificate-name';

/** CertManagerCertificateSpec is the part of cert-manager's Certificate spec the operator sets. */
export interface CertManagerCertificateSpec {
  secretName: string;
  /** secretTemplate labels are copied by cert-manager onto the Secret, so the operator finds it by the group's label. */
  secretTemplate?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  issuerRef: { name: string; kind: string; group: string };
  commonName?: string;
  subject?: { organizations?: string[] };
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  usages?: string[];
  duration?: string;
  renewBefore?: string;
  privateKey?: { algorithm?: string; size?: number; rotationPolicy?: string; encoding?: string };
}

export interface CertManagerCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** CertManagerCertificate is a cert-manager.io/v1 Certificate as read or written. */
export interface CertManagerCertificate {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: CertManagerCertificateSpec;
  status?: { conditions?: CertManagerCondition[]; notAfter?: string; renewalTime?: string };
}

/**
 * USAGES per profile, in cert-manager's words. Members serve and dial (server
 * and client auth); the operator and applications only dial. The first two are
 * cert-manager's defaults, kept because setting usages replaces them.
 */
export const USAGES: Record<CertificateRequestSpec['profile'], string[]> = {
  peer: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  server: ['digital signature', 'key encipherment', 'server auth'],
  client: ['digital signature', 'key encipherment', 'client auth'],
};

/**
 * desiredCertificate is the Certificate that has cert-manager write `want`
 * into Secret `secretName` (the Certificate has the Secret's name), owned by
 * the group, labelled like the Secrets the operator makes itself; the private
 * key is a fresh ECDSA P-256 key on every issuance.
 */
export function desiredCertificate(
  group: ReplicaGroup,
  cm: ResolvedCertManager,
  secretName: string,
  purpose: Exclude<CertificatePurpose, 'ca'>,
  want: CertificateRequestSpec,
  member?: string,
): CertManagerCertificate {
  const meta = secretMetadata(group, secretName, purpose, member);
  const spec: CertManagerCertificateSpec = {
    secretName,
    secretTemplate: { labels: { ...meta.labels } },
    issuerRef: { ...cm.issuerRef },
    commonName: want.commonName,
    ...(want.organization ? { subject: { organizations: [want.organization] } } : {}),
    ...(want.dnsNames.length ? { dnsNames: [...want.dnsNames] } : {}),
    ...(want.ipAddresses.length ? { ipAddresses: [...want.ipAddresses] } : {}),
    usages: [...USAGES[want.profile]],
    ...(cm.duration ? { duration: cm.duration } : {}),
    ...(cm.renewBefore ? { renewBefore: cm.renewBefore } : {}),
    // PKCS#8, as the operator's own Secrets (cert-manager's default for ECDSA is SEC1).
    privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always', encoding: 'PKCS8' },
  };
  return {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: CERTIFICATE_KIND,
    metadata: { name: secretName, namespace: group.metadata.namespace, labels: meta.labels, ownerReferences: meta.ownerReferences },
    spec,
  };
}

/** covers says whether `actual` has every field `desired` sets, with the same value (fields the API server or cert-manager add are ignored). */
function covers(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => covers(actual[i], d));
  if (desired && typeof desired === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(desired).every(([k, v]) => covers((actual as Record<string, unknown>)[k], v));
  }
  return actual === desired;
}

/**
 * certificateNeedsUpdate says whether an existing Certificate asks for
 * something else than `desired` (a new client Service IP, another issuer,
 * duration or renewBefore): cert-manager reissues when the spec changes.
 */
export function certificateNeedsUpdate(actual: CertManagerCertificate, desired: CertManagerCertificate): boolean {
  if (!covers(actual.spec, desired.spec)) return true;
  // Fields set before but no longer wanted (e.g. duration removed from the ReplicaGroup).
  for (const k of ['duration', 'renewBefore', 'dnsNames', 'ipAddresses'] as const) {
    if (actual.spec?.[k] !== undefined && desired.spec?.[k] === undefined) return true;
  }
  return false;
}

/** readyCondition is the Certificate's Ready condition, when cert-manager reported one. */
export function readyCondition(c: CertManagerCertificate | undefined): CertManagerCondition | undefined {
  return c?.status?.conditions?.find((x) => x.type === 'Ready');
}

/**
 * issuedSecretProblem says why a Secret written by cert-manager cannot be
 * mounted by a member or used by the operator yet: missing, without tls.crt,
 * tls.key or ca.crt (the issuer must write the CA certificate: the CA and
 * Vault issuers do), or a tls.crt that is not a certificate. Undefined when usable.
 */
export function issuedSecretProblem(secret: V1Secret | undefined): string | undefined {
  if (!secret) return 'the Secret does not exist yet';
  const missing = [TLS_CERT, TLS_KEY, CA_CERT].filter((k) => !secretText(secret, k));
  if (missing.length) {
    const hint = missing.includes(CA_CERT) ? ` (the issuer must write ${CA_CERT}: use a CA or Vault issuer)` : '';
    return `the Secret has no ${missing.join(', ')}${hint}`;
  }
  try {
    // The leaf first, possibly followed by the issuer's chain (a CA issuer with an intermediate appends it).
    if (parseCertificates(secretText(secret, TLS_CERT)!).length === 0) return `its ${TLS_CERT} holds no certificate`;
  } catch (e) {
    return `its ${TLS_CERT} is not a certificate (${(e as Error).message})`;
  }
  return undefined;
}

/** refersToGroup: the object carries an owner reference (controller or not) to the group. */
function refersToGroup(group: ReplicaGroup, meta: V1ObjectMeta | undefined): boolean {
  return (meta?.ownerReferences ?? []).some((r) => r.uid === group.metadata.uid);
}

/**
 * heldByGroup says whether a Secret belongs to the group in cert-manager
 * mode: owned by it (an owner reference to the group), or written by
 * cert-manager for the group's Certificate of the same name (its annotation
 * names it and it carries the group's label). A Secret that is neither is
 * someone else's and is never given to cert-manager to overwrite.
 */
export function heldByGroup(group: ReplicaGroup, secret: V1Secret): boolean {
  if (ownedBy(group, secret) || refersToGroup(group, secret.metadata)) return true;
  const name = secret.metadata?.name;
  return secret.metadata?.annotations?.[ANNOTATION_CERTIFICATE_NAME] === name && secret.metadata?.labels?.[LABEL_GROUP] === group.metadata.name;
}

/**
 * adoptionOwnerReferences is the owner reference list a cert-manager Secret
 * gets so that it is garbage-collected with the group (cert-manager does not
 * set one by default); undefined when it already refers to the group. The
 * reference is not a controller one: cert-manager may hold that.
 */
export function adoptionOwnerReferences(group: ReplicaGroup, secret: V1Secret): V1OwnerReference[] | undefined {
  if (refersToGroup(group, secret.metadata)) return undefined;
  return [...(secret.metadata?.ownerReferences ?? []), { ...ownerReference(group), controller: false }];
}
