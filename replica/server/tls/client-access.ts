// Who may call what on the client port. The admin API (replicant.admin.v1)
// and the etcd Cluster calls that change membership need a client
// certificate, verified against --trusted-ca-file, that carries one of
// --admin-allowed-identities, on every call, even when --client-cert-auth
// is off for the KV API. With --client-cert-auth every call needs a verified
// client certificate (the TLS handshake already demands one; this is the
// second lock). Without TLS on the client port there is no certificate to
// check, and the admin API is open (the server warns at start).
// It must never let an admin call through on a certificate it did not verify.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { EKU_CLIENT_AUTH, adminIdentity, allowsUsage, describe, identityOf, type CertIdentity } from './cert-identity.ts';

/** MEMBERSHIP_CHANGE_PATHS are the etcd calls only an admin identity may make (besides every Admin method). */
export const MEMBERSHIP_CHANGE_PATHS = new Set([
  '/etcdserverpb.Cluster/MemberAdd',
  '/etcdserverpb.Cluster/MemberRemove',
  '/etcdserverpb.Cluster/MemberPromote',
  '/etcdserverpb.Cluster/MemberUpdate',
]);

export const ADMIN_SERVICE_PREFIX = '/replicant.admin.v1.Admin/';

/** isAdminPath: the call changes or inspects the group as the operator does. */
export function isAdminPath(path: string): boolean {
  return path.startsWith(ADMIN_SERVICE_PREFIX) || MEMBERSHIP_CHANGE_PATHS.has(path);
}

export interface ClientAccessPolicy {
  /** the client port serves TLS (--cert-file/--key-file) */
  tls: boolean;
  /** --client-cert-auth */
  clientCertAuth: boolean;
  /** --admin-allowed-identities */
  adminIdentities: readonly string[];
}

/** Refusal is a gRPC status a call is refused with. */
export interface Refusal {
  code: grpc.status;
  details: string;
}

/** decideClientCall applies the policy to one call; undefined lets it through. */
export function decideClientCall(policy: ClientAccessPolicy, path: string, cert: CertIdentity | undefined): Refusal | undefined {
  if (!policy.tls) return undefined;
  if (isAdminPath(path)) {
    const allowed = policy.adminIdentities.join(', ');
    if (!cert) {
      return {
        code: grpc.status.UNAUTHENTICATED,
        details: `${path} is an admin call: it needs a client certificate signed by the replica's --trusted-ca-file that carries an allowed identity (${allowed}); none was verified`,
      };
    }
    if (!allowsUsage(cert, EKU_CLIENT_AUTH)) {
      return { code: grpc.status.PERMISSION_DENIED, details: `${path}: the client certificate (${describe(cert)}) is not for TLS clients (its extended key usage lacks clientAuth)` };
    }
    if (adminIdentity(cert, policy.adminIdentities) === undefined) {
      return {
        code: grpc.status.PERMISSION_DENIED,
        details: `${path}: the client certificate (${describe(cert)}) is not allowed to call the admin API; allowed identities (CN, URI or DNS SAN): ${allowed}`,
      };
    }
    return undefined;
  }
  if (policy.clientCertAuth && !cert) {
    return { code: grpc.status.UNAUTHENTICATED, details: `${path}: this member requires a client certificate signed by its --trusted-ca-file (--client-cert-auth)` };
  }
  return undefined;
}

/** verifiedIdentity reads the verified client certificate of a call, if any. */
export function verifiedIdentity(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } }): CertIdentity | undefined {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  return cert ? identityOf(cert) : undefined;
}

/**
 * clientAccessCheck enforces decideClientCall on every call of the client
 * port, before the call's message is read (the client port server's admit
 * hook); refusals are logged at most once a second.
 */
export function clientAccessCheck(policy: ClientAccessPolicy, log: Logger): (call: { getPath(): string; getAuthContext(): { sslPeerCertificate?: PeerCertificate } }) => Refusal | undefined {
  let lastLog = -Infinity;
  return (call) => {
    if (!policy.tls) return undefined;
    const path = call.getPath();
    const refusal = decideClientCall(policy, path, verifiedIdentity(call));
    if (refusal) {
      const now = performance.now();
      if (now - lastLog > 1000) {
        lastLog = now;
        log.warn({ method: path, code: grpc.status[refusal.code], reason: refusal.details }, 'refused a client call');
      }
    }
    return refusal;
  };
}
