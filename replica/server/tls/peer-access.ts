// Who may call what on the peer port. With peer TLS the handshake already
// demanded a certificate signed by --peer-trusted-ca-file; these rules then
// tie that certificate to the member table:
//  - a call claiming member X (replicant-member-id metadata) is refused when X
//    was removed, and, when X is a current member, unless the certificate
//    names one of X's peer URLs (its host as a DNS/IP SAN, or the URL as a
//    URI SAN);
//  - a claim of an id this member does not know yet is let in (it may have
//    been added by entries not applied here yet, and this member must still
//    hear from it) if the certificate looks like a peer's (usable as a TLS
//    server too, naming a host or URI) and names no current or removed member;
//    so an application's client certificate from a CA shared with the peers
//    cannot speak raft (nor make any other peer call);
//  - a certificate naming a removed member is refused whatever it claims;
//  - the relayed admin and Cluster calls need a certificate naming a current
//    member (a member relays an operator's request it already authorized).
// Streams are re-checked on every message, so a member removed while its
// stream is open is cut off. Without peer TLS only the claims are checked.
// It must never accept a certificate that names a removed member.
import * as grpc from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import type { NodeId } from '../../raft/index.ts';
import { EKU_CLIENT_AUTH, EKU_SERVER_AUTH, allowsUsage, describe, identifiesPeerUrls, type CertIdentity } from './cert-identity.ts';
import { verifiedIdentity, type Refusal } from './client-access.ts';

/** MemberDirectory is the part of the member table the checks read (the live table, every call). */
export interface MemberDirectory {
  get(id: NodeId): { peerURLs: string[] } | undefined;
  isRemoved(id: NodeId): boolean;
  list(): { id: NodeId; peerURLs: string[] }[];
  removedMembers(): { id: NodeId; peerURLs: string[] }[];
}

export const MEMBER_ID_METADATA = 'replicant-member-id';

/** RELAY_PREFIXES are the peer-port services that act for the operator; only current members may call them. */
const RELAY_PREFIXES = ['/replicant.admin.v1.Admin/', '/etcdserverpb.Cluster/'];

function hex(id: NodeId): string {
  return id.toString(16);
}

/** certificateOwner finds the current member a certificate names, else a removed one. */
export function certificateOwner(members: MemberDirectory, cert: CertIdentity): { id: NodeId; removed: boolean } | undefined {
  for (const m of members.list()) if (identifiesPeerUrls(cert, m.peerURLs)) return { id: m.id, removed: false };
  for (const m of members.removedMembers()) if (identifiesPeerUrls(cert, m.peerURLs)) return { id: m.id, removed: true };
  return undefined;
}

/**
 * decidePeerCall applies the rules to one call (or one message of a stream);
 * undefined lets it through.
 */
export function decidePeerCall(
  members: MemberDirectory,
  tls: boolean,
  path: string,
  claimed: NodeId | undefined,
  cert: CertIdentity | undefined,
): Refusal | undefined {
  const deny = (details: string): Refusal => ({ code: grpc.status.PERMISSION_DENIED, details });
  if (claimed !== undefined && members.isRemoved(claimed)) return deny(`member ${hex(claimed)} was removed from the group; its peer calls are refused`);
  if (!tls) return undefined;
  if (!cert) return { code: grpc.status.UNAUTHENTICATED, details: 'peer calls need a client certificate signed by --peer-trusted-ca-file' };
  if (!allowsUsage(cert, EKU_CLIENT_AUTH)) return deny(`peer certificate (${describe(cert)}) is not for TLS clients (its extended key usage lacks clientAuth)`);
  if (claimed !== undefined) {
    const m = members.get(claimed);
    if (m) {
      if (!identifiesPeerUrls(cert, m.peerURLs)) {
        return deny(`peer certificate (${describe(cert)}) does not name member ${hex(claimed)}'s peer URLs (${m.peerURLs.join(', ') || 'none'})`);
      }
      return undefined;
    }
  }
  const owner = certificateOwner(members, cert);
  if (owner?.removed) return deny(`peer certificate (${describe(cert)}) belongs to removed member ${hex(owner.id)}`);
  if (claimed !== undefined && owner) return deny(`peer certificate (${describe(cert)}) belongs to member ${hex(owner.id)}, not to member ${hex(claimed)}`);
  if (!owner) {
    const peerShaped = allowsUsage(cert, EKU_SERVER_AUTH) && cert.dnsNames.length + cert.ipAddresses.length + cert.uris.length > 0;
    if (!peerShaped) {
      const who = claimed === undefined ? 'the caller names no member' : `member ${hex(claimed)} is not known here`;
      return deny(`${who} and its certificate (${describe(cert)}) is not a peer certificate (it needs the serverAuth usage and a DNS, IP or URI name)`);
    }
  }
  if (RELAY_PREFIXES.some((p) => path.startsWith(p)) && !owner) {
    return deny(`${path} may be relayed only by a current member; the certificate (${describe(cert)}) names none`);
  }
  return undefined;
}

/** claimedMember reads the member id a call claims, if any (malformed claims are the receiver's to refuse). */
export function claimedMember(md: grpc.Metadata): NodeId | undefined {
  const [v] = md.get(MEMBER_ID_METADATA);
  if (v === undefined) return undefined;
  const n = Number(String(v));
  return /^[1-9][0-9]*$/.test(String(v)) && Number.isSafeInteger(n) ? n : undefined;
}

/** PeerCall is what the check reads of a call: its metadata and its verified client certificate. */
export interface PeerCall {
  readonly metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
}

/**
 * peerAccessCheck enforces decidePeerCall when a call starts and again on
 * each message a stream carries (the peer port server's admit hook); what a
 * call claims and its certificate are read once per call. Refusals are logged
 * at most every 5 s per method, claim and reason.
 */
export function peerAccessCheck(members: () => MemberDirectory, tls: boolean, log: Logger): (call: PeerCall, method: { path: string }) => Refusal | undefined {
  const lastLog = new Map<string, number>();
  const seen = new WeakMap<PeerCall, { claimed: NodeId | undefined; cert: CertIdentity | undefined }>();
  return (call, method) => {
    let who = seen.get(call);
    if (who === undefined) {
      who = { claimed: claimedMember(call.metadata), cert: tls ? verifiedIdentity(call) : undefined };
      seen.set(call, who);
    }
    const refusal = decidePeerCall(members(), tls, method.path, who.claimed, who.cert);
    if (refusal) {
      const now = performance.now();
      const key = `${method.path}|${who.claimed}|${refusal.details}`;
      if (now - (lastLog.get(key) ?? -Infinity) >= 5000) {
        if (lastLog.size > 1000) lastLog.clear();
        lastLog.set(key, now);
        log.warn({ method: method.path, claimed: who.claimed === undefined ? undefined : hex(who.claimed), code: grpc.status[refusal.code], reason: refusal.details }, 'refused a peer call');
      }
    }
    return refusal;
  };
}
