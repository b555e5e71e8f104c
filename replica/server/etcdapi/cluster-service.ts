// The etcd Cluster service: MemberList, MemberAdd (voter or learner),
// MemberRemove, MemberPromote, over the backend's membership operations.
// Peer URLs are checked like etcd's types.NewURLs before anything is
// proposed. MemberUpdate answers UNIMPLEMENTED. It must never decide
// membership itself: the backend (raft) does.
import * as grpc from '@grpc/grpc-js';
import type { ClientBackend, Member } from './backend.ts';
import { ApiError, EtcdError } from './errors.ts';
import { unary } from './wire.ts';
import type { ErrorSink } from './wire.ts';

/** toWireMember renders a Member with etcd's field names. */
function toWireMember(m: Member) {
  return { ID: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

/**
 * checkPeerURLs applies etcd's URL rules: at least one URL, each parseable,
 * scheme http/https/unix/unixs, host:port for http(s), no path.
 */
export function checkPeerURLs(urls: string[]): void {
  if (urls.length === 0) throw new EtcdError('memberBadURLs');
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new EtcdError('memberBadURLs');
    }
    const scheme = url.protocol.replace(/:$/, '');
    if (!['http', 'https', 'unix', 'unixs'].includes(scheme)) throw new EtcdError('memberBadURLs');
    if ((scheme === 'http' || scheme === 'https') && (url.port === '' || url.hostname === '')) throw new EtcdError('memberBadURLs');
    // WHATWG URLs report "/" for an absent http path; etcd rejects any path, even "/".
    if ((url.pathname !== '' && url.pathname !== '/') || /^[a-z]+:\/\/[^/]*\//i.test(raw)) throw new EtcdError('memberBadURLs');
  }
}

function checkMemberId(id: number | undefined): number {
  if (!id || !Number.isSafeInteger(id)) throw new EtcdError('memberNotFound');
  return id;
}

export function clusterHandlers(backend: ClientBackend, onError?: ErrorSink) {
  /** header for membership answers: like etcd's, it carries no store revision. */
  const header = () => {
    const h = backend.header();
    return { clusterId: h.clusterId, memberId: h.memberId, raftTerm: h.raftTerm };
  };

  return {
    MemberList: unary('MemberList', async (req: { linearizable?: boolean }) => {
      const members = await backend.memberList(!!req.linearizable);
      return { header: header(), members: members.map(toWireMember) };
    }, onError),

    MemberAdd: unary('MemberAdd', async (req: { peerURLs?: string[]; isLearner?: boolean }) => {
      const urls = req.peerURLs ?? [];
      checkPeerURLs(urls);
      const { member, members } = await backend.memberAdd(urls, !!req.isLearner);
      return { header: header(), member: toWireMember(member), members: members.map(toWireMember) };
    }, onError),

    MemberRemove: unary('MemberRemove', async (req: { ID?: number }) => {
      const members = await backend.memberRemove(checkMemberId(req.ID));
      return { header: header(), members: members.map(toWireMember) };
    }, onError),

    MemberPromote: unary('MemberPromote', async (req: { ID?: number }) => {
      const members = await backend.memberPromote(checkMemberId(req.ID));
      return { header: header(), members: members.map(toWireMember) };
    }, onError),

    MemberUpdate: unary('MemberUpdate', async () => {
      throw new ApiError(grpc.status.UNIMPLEMENTED, 'MemberUpdate is not implemented by replicant: remove the member and add a new one');
    }, onError),
  };
}
