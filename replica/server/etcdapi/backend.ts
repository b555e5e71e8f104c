// ClientBackend is the seam between the etcd-compatible client API and the
// replica: the API validates and encodes requests, the backend carries them
// through raft (writes), serves reads after a ReadIndex (unless serializable),
// and answers membership and status questions. The team lead's server
// implements it over raft; tests use SingleNodeBackend.
// This module must never hold behaviour: only the contract.
import type { HashKVResult, KvCommand, KvResult, RangeRequest, RangeResponse } from '../../kv/index.ts';

/** ClusterHeader is what every response header reports about the answering member. */
export interface ClusterHeader {
  clusterId: number;
  memberId: number;
  raftTerm: number;
  /** revision is the member's current store revision. */
  revision: number;
}

/** Member is one member of the group as the Cluster service reports it. */
export interface Member {
  id: number;
  /** name is empty until the member has started. */
  name: string;
  peerURLs: string[];
  /** clientURLs is empty until the member has started. */
  clientURLs: string[];
  isLearner: boolean;
}

/** MemberStatus is what Maintenance.Status reports (etcd's StatusResponse fields). */
export interface MemberStatus {
  /** version is the server version string etcdctl prints (for example "3.4.0"). */
  version: string;
  dbSize: number;
  dbSizeInUse: number;
  /** leader is the member id this member believes leads, 0 if none. */
  leader: number;
  /** raftIndex is the committed index. */
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** errors lists alarms and health problems (empty when healthy). */
  errors: string[];
  isLearner: boolean;
}

export interface ClientBackend {
  /** nextRequestId returns a request id unique to this proposal (see kv's RequestIdGenerator). */
  nextRequestId(): number;
  /**
   * write proposes `data` (the encoding of `command`) and resolves with the
   * result of applying that entry on this member. Rejects with EtcdError for
   * no leader, timeouts, leader changes, a stopped server, ...
   */
  write(command: KvCommand, data: Uint8Array): Promise<KvResult>;
  /**
   * read answers a Range on this member's store after a ReadIndex barrier, or
   * at once when `serializable`. Rejects with KvError (compacted, future
   * revision) or EtcdError (no leader, timeout).
   */
  read(request: RangeRequest, serializable: boolean): Promise<RangeResponse>;
  /** header reports the identity, term and current revision for response headers. */
  header(): ClusterHeader;
  status(): Promise<MemberStatus>;
  /** hashKV is the store's HashKV at `revision` (0 = current). */
  hashKV(revision: number): Promise<HashKVResult>;
  memberList(linearizable: boolean): Promise<Member[]>;
  /** memberAdd adds a member (a learner if asked) and returns it with the members after the change. */
  memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }>;
  /** memberRemove removes a member; rejects with EtcdError('memberNotFound') for an unknown id. */
  memberRemove(id: number): Promise<Member[]>;
  /** memberPromote makes a learner a voter; rejects with memberNotFound / memberNotLearner / learnerNotReady. */
  memberPromote(id: number): Promise<Member[]>;
}
