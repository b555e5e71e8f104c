// The Raft consensus algorithm as a deterministic state machine: elections
// (PreVote, CheckQuorum), log replication with per-follower flow control,
// commitment, joint-consensus configuration changes, leadership transfer,
// ReadIndex and snapshots. Structure after etcd-io/raft; the Raft thesis
// (Ongaro 2014) is cited by section.
//
// It must never perform I/O, read a clock, use timers or global randomness:
// time is `tick()`, randomness is the injected `Rand`, output is `msgs` and the
// state the host reads through RawNode.ready().
import type { ConfChange, Entry, HardState, Message, MessageType, NodeId, ReadState, Snapshot, StateType } from './types.ts';
import { NONE, message } from './types.ts';
import type { Storage } from './storage.ts';
import { entrySize } from './storage.ts';
import type { Rand } from './prng.ts';
import { RaftLog } from './log/raft-log.ts';
import { ProgressTracker } from './tracker/tracker.ts';
import { Inflights } from './tracker/inflights.ts';
import { Progress } from './tracker/progress.ts';
import { Changer, ConfChangeError, isLeaveJoint, type ChangeResult } from './confchange/confchange.ts';
import { restoreConfig } from './confchange/restore.ts';
import { decodeConfChange, encodeConfChange } from './confchange/codec.ts';
import { ReadOnly } from './read-only.ts';
import {
  CompactedError,
  ConfChangeRejectedError,
  ProposalDroppedError,
  SnapshotTemporarilyUnavailableError,
  UnavailableError,
  invariant,
} from './errors.ts';

/** Config tunes one raft member. Tick counts are in host ticks (e.g. 100 ms each). */
export interface Config {
  id: NodeId;
  /** electionTick: a follower that hears nothing for this many ticks (randomised up to 2x) campaigns. */
  electionTick: number;
  /** heartbeatTick: the leader sends heartbeats every this many ticks. Must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** applied: the index the application's state already reflects (after a restart). */
  applied?: number;
  /** maxSizePerMsg bounds the entries in one append message (bytes; at least one entry is sent). */
  maxSizePerMsg?: number;
  /** maxCommittedSizePerReady bounds the committed entries handed out in one Ready. */
  maxCommittedSizePerReady?: number;
  /** maxUncommittedEntriesSize bounds the leader's uncommitted tail; 0 = unlimited. */
  maxUncommittedEntriesSize?: number;
  /** maxInflightMsgs bounds pipelined appends per follower. */
  maxInflightMsgs?: number;
  /** maxInflightBytes bounds the bytes of pipelined appends per follower; 0 = unlimited. */
  maxInflightBytes?: number;
  /** checkQuorum: the leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum?: boolean;
  /** preVote: a campaign first asks whether it could win (§9.6), so partitioned members do not bump terms. */
  preVote?: boolean;
  disableProposalForwarding?: boolean;
  rand: Rand;
}

type CampaignType = 'preElection' | 'election' | 'transfer';

/** TRANSFER_CONTEXT marks a vote request caused by a leadership transfer (it overrides leases). */
const TRANSFER_CONTEXT = Uint8Array.of(0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72); // "transfer"

function isTransferContext(ctx: Uint8Array | undefined): boolean {
  if (!ctx || ctx.length !== TRANSFER_CONTEXT.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== TRANSFER_CONTEXT[i]) return false;
  return true;
}

function voteRespType(t: MessageType): MessageType {
  switch (t) {
    case 'vote':
      return 'voteResp';
    case 'preVote':
      return 'preVoteResp';
    default:
      throw new Error(`not a vote message: ${t}`);
  }
}

