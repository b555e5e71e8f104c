// The plain data the consensus core exchanges with its host: log entries, hard
// state, snapshots, configurations and messages. Shapes follow etcd-io/raft's
// raftpb so the transport and storage can encode them field for field.
// This module must never hold behaviour beyond tiny constructors and guards: it
// is imported by storage, transport and the simulator alike.

/** NodeId identifies a member for its whole life; 0 means "none". Ids are never reused. */
export type NodeId = number;

/** NONE is the absent node id (no vote, no leader). */
export const NONE: NodeId = 0;

/** EntryType tells the application how to interpret an entry's data. */
export type EntryType = 'normal' | 'confChange';

/** Entry is one slot of the replicated log. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque command for 'normal'; an encoded ConfChange for 'confChange'. Empty for the leader's no-op. */
  data: Uint8Array;
}

/** HardState is what must be durable before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/**
 * ConfState is a configuration as the application persists it. While joint,
 * `votersOutgoing` is the old half (C_old) and `voters` the new half (C_new).
 * `learnersNext` are voters of C_old that become learners when the joint
 * configuration is left.
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  learnersNext: NodeId[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/** Snapshot is the application's state at `metadata.index`; data is opaque to raft. */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

/** ConfChangeType is one step of a configuration change. */
export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode';

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: NodeId;
}

/**
 * ConfChangeTransition picks how a change is carried out (etcd's ConfChangeV2):
 * - 'auto': a simple change when it touches at most one voter, otherwise joint
 *   consensus left automatically once the joint configuration is applied;
 * - 'jointImplicit': always joint, left automatically;
 * - 'jointExplicit': always joint, left only by an explicit empty change.
 */
export type ConfChangeTransition = 'auto' | 'jointImplicit' | 'jointExplicit';

/** ConfChange is a (possibly multi-member) configuration change; no changes means "leave joint". */
export interface ConfChange {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  /** Opaque to raft: the application's request id, addresses of new members, and so on. */
  context: Uint8Array;
}

/** MessageType names every message the core handles. Local ones never cross the network. */
export type MessageType =
  | 'hup' // local: start an election
  | 'beat' // local: leader sends heartbeats
  | 'prop' // propose entries (local, or forwarded by a follower)
  | 'app' // append entries
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap' // install snapshot
  | 'heartbeat'
  | 'heartbeatResp'
  | 'unreachable' // local: the transport could not reach `from`
  | 'snapStatus' // local: how a snapshot send to `from` ended (reject = failed)
  | 'checkQuorum' // local: leader checks it heard from a quorum
  | 'transferLeader'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp';

/** Message is the unit of communication between cores and from the host into a core. */
export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** Term of the entry at `index` (app, vote, preVote: the sender's last entry). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** On a rejected appResp: the follower's hint for where to probe next. */
  rejectHint: number;
  /** ReadIndex request context, or the campaign kind for a vote. */
  context?: Uint8Array;
  /**
   * On an app without entries: sent only to carry the commit index to a
   * replicating follower that holds everything sent to it, or whose
   * unanswered appends went ahead of this one on the same ordered stream; the
   * follower accepts it without answering (an answer would say nothing new).
   * Set by the leader (Raft.maybeSendAppend), absent otherwise.
   */
  commitOnly?: boolean;
}

/** SoftState is volatile and need not be persisted. */
export interface SoftState {
  leader: NodeId;
  state: StateType;
}

export type StateType = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** ReadState answers a readIndex request: it is safe to serve the read once `index` is applied. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * Ready is one batch of work for the host. The host must, in order: persist
 * `hardState`, `entries` and `snapshot` (fsync when `mustSync`), then send
 * `messages`, then apply `committedEntries`, then call `advance()`.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

/** emptyConfState returns a fresh configuration with no members. */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** isEmptyHardState is true for the zero hard state of a brand-new node. */
export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

/** message fills the defaults of a Message so call sites name only what matters. */
export function message(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...m,
  };
}
