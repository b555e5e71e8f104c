// The replica's admin API as the planner sees it: plain data with the field
// names protobufjs gives proto/admin.proto (camelCase, 64-bit ids as numbers),
// so the wiring passes decoded responses straight through. Types and
// normalisation only: must never call anything.

export interface AdminMember {
  id: number;
  /** name is empty until the member has started and published it. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

/** AdminConfiguration is the raft configuration; while joint, votersOutgoing is C_old. */
export interface AdminConfiguration {
  voters: number[];
  votersOutgoing: number[];
  learners: number[];
  learnersNext: number[];
  joint: boolean;
}

export interface AdminCheckpoint {
  index: number;
  revision: number;
  digest: string;
}

export interface AdminPeerProgress {
  id: number;
  match: number;
  next: number;
  state: string;
  recentActive: boolean;
  isLearner: boolean;
}

/** AdminStatus is a StatusResponse. */
export interface AdminStatus {
  memberId: number;
  name: string;
  clusterId: number;
  term: number;
  /** leader is the leader's id, 0 when none is known. */
  leader: number;
  /** role is follower, preCandidate, candidate or leader (learners are followers). */
  role: string;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  configuration: AdminConfiguration;
  members: AdminMember[];
  /** progress of every member, only when this member leads. */
  progress: AdminPeerProgress[];
  checkpoints: AdminCheckpoint[];
  revision?: number;
  version?: string;
  snapshotIndex?: number;
  leaderClientUrls?: string[];
}

export interface MemberSpecRequest {
  name: string;
  peerUrls: string[];
}

/** ChangeMembershipRequest adds learners (promoted once caught up), removes and promotes in one joint change. */
export interface ChangeMembershipRequest {
  requestId: string;
  add: MemberSpecRequest[];
  remove: number[];
  promote: number[];
  catchUpTimeoutMs: number;
}

export interface TransferLeadershipRequest {
  target: number;
}

const EMPTY_CONFIGURATION: AdminConfiguration = { voters: [], votersOutgoing: [], learners: [], learnersNext: [], joint: false };

/**
 * normalizeStatus fills what proto3 decoding may leave out (absent messages,
 * empty lists), so the planner can read every field without checks.
 */
export function normalizeStatus(s: Partial<AdminStatus>): AdminStatus {
  const c: Partial<AdminConfiguration> = s.configuration ?? {};
  const configuration: AdminConfiguration = {
    voters: [...(c.voters ?? EMPTY_CONFIGURATION.voters)],
    votersOutgoing: [...(c.votersOutgoing ?? [])],
    learners: [...(c.learners ?? [])],
    learnersNext: [...(c.learnersNext ?? [])],
    joint: !!c.joint || (c.votersOutgoing ?? []).length > 0,
  };
  return {
    memberId: s.memberId ?? 0,
    name: s.name ?? '',
    clusterId: s.clusterId ?? 0,
    term: s.term ?? 0,
    leader: s.leader ?? 0,
    role: s.role ?? '',
    commitIndex: s.commitIndex ?? 0,
    appliedIndex: s.appliedIndex ?? 0,
    lastIndex: s.lastIndex ?? 0,
    configuration,
    members: (s.members ?? []).map((m) => ({
      id: m.id ?? 0,
      name: m.name ?? '',
      peerUrls: [...(m.peerUrls ?? [])],
      clientUrls: [...(m.clientUrls ?? [])],
      isLearner: !!m.isLearner,
    })),
    progress: [...(s.progress ?? [])],
    checkpoints: [...(s.checkpoints ?? [])],
    revision: s.revision,
    version: s.version,
    snapshotIndex: s.snapshotIndex,
    leaderClientUrls: s.leaderClientUrls,
  };
}

/** hexId renders a member id the way etcd prints it. */
export function hexId(id: number): string {
  return id.toString(16);
}

/** parseHexId reads an id written by hexId; undefined when malformed. */
export function parseHexId(text: string | undefined): number | undefined {
  if (!text || !/^[0-9a-f]{1,14}$/.test(text)) return undefined;
  const id = parseInt(text, 16);
  return id > 0 && id < 2 ** 53 ? id : undefined;
}
