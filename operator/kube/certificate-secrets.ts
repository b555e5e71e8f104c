// Turns the planner's certificate actions into Secrets: generates the CA or a
// fresh leaf key, signs it with the group's CA (operator/pki) and lays the
// PEMs out as a kubernetes.io/tls Secret (tls.crt, tls.key, and ca.crt for
// leaves: what a member, the operator or an application needs to verify the
// others). The only place key material is made. Must never decide what to
// issue (the planner did) and never put a CA's private key into a leaf Secret.
import type { V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate } from '../pki/index.ts';
import { CA_CERT, TLS_CERT, TLS_KEY, secretText, type Action } from '../reconcile/index.ts';

type CreateCA = Extract<Action, { kind: 'CreateCertificateAuthority' }>;
type Issue = Extract<Action, { kind: 'IssueCertificate' }>;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** caSecret generates the group's CA (ECDSA P-256) into a new Secret. */
export function caSecret(action: CreateCA, now = new Date()): V1Secret {
  const ca = createCertificateAuthority({ commonName: action.commonName, organization: 'replicant', validityDays: action.validityDays, now });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: structuredClone(action.metadata),
    type: 'kubernetes.io/tls',
    data: { [TLS_CERT]: b64(ca.certificatePem), [TLS_KEY]: b64(ca.privateKeyPem) },
  };
}

/** certificateSecret issues the requested leaf with the CA in `ca` (a Secret with tls.crt and tls.key). */
export function certificateSecret(action: Issue, ca: V1Secret, now = new Date()): V1Secret {
  const certificatePem = secretText(ca, TLS_CERT);
  const privateKeyPem = secretText(ca, TLS_KEY);
  if (!certificatePem || !privateKeyPem) throw new Error(`Secret ${action.caSecret} needs ${TLS_CERT} and ${TLS_KEY} to sign certificates`);
  const c = action.certificate;
  const leaf = issueCertificate(
    { certificatePem, privateKeyPem },
    { profile: c.profile, commonName: c.commonName, organization: c.organization, dnsNames: c.dnsNames, ipAddresses: c.ipAddresses, validityDays: c.validityDays, now },
  );
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...structuredClone(action.metadata), ...(action.resourceVersion ? { resourceVersion: action.resourceVersion } : {}) },
    type: 'kubernetes.io/tls',
    // Only the CA certificate: its key stays in the CA Secret.
    data: { [TLS_CERT]: b64(leaf.certificatePem), [TLS_KEY]: b64(leaf.privateKeyPem), [CA_CERT]: b64(certificatePem) },
  };
}