function payloadSize(ents: Entry[]): number {
  let s = 0;
  for (const e of ents) s += e.data.length;
  return s;
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly trk: ProgressTracker;
  state: StateType = 'follower';
  /** isLearner: this member is a learner in the current configuration. */
  isLearner = false;
  msgs: Message[] = [];
  lead: NodeId = NONE;
  /** leadTransferee is the target of an ongoing leadership transfer, or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * pendingConfIndex: a configuration change may be proposed only once the log
   * is applied past this index (one change at a time; §4.1).
   */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  /**
   * removingSelf: this leader's log ends with a configuration change that
   * leaves it out of the voters. It then accepts no new entries, so that when
   * the change commits and it steps down, a voter of the new configuration
   * holds its entire log and can win the next election even before it learns
   * the change committed (otherwise the ex-leader's longer log would refuse
   * every candidate that still counts it in a joint quorum).
   */
  removingSelf = false;
  /**
   * campaignAfterApply: a TimeoutNow arrived while configuration changes were
   * committed but not yet applied; campaign as soon as they are (the host
   * applies them in the same Ready cycle), instead of losing the transfer.
   */
  campaignAfterApply = false;
  readOnly = new ReadOnly();
  /** reads received before this leader committed an entry of its term (§6.4 step 1). */
  private pendingReadIndexMessages: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  /**
   * leadReportedDown: the host told this follower that the process of its
   * leader (`lead`) is gone (see reportLeaderDown). Until the follower hears
   * from that leader again or its leader changes, it holds no lease for it
   * (it answers pre-votes and votes) and campaigns after a short delay.
   */
  leadReportedDown = false;
  /**
   * hastenedCampaign: this pre-candidate campaigns early because its leader
   * was reported down. Two survivors told at the same moment may campaign
   * within one pre-vote round trip of each other; granting each other's
   * pre-votes would make both candidates and split the vote (a whole
   * election timeout lost). While hastened, a pre-candidate grants a pre-vote
   * only to a member whose log is more up to date than its own, or as up to
   * date with a lower id, so exactly one of two such survivors goes on to the
   * real vote, which the other then grants (yielding by id alone would let a
   * lower id with the shorter log and a higher id with the longer one refuse
   * each other, and both wait a whole timeout).
   */
  private hastenedCampaign = false;
  /** the kind of the campaign under way (its vote requests are re-sent with the same context) */
  private campaignKind: CampaignType = 'election';
  /** campaigns: how many campaigns (pre-vote or vote rounds) this member started; hosts log new ones, not re-sent requests */
  campaigns = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  private readonly disableProposalForwarding: boolean;
  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly rand: Rand;

  constructor(c: Config) {
    invariant(c.id !== NONE, 'cannot use none as id');
    invariant(c.heartbeatTick > 0, 'heartbeat tick must be greater than 0');
    invariant(c.electionTick > c.heartbeatTick, 'election tick must be greater than heartbeat tick');
    this.id = c.id;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? 64 * 1024 * 1024);
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? 256, c.maxInflightBytes ?? 0);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.rand = c.rand;

    const { hardState, confState } = c.storage.initialState();
    const restored = restoreConfig(this.trk, this.raftLog.lastIndex(), confState);
    this.switchToConfig(restored);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  // ---- state transitions -------------------------------------------------

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    invariant(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.leadReportedDown = false;
    this.hastenedCampaign = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      const fresh = new Progress(last + 1, new Inflights(this.trk.maxInflight, this.trk.maxInflightBytes), pr.isLearner);
      // The leader counts only what is durable in its own log.
      if (id === this.id) fresh.match = this.raftLog.durableLastIndex();
      this.trk.progress.set(id, fresh);
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.removingSelf = false;
    this.campaignAfterApply = false;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = 'follower';
  }

  private becomeCandidate(): void {
    invariant(this.state !== 'leader', 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = 'candidate';
  }

  private becomePreCandidate(): void {
    invariant(this.state !== 'leader', 'invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither its term nor its vote (§9.6).
    this.trk.resetVotes();
    this.lead = NONE;
    // A campaign of this member that follows a hastened one is a normal one.
    this.hastenedCampaign = false;
    if (this.leadReportedDown) {
      // The hastened campaign has started; should it fail, the next one waits
      // a normal randomised timeout, not the short delay again.
      this.leadReportedDown = false;
      this.hastenedCampaign = true;
      this.resetRandomizedElectionTimeout();
    }
    this.state = 'preCandidate';
  }

  private becomeLeader(): void {
    invariant(this.state !== 'follower', 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = 'leader';
    // Followers start in probe; the leader itself is trivially replicated and
    // always counts as active for CheckQuorum.
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // An empty entry of the new term: it commits the previous terms' entries
    // (§5.4.2) and, until it is applied, blocks configuration changes and
    // ReadIndex (the single-server change bug; §6.4).
    const empty: Entry = { term: 0, index: 0, type: 'normal', data: new Uint8Array() };
    invariant(this.appendEntry([empty]), 'empty entry was dropped');
    this.pendingConfIndex = this.raftLog.lastIndex();
    this.removingSelf = this.unappliedChangesRemoveSelf();
  }

  /** unappliedChangesRemoveSelf replays the configuration changes not yet applied and checks our place. */
  private unappliedChangesRemoveSelf(): boolean {
    let lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex());
    const hi = this.raftLog.lastIndex() + 1;
    let removes = false;
    let view = this.trk;
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, this.maxMsgSize);
      if (ents.length === 0) break;
      for (const e of ents) {
        if (e.type !== 'confChange') continue;
        try {
          const next = new Changer(view, this.raftLog.lastIndex()).apply(decodeConfChange(e.data));
          const t = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
          t.config = next.config;
          t.progress = next.progress;
          view = t;
          removes = this.excludesSelf(next);
        } catch {
          // An invalid entry is rejected when applied; it changes nothing.
        }
      }
      lo = ents[ents.length - 1].index + 1;
    }
    return removes;
  }

  /** excludesSelf: a configuration that is final (not joint) and in which we do not vote. */
  private excludesSelf(r: ChangeResult): boolean {
    return !r.config.voters.isJoint && !r.config.voters.incoming.has(this.id);
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rand.intn(this.electionTimeout);
  }

  /** promotable: this member is a voter of its configuration and may campaign. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /**
   * reportLeaderDown is the host's positive evidence that the process of
   * member `id` is gone (its stream broke and its address then refused a
   * connection: the host answers, nothing listens). It is ignored unless this
   * member is a follower whose leader is `id`; otherwise the follower drops
   * its lease for that leader (so it answers the other survivors' pre-votes
   * and votes at once) and campaigns within [1, 1 + 3 × heartbeatTimeout)
   * ticks instead of the rest of its randomised election timeout; the spread
   * keeps two survivors that learnt it at the same moment from splitting the
   * vote. A later append, heartbeat or snapshot from the leader (it was alive
   * after all) restores the lease and a normal randomised timeout.
   *
   * Safety never depends on timing, so a wrong report costs at most an early
   * pre-vote round, which a live leader's followers refuse from within their
   * own leases. Repeated reports keep the moment chosen first. Returns true
   * when the report was taken.
   */
  reportLeaderDown(id: NodeId): boolean {
    if (this.state !== 'follower' || id === NONE || id === this.id || this.lead !== id) return false;
    if (this.leadReportedDown) return false;
    this.leadReportedDown = true;
    const soon = this.electionElapsed + 1 + this.rand.intn(3 * this.heartbeatTimeout);
    if (soon < this.randomizedElectionTimeout) this.randomizedElectionTimeout = soon;
    return true;
  }

  /** heardFromLeader: an append, heartbeat or snapshot from `lead` arrived; a report that it was down was wrong. */
  private heardFromLeader(): void {
    this.electionElapsed = 0;
    if (!this.leadReportedDown) return;
    this.leadReportedDown = false;
    this.resetRandomizedElectionTimeout();
  }

  // ---- ticks -------------------------------------------------------------

  tick(): void {
    if (this.state === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: 'hup', from: this.id }));
      return;
    }
    if ((this.state === 'preCandidate' || this.state === 'candidate') && this.electionElapsed % this.heartbeatTimeout === 0) {
      this.resendVoteRequests();
    }
  }

  /**
   * resendVoteRequests asks again, every heartbeat timeout of a campaign, the
   * voters that have not answered yet. A follower ignores a vote request while
   * it is "in lease" (it heard from a leader less than an election timeout
   * ago, §4.2.3), and tick phases differ between members: a member whose
   * randomised timeout is the minimum can campaign a tick before the others
   * leave their lease, and its only request is then dropped for good. Without
   * an answer it would wait a whole new election timeout, and if its log is
   * the most complete, the others cannot win meanwhile (it refuses them), so
   * one unlucky tick cost a second election timeout after a leader crash. A
   * repeated request is a network duplicate to the receivers (the thesis's
   * RPCs are retried the same way, §3.3) and a vote is counted once per
   * voter, so safety is untouched.
   */
  private resendVoteRequests(): void {
    const preVote = this.state === 'preCandidate';
    for (const id of this.trk.voterIds()) {
      if (id === this.id || this.trk.votes.has(id)) continue;
      this.send(
        message({
          type: preVote ? 'preVote' : 'vote',
          to: id,
          term: preVote ? this.term + 1 : this.term,
          index: this.raftLog.lastIndex(),
          logTerm: this.raftLog.lastTerm(),
          context: this.campaignKind === 'transfer' ? TRANSFER_CONTEXT : undefined,
        }),
      );
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: 'checkQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: 'beat', from: this.id }));
    }
  }

  // ---- sending -----------------------------------------------------------

  private send(m: Message): void {
    // A forwarded transfer request keeps the transferee as its sender.
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'vote' || m.type === 'voteResp' || m.type === 'preVote' || m.type === 'preVoteResp') {
      invariant(m.term !== 0, `term should be set when sending ${m.type}`);
    } else {
      invariant(m.term === 0, `term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader are local messages there.
      if (m.type !== 'prop' && m.type !== 'readIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** sendAppend sends entries (or a snapshot) to `to`, even an empty append to carry the commit index. */
  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean, afterCommit = false): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(pr.next - 1);
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return this.maybeSendSnapshot(to, pr);
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const m = message({ type: 'app', to, index: pr.next - 1, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed });
    // An empty append to a replicating follower only carries the commit index:
    // the follower need not answer it (commitOnly) when the answer could tell
    // nothing new — it holds everything sent to it (match), or, right after a
    // commit, the appends it has yet to acknowledge were sent on the same
    // ordered stream and are answered on their own, ahead of this one. (Had
    // that answer been lost, the next heartbeat's answer makes us send an
    // append that is answered.) Not during a leadership transfer, whose step
    // waits on answers; a probe is always answered.
    if (ents.length === 0 && pr.state === 'replicate' && (pr.match >= m.index || afterCommit) && this.leadTransferee === NONE) {
      m.commitOnly = true;
    }
    this.send(m);
    if (ents.length > 0) {
      const last = ents[ents.length - 1].index;
      if (pr.state === 'replicate') {
        pr.optimisticUpdate(last);
        let bytes = 0;
        for (const e of ents) bytes += entrySize(e);
        pr.inflights.add(last, bytes);
      } else if (pr.state === 'probe') {
        pr.msgAppFlowPaused = true;
      }
    }
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    // Only a follower heard from recently gets a (costly) snapshot.
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof SnapshotTemporarilyUnavailableError) return false;
      throw e;
    }
    invariant(snap.metadata.index !== 0, 'need non-empty snapshot');
    pr.becomeSnapshot(snap.metadata.index);
    this.send(message({ type: 'snap', to, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(this.trk.progress.get(to)!.match, this.raftLog.committed);
    this.send(message({ type: 'heartbeat', to, commit, context: ctx }));
  }

  /** bcastAppend sends every follower what it lacks, or an empty append to carry the commit index (`afterCommit`: the commit index just moved). */
  private bcastAppend(afterCommit = false): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.maybeSendAppend(id, true, afterCommit);
    });
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message({ type: 'timeoutNow', to }));
  }

  // ---- log ---------------------------------------------------------------

  /** appendEntry stamps term and index on new leader entries and appends them; false if over the uncommitted limit. */
  private appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      es[i].term = this.term;
      es[i].index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) return false;
    this.raftLog.append(es);
    // The leader's own entries count toward commitment only once they are
    // durable (see onPersisted): the host may then send appends before its
    // own fsync, writing in parallel with the followers (thesis §10.2.1).
    return true;
  }

  /**
   * onPersisted is called by RawNode when the host made entries durable up to
   * `index`: the leader counts itself for them now, and may commit.
   */
  onPersisted(): void {
    if (this.state !== 'leader') return;
    const pr = this.trk.progress.get(this.id);
    if (!pr || !pr.maybeUpdate(this.raftLog.durableLastIndex())) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend(true);
    }
  }

  /** maybeCommit advances the commit index to what a (joint) quorum holds, if of the current term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadSize(ents);
    if (this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    const s = payloadSize(ents);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnErr(this.raftLog.committed) === this.term;
  }

  // ---- elections ---------------------------------------------------------

  private hup(t: CampaignType): void {
    if (this.state === 'leader') return;
    if (!this.promotable()) return;
    // A member that has not applied every committed configuration change does
    // not know its real configuration yet and must not campaign.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    lo = Math.max(lo, this.raftLog.firstIndex());
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, this.maxMsgSize);
      if (ents.length === 0) break;
      for (const e of ents) if (e.type === 'confChange') return true;
      lo = ents[ents.length - 1].index + 1;
    }
    return false;
  }

  private campaign(t: CampaignType): void {
    if (!this.promotable()) return;
    this.campaignKind = t;
    this.campaigns++;
    let voteMsg: MessageType;
    let term: number;
    if (t === 'preElection') {
      this.becomePreCandidate();
      voteMsg = 'preVote';
      // A pre-vote asks for the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = 'vote';
      term = this.term;
    }
    const ids = this.trk.voterIds();
    for (const id of ids) {
      if (id === this.id) {
        // Vote for ourselves (only our own vote may decide a one-member group).
        const { result } = this.poll(id, voteRespType(voteMsg), true);
        if (result === 'won') {
          if (t === 'preElection') this.campaign('election');
          else this.becomeLeader();
          return;
        }
      }
    }
    for (const id of ids) {
      if (id === this.id) continue;
      this.send(
        message({
          type: voteMsg,
          to: id,
          term,
          index: this.raftLog.lastIndex(),
          logTerm: this.raftLog.lastTerm(),
          context: t === 'transfer' ? TRANSFER_CONTEXT : undefined,
        }),
      );
    }
  }

  private poll(id: NodeId, _t: MessageType, granted: boolean) {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  // ---- step --------------------------------------------------------------

  /**
   * step processes one message. It returns an error for a dropped proposal
   * (local callers report it; dropped network messages are simply ignored).
   */
  step(m: Message): Error | undefined {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const force = isTransferContext(m.context);
        // A member that heard from a leader within the election timeout
        // ignores vote requests (§4.2.3): a removed or partitioned member
        // cannot depose a working leader.
        // A leader reported down (reportLeaderDown) holds no lease here.
        const inLease = this.checkQuorum && this.lead !== NONE && !this.leadReportedDown && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) return undefined;
      }
      if (m.type === 'preVote') {
        // Never change our term in response to a pre-vote.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the future term; the real vote will follow.
      } else if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A stale leader (e.g. after a partition healed) learns the new term
        // from this response and steps down; otherwise it could keep sending
        // forever to a member whose pre-votes it keeps rejecting.
        this.send(message({ type: 'appResp', to: m.from }));
      } else if (m.type === 'preVote') {
        this.send(message({ type: 'preVoteResp', to: m.from, term: this.term, reject: true }));
      }
      return undefined;
    }

    switch (m.type) {
      case 'hup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return undefined;
      case 'vote':
      case 'preVote': {
        // Two hastened survivors: the more complete log goes on, and with equal
        // logs the lower id (see hastenedCampaign).
        const yieldsTo = !(m.type === 'preVote' && this.state === 'preCandidate' && this.hastenedCampaign && m.from > this.id && !this.raftLog.isMoreUpToDate(m.index, m.logTerm));
        const canVote =
          yieldsTo &&
          (this.vote === m.from ||
            (this.vote === NONE && this.lead === NONE) ||
            (m.type === 'preVote' && m.term > this.term));
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          // The response carries the request's term so the candidate counts it.
          this.send(message({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === 'vote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          } else if (this.leadReportedDown && this.state === 'follower') {
            // Another survivor is already campaigning for the dead leader's
            // place: campaigning soon as well would only split the vote, so
            // this member waits a normal randomised timeout from now (should
            // that campaign fail), keeping its lease dropped.
            this.randomizedElectionTimeout = this.electionElapsed + this.electionTimeout + this.rand.intn(this.electionTimeout);
          }
        } else {
          this.send(message({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return undefined;
      }
      default:
        switch (this.state) {
          case 'leader':
            return this.stepLeader(m);
          case 'candidate':
          case 'preCandidate':
            return this.stepCandidate(m);
          case 'follower':
            return this.stepFollower(m);
        }
    }
  }

  private stepLeader(m: Message): Error | undefined {
    switch (m.type) {
      case 'beat':
        this.bcastHeartbeat();
        return undefined;
      case 'checkQuorum':
        if (!this.trk.quorumActive()) this.becomeFollower(this.term, NONE);
        // Everyone but us must prove activity again during the next round.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return undefined;
      case 'prop':
        return this.leaderPropose(m);
      case 'readIndex':
        if (this.trk.isSingleton()) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return undefined;
        }
        // Not before this leader committed an entry of its term: until then its
        // commit index may be behind the previous leader's (§6.4 step 1).
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return undefined;
        }
        this.startReadIndex(m);
        return undefined;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) return undefined;
    switch (m.type) {
      case 'appResp':
        pr.recentActive = true;
        if (m.reject) {
          let nextProbeIdx = m.rejectHint;
          if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm);
          if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
        } else {
          const oldPaused = pr.isPaused();
          if (pr.maybeUpdate(m.index)) {
            if (pr.state === 'probe') {
              pr.becomeReplicate();
            } else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
              pr.becomeProbe();
              pr.becomeReplicate();
            } else if (pr.state === 'replicate') {
              pr.inflights.freeLE(m.index);
            }
            if (this.maybeCommit()) {
              this.releasePendingReadIndexMessages();
              this.bcastAppend(true);
            } else if (oldPaused) {
              this.sendAppend(m.from);
            }
            while (this.maybeSendAppend(m.from, false)) {
              // keep the pipeline full
            }
            if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(m.from);
          }
        }
        return undefined;
      case 'heartbeatResp': {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // The follower is alive but the pipeline is full: an append was
        // probably lost. Free a slot so replication (or a rejection that
        // resets `next`) can resume.
        if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
        if (!m.context || m.context.length === 0) return undefined;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks || this.trk.config.voters.voteResult(acks) !== 'won') return undefined;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return undefined;
      }
      case 'snapStatus':
        if (pr.state !== 'snapshot') return undefined;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for a heartbeat response before the next append: the follower
        // may still be applying the snapshot.
        pr.msgAppFlowPaused = true;
        return undefined;
      case 'unreachable':
        // An optimistic append was probably lost; go back to probing.
        if (pr.state === 'replicate') pr.becomeProbe();
        return undefined;
      case 'transferLeader': {
        if (pr.isLearner) return undefined;
        const transferee = m.from;
        const last = this.leadTransferee;
        if (last !== NONE) {
          if (last === transferee) return undefined;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return undefined;
        // The transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return undefined;
      }
    }
    return undefined;
  }

  private leaderPropose(m: Message): Error | undefined {
    invariant(m.entries.length > 0, 'stepped empty proposal');
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration while still leading: refuse new work.
      return new ProposalDroppedError('leader is not a member of the configuration');
    }
    if (this.leadTransferee !== NONE) return new ProposalDroppedError('leadership transfer in progress');
    if (this.removingSelf) return new ProposalDroppedError('leader is leaving the configuration');
    let removes = false;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i];
      if (e.type !== 'confChange') continue;
      const result = this.checkConfChange(e.data);
      if (result instanceof Error) return result;
      removes = this.excludesSelf(result);
      this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
    }
    if (!this.appendEntry(m.entries)) return new ProposalDroppedError('too many uncommitted entries');
    this.removingSelf = removes;
    this.bcastAppend();
    return undefined;
  }

  /**
   * checkConfChange validates a configuration change against the applied
   * configuration before it enters the log, so a change is never silently
   * turned into a no-op later (etcd-io/raft#80, #354).
   */
  private checkConfChange(data: Uint8Array): ChangeResult | Error {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (e) {
      return new ConfChangeRejectedError((e as Error).message);
    }
    const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
    const alreadyJoint = this.trk.config.voters.isJoint;
    const wantsLeaveJoint = isLeaveJoint(cc);
    if (alreadyPending) {
      return new ConfChangeRejectedError(
        `a configuration change is still pending at index ${this.pendingConfIndex} (applied ${this.raftLog.applied})`,
      );
    }
    if (alreadyJoint && !wantsLeaveJoint) return new ConfChangeRejectedError('must leave the joint configuration first');
    if (!alreadyJoint && wantsLeaveJoint) return new ConfChangeRejectedError('not in a joint configuration');
    try {
      return new Changer(this.trk, this.raftLog.lastIndex()).apply(cc);
    } catch (e) {
      if (e instanceof ConfChangeError) return new ConfChangeRejectedError(e.message);
      throw e;
    }
  }

  private stepCandidate(m: Message): Error | undefined {
    const myVoteResp: MessageType = this.state === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'prop':
        return new ProposalDroppedError('no leader');
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return undefined;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return undefined;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return undefined;
      case 'readIndex':
        return new ProposalDroppedError('no leader');
      default:
        if (m.type === myVoteResp) {
          const { result } = this.poll(m.from, m.type, !m.reject);
          if (result === 'won') {
            if (this.state === 'preCandidate') {
              this.campaign('election');
            } else {
              this.becomeLeader();
              this.bcastAppend();
            }
          } else if (result === 'lost') {
            // A rejection may carry a higher term, which Step already adopted.
            this.becomeFollower(this.term, NONE);
          }
        }
        return undefined;
    }
  }

  private stepFollower(m: Message): Error | undefined {
    switch (m.type) {
      case 'prop':
        if (this.lead === NONE) return new ProposalDroppedError('no leader');
        if (this.disableProposalForwarding) return new ProposalDroppedError('proposal forwarding disabled');
        if (m.entries.some((e) => e.type === 'confChange')) {
          return new ProposalDroppedError('configuration changes must be proposed on the leader');
        }
        m.to = this.lead;
        this.send(m);
        return undefined;
      case 'app':
        this.heardFromLeader();
        this.lead = m.from;
        this.handleAppendEntries(m);
        return undefined;
      case 'heartbeat':
        this.heardFromLeader();
        this.lead = m.from;
        this.handleHeartbeat(m);
        return undefined;
      case 'snap':
        this.heardFromLeader();
        this.lead = m.from;
        this.handleSnapshot(m);
        return undefined;
      case 'transferLeader':
        if (this.lead === NONE) return new ProposalDroppedError('no leader to transfer from');
        m.to = this.lead;
        this.send(m);
        return undefined;
      case 'timeoutNow':
        // A transfer campaign skips pre-vote: the old leader asked for it.
        if (this.promotable() && this.hasUnappliedConfChanges()) this.campaignAfterApply = true;
        else this.hup('transfer');
        return undefined;
      case 'readIndex':
        if (this.lead === NONE) return new ProposalDroppedError('no leader');
        m.to = this.lead;
        this.send(m);
        return undefined;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
        return undefined;
    }
    return undefined;
  }

  // ---- follower handlers ---------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(message({ type: 'appResp', to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      // A commit-only append (maybeSendAppend) is taken without an answer.
      if (!m.commitOnly || m.entries.length > 0) this.send(message({ type: 'appResp', to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index at or below the probe whose term
    // is not above the leader's term there, so the leader can skip a term.
    let hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    hintIndex = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    const hintTerm = this.raftLog.zeroTermOnErr(hintIndex);
    this.send(message({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm }));
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(message({ type: 'heartbeatResp', to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.send(message({ type: 'appResp', to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(message({ type: 'appResp', to: m.from, index: this.raftLog.committed }));
    }
  }

  /** restore installs a snapshot from the leader; false if it is stale or already covered by our log. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== 'follower') {
      // Defensive: only followers receive snapshots.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const inSnapshot = [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(this.id);
    const ourPr = this.trk.progress.get(this.id);
    // A voter of our own configuration never accepts a snapshot that does not
    // know it. A member without a configuration (a new member catching up)
    // does: its own addition follows in the log after the snapshot.
    if (!inSnapshot && ourPr && !ourPr.isLearner) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    const restored = restoreConfig(this.trk, this.raftLog.lastIndex(), cs);
    this.switchToConfig(restored);
    return true;
  }

  // ---- configuration -------------------------------------------------------

  /**
   * applyConfChange is called by the host when it applies a committed
   * configuration-change entry; the new configuration takes effect now.
   */
  applyConfChange(cc: ConfChange): ChangeResult {
    const result = new Changer(this.trk, this.raftLog.lastIndex()).apply(cc);
    this.switchToConfig(result);
    return result;
  }

  private switchToConfig(r: ChangeResult): void {
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    if ((!pr || this.isLearner) && this.state === 'leader') {
      // Removed (or demoted) by a configuration that is now committed: step
      // down, and hand over at once to the most caught-up voter instead of
      // leaving the group to wait for an election timeout.
      let best = NONE;
      let bestMatch = -1;
      this.trk.visit((id, p) => {
        if (id !== this.id && !p.isLearner && this.trk.config.voters.has(id) && p.match > bestMatch) {
          best = id;
          bestMatch = p.match;
        }
      });
      if (best !== NONE && bestMatch === this.raftLog.lastIndex()) this.sendTimeoutNow(best);
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (this.state !== 'leader' || this.trk.config.voters.incoming.size === 0) return;
    // The quorum changed: maybe more is committed now; tell everyone.
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.config.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
  }

  /** maybeCampaignAfterApply runs a transfer campaign deferred until configuration changes were applied. */
  maybeCampaignAfterApply(): void {
    if (!this.campaignAfterApply || this.state !== 'follower' || this.hasUnappliedConfChanges()) return;
    this.campaignAfterApply = false;
    this.hup('transfer');
  }

  /** maybeAutoLeave proposes leaving the joint configuration once it is applied (auto-leave). */
  maybeAutoLeave(): void {
    if (this.state !== 'leader' || !this.trk.config.autoLeave) return;
    if (this.raftLog.applied < this.pendingConfIndex) return;
    const leave: ConfChange = { transition: 'auto', changes: [], context: new Uint8Array() };
    const ent: Entry = { term: 0, index: 0, type: 'confChange', data: encodeConfChange(leave) };
    const result = new Changer(this.trk, this.raftLog.lastIndex()).leaveJoint();
    invariant(this.appendEntry([ent]), 'refused un-refusable auto-leaving configuration change');
    this.pendingConfIndex = this.raftLog.lastIndex();
    this.removingSelf = this.excludesSelf(result);
    this.bcastAppend();
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- reads ----------------------------------------------------------------

  private startReadIndex(m: Message): void {
    this.readOnly.addRequest(this.raftLog.committed, m);
    // The leader acknowledges its own heartbeat round.
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeatWithCtx(m.context);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondToReadIndex(req: Message, readIndex: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, context: req.context ?? new Uint8Array() });
      return;
    }
    this.send(message({ type: 'readIndexResp', to: req.from, index: readIndex, context: req.context }));
  }
}
