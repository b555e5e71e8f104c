// RawNode is the whole API of the consensus core for its host (the replica
// server or the simulator): inputs are ticks, messages and proposals; output is
// a Ready batch the host persists, sends and applies before calling advance().
// It must never perform I/O or keep time; it only wraps Raft.
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, Ready, Snapshot, SoftState, StateType } from './types.ts';
import { NONE, message } from './types.ts';
import { Raft, type Config } from './raft.ts';
import { encodeConfChange } from './confchange/codec.ts';
import { ProposalDroppedError, invariant } from './errors.ts';
import { configToString } from './tracker/tracker.ts';
import type { ProgressState } from './tracker/progress.ts';
import type { MemoryStorage } from './storage.ts';

/** LOCAL_MESSAGES never arrive from the network; RawNode.step refuses them. */
const LOCAL_MESSAGES = new Set(['hup', 'beat', 'unreachable', 'snapStatus', 'checkQuorum']);

export interface PeerProgress {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
}

/** Status is a consistent view of the member for observability and the admin API. */
export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  lead: NodeId;
  state: StateType;
  leadTransferee: NodeId;
  config: ConfState;
  configString: string;
  lastIndex: number;
  firstIndex: number;
  /** progress of every member, only on the leader. */
  progress?: Map<NodeId, PeerProgress>;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** the Ready handed out and not yet advanced (ready() must not be called again before advance()). */
  private pendingReady: Ready | undefined;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.raft.hardState();
  }

  /** tick advances the logical clock by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /** campaign makes this member start an election now (tests, bootstrap of a single member). */
  campaign(): void {
    this.raft.step(message({ type: 'hup' }));
  }

  /** propose appends data to the log through the leader; throws ProposalDroppedError if it cannot. */
  propose(data: Uint8Array): void {
    const err = this.raft.step(
      message({ type: 'prop', from: this.raft.id, entries: [{ term: 0, index: 0, type: 'normal', data }] }),
    );
    if (err) throw err;
  }

  /**
   * proposeMany appends several entries in one proposal (one append message per
   * follower instead of one per entry); all or none are accepted: it throws
   * ProposalDroppedError if it cannot take them.
   */
  proposeMany(data: readonly Uint8Array[]): void {
    if (data.length === 0) return;
    const entries: Entry[] = new Array(data.length);
    for (let i = 0; i < data.length; i++) entries[i] = { term: 0, index: 0, type: 'normal', data: data[i] };
    const err = this.raft.step(message({ type: 'prop', from: this.raft.id, entries }));
    if (err) throw err;
  }

  /**
   * proposeConfChange proposes a configuration change. Only the leader accepts
   * it, and only when no other change is pending: otherwise it throws
   * (ConfChangeRejectedError or ProposalDroppedError) and nothing is appended.
   */
  proposeConfChange(cc: ConfChange): void {
    if (this.raft.state !== 'leader') throw new ProposalDroppedError('not the leader');
    const err = this.raft.step(
      message({
        type: 'prop',
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) }],
      }),
    );
    if (err) throw err;
  }

  /** applyConfChange must be called when the host applies a committed configuration-change entry. */
  applyConfChange(cc: ConfChange): ConfState {
    this.raft.applyConfChange(cc);
    return this.raft.trk.confState();
  }

  /** step feeds a message received from a peer; local message types are refused. */
  step(m: Message): void {
    if (LOCAL_MESSAGES.has(m.type)) throw new Error(`raft: cannot step raft local message ${m.type}`);
    // Proposals forwarded by followers arrive with term 0 and are handled as
    // local ones; a dropped forwarded proposal is the sender's to time out.
    this.raft.step(m);
  }

  /** readIndex requests a linearizable read; `context` must be unique (it keys the answer). */
  readIndex(context: Uint8Array): void {
    const err = this.raft.step(message({ type: 'readIndex', context }));
    if (err) throw err;
  }

  /** transferLeadership asks the leader to hand over to `transferee`. */
  transferLeadership(transferee: NodeId): void {
    this.raft.step(message({ type: 'transferLeader', from: transferee }));
  }

  /** reportUnreachable tells the leader a message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: 'unreachable', from: id }));
  }

  /**
   * reportLeaderDown tells a follower that its leader `id`'s process is gone
   * (positive evidence only: its peer address refused a connection after the
   * stream to it broke; never a mere timeout or reset). The follower stops
   * honouring that leader's lease and campaigns after a short randomised
   * delay; ignored (false) unless this member is a follower led by `id`.
   */
  reportLeaderDown(id: NodeId): boolean {
    return this.raft.reportLeaderDown(id);
  }

  /** reportSnapshot tells the leader how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: 'snapStatus', from: id, reject: !ok }));
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, state: this.raft.state };
  }

  /** hasReady tells whether ready() would return any work (false while a Ready awaits advance()). */
  hasReady(): boolean {
    if (this.pendingReady !== undefined) return false;
    const r = this.raft;
    const ss = this.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.state !== this.prevSoftState.state) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.hasPendingSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.hasUnstableEntries() || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /** ready returns the next batch of work; the host must call advance() after handling it. */
  ready(): Ready {
    invariant(this.pendingReady === undefined, 'ready called twice without advance');
    const r = this.raft;
    const rd: Ready = {
      entries: r.raftLog.unstableEntries(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: false,
    };
    const ss = this.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.state !== this.prevSoftState.state) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) rd.hardState = hs;
    if (r.raftLog.unstable.snapshot) rd.snapshot = r.raftLog.unstable.snapshot;
    // Entries, a vote or a term must be durable before messages that depend on them leave.
    rd.mustSync =
      rd.entries.length > 0 ||
      rd.snapshot !== undefined ||
      (rd.hardState !== undefined && (rd.hardState.vote !== this.prevHardState.vote || rd.hardState.term !== this.prevHardState.term));
    r.msgs = [];
    r.readStates = [];
    // Its entries are the host's to persist now: no later Ready carries them again.
    r.raftLog.unstable.acceptInProgress();
    this.pendingReady = rd;
    return rd;
  }

  /**
   * sendableBeforePersist tells which messages of a Ready the host may send
   * before persisting it: a leader's appends, heartbeats and snapshots do not
   * depend on its own durability (it counts itself only once durable).
   * Everything else (votes, responses) must wait for the fsync.
   */
  static sendableBeforePersist(m: Message): boolean {
    return m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
  }

  /**
   * advance tells the core the last Ready was persisted, sent and applied.
   * With entriesPersistedLater, everything but its entries was: the host
   * calls persisted() once they are durable (a leader may, as it counts
   * itself for them only then; it never sent anything that depends on them).
   */
  advance(opts?: { entriesPersistedLater?: boolean }): void {
    const rd = this.pendingReady;
    invariant(rd !== undefined, 'advance called without ready');
    this.pendingReady = undefined;
    const r = this.raft;
    if (rd.hardState) this.prevHardState = rd.hardState;
    if (rd.snapshot) {
      r.raftLog.stableSnapTo(rd.snapshot.metadata.index);
      r.raftLog.appliedSnapshot(rd.snapshot.metadata.index);
    }
    if (rd.entries.length > 0 && !opts?.entriesPersistedLater) {
      const last = rd.entries[rd.entries.length - 1];
      r.raftLog.stableTo(last.index, last.term);
      r.onPersisted();
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1];
      r.raftLog.appliedTo(last.index);
      if (r.state === 'leader') r.reduceUncommittedSize(rd.committedEntries);
      r.maybeAutoLeave();
      r.maybeCampaignAfterApply();
    }
  }

  /**
   * persisted tells the core that the entries of an earlier Ready advanced
   * with entriesPersistedLater are durable up to (index, term): a leader
   * counts itself for them and may commit. Ignored for entries replaced
   * meanwhile. Calls must follow the order of the writes.
   */
  persisted(index: number, term: number): void {
    this.raft.raftLog.stableTo(index, term);
    this.raft.onPersisted();
  }

  /** status reports the member's view; progress only when leader. */
  status(): Status {
    const r = this.raft;
    const s: Status = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      applied: r.raftLog.applied,
      lead: r.lead,
      state: r.state,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      configString: configToString(r.trk.config),
      lastIndex: r.raftLog.lastIndex(),
      firstIndex: r.raftLog.firstIndex(),
    };
    if (r.state === 'leader') {
      s.progress = new Map();
      r.trk.visit((id, pr) => {
        s.progress!.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      });
    }
    return s;
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * bootstrap prepares the storage of a founding member of a new group: a
 * snapshot at index 1, term 1 holding the initial voters and the
 * application's empty state. Every founding member must use the same voters.
 */
export function bootstrap(storage: MemoryStorage, voters: NodeId[], emptyState: Uint8Array): Snapshot {
  invariant(voters.length > 0, 'bootstrap needs at least one voter');
  invariant(!voters.includes(NONE), 'bootstrap voters must be non-zero ids');
  const snap: Snapshot = {
    metadata: {
      index: 1,
      term: 1,
      confState: { voters: [...voters].sort((a, b) => a - b), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    },
    data: emptyState,
  };
  storage.applySnapshot(snap);
  storage.setHardState({ term: 1, vote: NONE, commit: 1 });
  return snap;
}

/** isEmptySnapshot is true for the zero snapshot of a member that has none. */
export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return !s || s.metadata.index === 0;
}
