// The loop that drives the raft core for one replica: ticks (on a fixed schedule), messages and
// proposals in; for every Ready: start the write → (a leader) apply what is
// already durable here → send a leader's appends → wait for the fsync → send
// what depended on it → apply the rest → advance. A leader's Ready of new
// entries that nothing in it waits on skips the wait: its entries are told
// to raft as persisted once durable (appendLater).
// It matches apply results to waiting client requests, runs ReadIndex
// barriers for linearizable reads, applies configuration changes to raft, the
// member table and the transport, and takes snapshots (captured in the loop at
// the applied index, encoded in slices between the loop's turns, written to
// disk beside it).
// It must never send a message or acknowledge a client before what they
// depend on is durable (on a majority: a leader may answer for entries its
// followers made durable before its own write of them is done), and never
// apply an entry twice or out of order.
import type { Logger } from 'pino';
import {
  ConfChangeRejectedError,
  ProposalDroppedError,
  RawNode,
  decodeConfChange,
  seededRand,
  type ConfChange,
  type ConfState,
  type Entry,
  type MemoryStorage,
  type Message,
  type NodeId,
  type Ready,
  type Snapshot,
  type Status,
} from '../raft/index.ts';
import { decodeCommand, type DeltaBase, type ImageLayout, type KvCommand, type KvResult, type KvStore, type SnapshotBase } from '../kv/index.ts';
import { SnapshotImageReader, type DiskStorage } from '../storage/index.ts';
import { EtcdError } from './etcdapi/index.ts';
import { decodeEntry, decodeSnapshot, encodeKvEntries, encodePublishEntry, snapshotEnvelope } from './envelope.ts';
import { MemberTable } from './members.ts';
import { extendsChain, snapshotDueAt, snapshotPhase, type OwnChain } from './snapshot-schedule.ts';
import type { ReplicaMetrics } from './metrics.ts';
import { startTicker, type Ticker } from './ticker.ts';
import { SNAPSHOT_CHUNK_BYTES, ownSnapshotVerdict, streamOwnSnapshot, type OwnSnapshotStream } from './own-snapshot.ts';
import { latencyTraceOn, traceMark } from './latency-trace.ts';
import { COMMIT_NOTICE_HOLD_MS, CommitNoticeHold } from './commit-notices.ts';
import { IdTable } from '../util/id-table.ts';

export interface PeerSender {
  send(messages: Message[]): void;
  /** syncPeers makes the transport dial exactly these members (id → peer URL). */
  syncPeers(peers: Map<NodeId, string>): void;
}

export interface ReplicaNodeOptions {
  id: NodeId;
  name: string;
  clientURLs: string[];
  tickMs: number;
  electionTicks: number;
  mem: MemoryStorage;
  disk: DiskStorage;
  kv: KvStore;
  members: MemberTable;
  /** applied: the index the restored state machine reflects (the snapshot's). */
  applied: number;
  logger: Logger;
  metrics: ReplicaMetrics;
  snapshotCount: number;
  snapshotCatchupEntries: number;
  /** own snapshots after a whole one that may be deltas (0: every one whole; see extendsChain) */
  snapshotDeltas: number;
  requestTimeoutMs: number;
  /** test-only negative control: reads skip ReadIndex. */
  unsafeLocalReads: boolean;
  /**
   * joinPeers: the members (id → peer URL) a joining member discovered when it
   * was added. Its first catch-up may be a snapshot older than its own
   * addition, whose table lacks the leader that added it; until that addition
   * is applied, these peers stay reachable so it can answer the leader.
   */
  joinPeers?: Map<NodeId, string>;
  /** called when the node cannot go on (storage failed): the process must restart. */
  onFatal(err: Error): void;
  /** how long a leader holds a commit notice for the next append to replace (commit-notices.ts); 0 sends each at once */
  commitNoticeHoldMs?: number;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** ProposalWaiter is a client write waiting for its apply; the ticker fails it past its deadline (no timer of its own). */
interface ProposalWaiter {
  resolve(v: KvResult): void;
  reject(e: Error): void;
  deadline: number;
}

/** Proposal is a client write waiting to be proposed: its request id and encoded KV command. */
interface Proposal {
  requestId: number;
  command: Uint8Array;
}

interface IndexWaiter {
  term: number;
  resolve(index: number): void;
  reject(e: Error): void;
}

interface ReadBatch {
  ctx: Uint8Array;
  key: string;
  waiters: Waiter<void>[];
  index?: number;
  issuedAt: number;
}

export class ReplicaNode {
  readonly id: NodeId;
  readonly raw: RawNode;
  readonly kv: KvStore;
  members: MemberTable;
  private readonly o: ReplicaNodeOptions;
  private readonly log: Logger;
  private peers: PeerSender | undefined;
  private running = false;
  private wake: (() => void) | undefined;
  private kicked = false;
  private ticker: Ticker | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  /**
   * proposals waiting for their apply, by request id. These three tables come
   * and go at the rate of requests and rounds: IdTables, not Maps, so that
   * what they held is garbage for the young collector as soon as it left
   * (../util/id-table.ts).
   */
  private readonly kvWaiters = new IdTable<ProposalWaiter>();
  /** a leader's writes of its own entries that the loop did not wait for (appendLater), by a counter */
  private readonly appendsInFlight = new IdTable<Promise<void>>();
  private appendsStarted = 0;
  /** a due own snapshot waits for this member's log to hold the applied index: the next appends wait for their write */
  private snapshotWaitsForOwnLog = false;
  /** what this member sends its peers, holding a leader's commit notices briefly */
  private readonly outbox: CommitNoticeHold;
  private proposalsCommitted = 0;
  private readonly indexWaiters = new IdTable<IndexWaiter[]>();
  private readonly appliedWaiters: { index: number; resolve(): void }[] = [];
  /**
   * KV proposals not yet handed to raft (each its encoded command, without
   * the entry envelope): the loop proposes them together, as one entry batch
   * whose entries share one buffer (encodeKvEntries).
   */
  private proposalBatch: Proposal[] = [];
  /**
   * proposals that arrived while no leader was known (an election is under
   * way): held, as etcd's raft node holds them, and proposed as soon as a
   * leader is known, instead of failing at once with "no leader" and sending
   * the client elsewhere. Each still ends at its request deadline.
   */
  private awaitingLeader: Proposal[] = [];
  private pendingReads: Waiter<void>[] = [];
  private readInFlight: ReadBatch | undefined;
  private readonly readsAwaitingApply: ReadBatch[] = [];
  private readSeq = 0;
  private leader: NodeId = 0;
  private lastSnapshotIndex: number;
  /** the own snapshot being encoded in slices, if any (see maybeSnapshot) */
  private snapshotEncoding: OwnSnapshot | undefined;
  /** the own snapshot being written in the background, if any (see maybeSnapshot) */
  private snapshotInFlight: Promise<void> | undefined;
  /**
   * the KV image in this member's last own snapshot file, and where it put
   * each key's revisions: the next own snapshot copies the revisions it
   * holds instead of encoding them again (see maybeSnapshot)
   */
  private lastImage: { layout: ImageLayout; file: string; offset: number } | undefined;
  /**
   * the chain this member's last own snapshot ends (its last whole one and
   * the deltas since), and the capture the next delta starts after (see
   * maybeSnapshot)
   */
  private ownChain: (OwnChain & { tipTerm: number; since: DeltaBase }) | undefined;
  private fatalReported = false;
  /** where in each snapshot period this member snapshots (see snapshot-schedule.ts) */
  private readonly snapshotPhase: number;
  /**
   * peerHints are peer URLs known outside the member table, like etcd's transport remotes: when a
   * snapshot older than some current members replaces the table (a joining member catching up
   * from the leader's newest snapshot, which may predate the leader itself), the members the
   * table listed before stay reachable, so this member can answer a leader its table does not
   * list yet. A hint goes once the table lists the member again or records it removed.
   */
  private readonly peerHints = new Map<NodeId, string>();
  private publishedAttributes = false;
  private lastPublishTry = 0;
  private stopping = false;
  /** test-only fault: apply puts differently from the other members (see Admin.InjectFault). */
  faultNondeterministicApply = false;
  /** when this member last heard from a leader (append, heartbeat, snapshot): the campaign log says how long before */
  private lastLeaderContact = performance.now();
  /** when this member last became leader, and the term whose first commit it logged (see logElection) */
  private becameLeaderAt = 0;
  private firstCommitLoggedTerm = 0;
  /** raft's campaign count last logged: re-sent vote requests are not new campaigns */
  private loggedCampaigns = 0;

  constructor(o: ReplicaNodeOptions) {
    this.o = o;
    this.id = o.id;
    this.kv = o.kv;
    this.members = o.members;
    this.log = o.logger;
    o.metrics.sources.proposalsPending = () => this.kvWaiters.size;
    o.metrics.sources.proposalsCommitted = () => this.proposalsCommitted;
    const restored = o.mem.snapshot().metadata;
    this.lastSnapshotIndex = restored.index;
    // The snapshot restored at startup is on disk (recovery read it from there).
    if (restored.index === o.disk.lastSnapshotIndex()) this.releaseSnapshotImage(restored);
    this.snapshotPhase = snapshotPhase(o.id, o.snapshotCount);
    this.raw = new RawNode({
      id: o.id,
      storage: o.mem,
      applied: o.applied,
      electionTick: o.electionTicks,
      heartbeatTick: 1,
      checkQuorum: true,
      preVote: true,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 64 * 1024 * 1024,
      rand: seededRand((Math.random() * 2 ** 32) >>> 0),
    });
    // Every member starts as a follower (onSoftState follows later changes).
    o.disk.setBlockingWrites(this.raw.raft.state !== 'leader');
    this.outbox = new CommitNoticeHold(
      o.commitNoticeHoldMs ?? COMMIT_NOTICE_HOLD_MS,
      (msgs) => this.peers?.send(msgs),
      (term) => this.running && this.raw.raft.state === 'leader' && this.raw.raft.term === term,
    );
    o.metrics.sources.commitNotices = () => this.outbox.counts;
  }

  /** start begins ticking and processing; `peers` carries messages out. */
  start(peers: PeerSender): void {
    this.peers = peers;
    this.running = true;
    this.syncPeers();
    let ticks = 0;
    this.refreshGauges();
    // A fixed schedule (see ticker.ts): setInterval drifted late under load.
    this.ticker = startTicker(this.o.tickMs, () => {
      this.raw.tick();
      this.maybePublish();
      if (++ticks % 5 === 0) this.refreshGauges();
      this.expireProposals(performance.now());
      this.kick();
    });
    this.loopDone = this.loop();
  }

  /** stop halts the loop after the Ready in progress and fails every waiting request. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.running = false;
    this.ticker?.stop();
    this.outbox.clear();
    this.kick();
    await this.loopDone;
    await Promise.allSettled(this.appendsInFlight.valuesNow());
    // A snapshot being encoded is dropped (within one slice); one being written
    // finishes before the storage may be closed.
    await this.dropSnapshotEncoding();
    while (this.snapshotInFlight) await this.snapshotInFlight;
    const stopped = new EtcdError('stopped');
    this.rejectWaitingProposals(stopped);
    this.proposalBatch = [];
    this.awaitingLeader = [];
    for (const ws of this.indexWaiters.valuesNow()) for (const w of ws) w.reject(stopped);
    this.indexWaiters.clear();
    this.failReads(stopped);
  }

  get isStopped(): boolean {
    return !this.running;
  }

  /** step feeds messages received from peers. */
  step(msgs: Message[]): void {
    if (!this.running) return;
    for (const m of msgs) {
      if (m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap') this.lastLeaderContact = performance.now();
      if (latencyTraceOn) {
        if (m.type === 'app' && m.entries.length > 0) traceMark('recv-app', m.entries[m.entries.length - 1].index);
        else if (m.type === 'appResp' && !m.reject) traceMark('recv-ack', m.index);
      }
      try {
        this.raw.step(m);
        // A follower's forwarded proposals: it answers its clients once it learns they are committed.
        if (m.type === 'prop' && this.raw.raft.state === 'leader') this.outbox.noteForwarded(m.from, this.raw.raft.raftLog.lastIndex());
      } catch (e) {
        this.log.warn({ err: e, type: m.type, from: m.from }, 'dropped a raft message');
      }
    }
    this.kick(true);
  }

  reportUnreachable(peer: NodeId): void {
    if (!this.running) return;
    this.raw.reportUnreachable(peer);
    this.o.metrics.peerSendFailures.inc({ peer: peer.toString(16) });
    this.kick();
  }

  /**
   * reportPeerRefused: the transport found `peer`'s process gone (its stream
   * broke and a redial to its address was refused). Raft is told only when
   * `peer` is this follower's current leader: it then stops honouring that
   * leader's lease and campaigns within 1–3 heartbeats instead of waiting out
   * its 1–2 s election timeout. A dead machine or a partition gives no
   * refusal and keeps the normal timeout.
   */
  reportPeerRefused(peer: NodeId): void {
    // Raft takes it only from a follower led by `peer` (false otherwise).
    if (!this.running || !this.raw.reportLeaderDown(peer)) return;
    const raft = this.raw.raft;
    this.log.info(
      {
        leader: peer.toString(16),
        term: raft.term,
        sinceLeaderMs: Math.round(performance.now() - this.lastLeaderContact),
        campaignInTicks: raft.randomizedElectionTimeout - raft.electionElapsed,
      },
      "leader's process is gone (its peer address refused a connection); campaigning soon",
    );
    this.kick();
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    if (!this.running) return;
    this.raw.reportSnapshot(peer, ok);
    this.kick();
  }

  /**
   * kick tells the loop there is work. An idle loop wakes on the next
   * setImmediate rather than at once, so every client request that arrived in
   * the same I/O phase goes into one Ready: one write, one fsync and one frame
   * per peer instead of several. Peer messages (`now`) wake it at once (after
   * the current callback): a frame already carries a batch, and they are on
   * every write's critical path — the append a follower must persist and
   * acknowledge, the acknowledgement that commits on the leader.
   */
  private kick(now = false): void {
    const w = this.wake;
    if (w) {
      this.wake = undefined;
      if (now) w();
      else setImmediate(w);
    } else {
      this.kicked = true;
    }
  }

  // ---- the loop ------------------------------------------------------------

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        this.maybeSnapshot();
      } catch (e) {
        this.fatal(e, 'fatal error while taking a snapshot; the member must restart');
        return;
      }
      this.proposeBatch();
      if (!this.raw.hasReady()) {
        if (this.kicked) {
          this.kicked = false;
          continue;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      const rd = this.raw.ready();
      let entriesPersistedLater: boolean;
      try {
        entriesPersistedLater = await this.handleReady(rd);
      } catch (e) {
        this.fatal(e, 'fatal error while handling raft ready; the member must restart');
        return;
      }
      this.raw.advance({ entriesPersistedLater });
      if (latencyTraceOn) traceMark('advanced', this.raw.raft.raftLog.committed);
      this.afterAdvance();
      // (the next turn starts with maybeSnapshot, at the applied index just reached)
    }
  }

  /** fatal stops the loop and reports the first fatal error (once). */
  private fatal(e: unknown, msg: string): void {
    this.running = false;
    this.ticker?.stop();
    this.outbox.clear();
    this.snapshotEncoding?.stream.cancel();
    // The ticker that expires proposals is stopped: fail the waiting ones now
    // (whether each was applied elsewhere is unknown, as after a timeout).
    this.rejectWaitingProposals(new EtcdError('stopped'));
    if (this.fatalReported) return;
    this.fatalReported = true;
    this.log.error({ err: e }, msg);
    this.o.onFatal(e as Error);
  }

  /** handleReady handles one Ready; true when its entries are still being written (appendLater). */
  private async handleReady(rd: Ready): Promise<boolean> {
    const m = this.o.metrics;
    if (rd.softState) this.onSoftState(rd.softState.leader, rd.softState.state);
    // Messages that do not depend on this Ready's durability (step 3) and those that do (step 5).
    const early: Message[] = [];
    const late: Message[] = [];
    for (const msg of rd.messages) (RawNode.sendableBeforePersist(msg) ? early : late).push(msg);
    // Vote requests and answers wait for the fsync, so they are all among `late`.
    if (late.length > 0) this.logElection(late);
    if (rd.committedEntries.length > 0 && this.firstCommitLoggedTerm !== this.raw.raft.term && this.raw.raft.state === 'leader') {
      this.logFirstCommit(rd.committedEntries);
    }
    if (latencyTraceOn && rd.entries.length > 0) traceMark('ready', rd.entries[rd.entries.length - 1].index);
    if (latencyTraceOn && rd.committedEntries.length > 0) traceMark('committed', rd.committedEntries[rd.committedEntries.length - 1].index);
    if (this.canAppendLater(rd, late)) {
      this.appendLater(rd, early);
      return true;
    }
    // 1. persist, started before anything else so the disk works while the
    // rest of this turn runs (the write is submitted before save returns):
    // snapshot file first, then the hard state and entries (fsync when
    // required). A hard state that only moves the commit index needs no
    // fsync and nothing waits for it: it is written in order with the next
    // saves and a failure is as fatal as any other.
    let persisted: Promise<void> | undefined;
    if (rd.snapshot) persisted = this.persistWithSnapshot(rd);
    else if (rd.entries.length > 0 || rd.mustSync) persisted = this.o.disk.save(rd.hardState, rd.entries, rd.mustSync);
    else if (rd.hardState) this.o.disk.save(rd.hardState, rd.entries, false).catch((e) => this.fatal(e, 'fatal error while writing the hard state; the member must restart'));
    // 2. Committed entries that an earlier Ready already made durable here are
    // applied (and their clients answered) while this Ready's write and fsync
    // run, as etcd applies concurrently with persisting: committed means a
    // majority holds them, and this member's own copy is on disk too.
    // Configuration changes and snapshots keep the strict order.
    // Only a leader: a follower's save returns with its fsync done (blocking
    // writes), so applying first would only hold back its acknowledgements,
    // which step 5 sends before it applies.
    const applyFirst = this.raw.raft.state === 'leader' && this.canApplyBeforePersist(rd);
    if (applyFirst) this.applyCommitted(rd.committedEntries);
    // 3. a leader's appends and heartbeats leave now: it writes its own log in
    // parallel with the followers and counts itself only once durable.
    if (early.length > 0) this.outbox.send(early);
    if (latencyTraceOn && rd.entries.length > 0 && early.some((msg) => msg.type === 'app' && msg.entries.length > 0)) traceMark('sent-app', rd.entries[rd.entries.length - 1].index);
    // 4. wait for durability
    if (persisted) await persisted;
    if (latencyTraceOn && rd.entries.length > 0) traceMark('persisted', rd.entries[rd.entries.length - 1].index);
    if (rd.snapshot) this.o.mem.applySnapshot(rd.snapshot);
    this.o.mem.append(rd.entries);
    if (rd.hardState) {
      this.o.mem.setHardState(rd.hardState);
      m.term.set(rd.hardState.term);
      m.commitIndex.set(rd.hardState.commit);
    }
    // 5. send what depended on the fsync (votes, acknowledgements)
    if (late.length > 0) this.outbox.send(late);
    if (latencyTraceOn) for (const msg of late) if (msg.type === 'appResp' && !msg.reject) traceMark('sent-ack', msg.index);
    // 6. apply the rest
    if (rd.snapshot) {
      this.installSnapshot(rd.snapshot);
      this.releaseSnapshotImage(rd.snapshot.metadata);
    }
    if (!applyFirst) this.applyCommitted(rd.committedEntries);
    for (const rs of rd.readStates) this.onReadState(rs.context, rs.index);
    return false;
  }

  /**
   * canAppendLater: a leader's Ready of new entries need not hold the loop
   * until its own fdatasync (appendLater) when nothing in it waits on that
   * write: no snapshot, no message that must follow it (votes, answers), no
   * change of leadership or term, no configuration change to apply; and
   * not while a due snapshot waits for this member's log to hold what it
   * applied (maybeSnapshot).
   */
  private canAppendLater(rd: Ready, late: Message[]): boolean {
    if (this.snapshotWaitsForOwnLog) return false;
    if (this.raw.raft.state !== 'leader' || rd.softState || rd.snapshot || rd.entries.length === 0 || late.length > 0) return false;
    for (const e of rd.committedEntries) if (e.type === 'confChange') return false;
    return true;
  }

  /**
   * appendLater handles a leader's Ready without waiting for its own write:
   * the write starts, the appends leave, what is committed is applied (a
   * majority holds it durably: its followers, or this member's earlier
   * writes) and the loop goes on to the next Ready, so that a slow local
   * fdatasync holds neither the next round's proposals nor a commit the two
   * followers' acknowledgements already make. Once the write is durable the
   * entries go into raft's storage and raft counts this member for them
   * (persisted); the writes complete in order. A failed write is fatal.
   */
  private appendLater(rd: Ready, early: Message[]): void {
    const { entries, hardState } = rd;
    const last = entries[entries.length - 1];
    const written = this.o.disk.save(hardState, entries, rd.mustSync);
    if (early.length > 0) this.outbox.send(early);
    if (latencyTraceOn && early.some((msg) => msg.type === 'app' && msg.entries.length > 0)) traceMark('sent-app', last.index);
    this.applyCommitted(rd.committedEntries);
    const done = written.then(
      () => {
        try {
          this.persistedLater(entries, hardState, last);
        } catch (e) {
          this.fatal(e, 'fatal error after writing the log; the member must restart');
        }
      },
      (e) => this.fatal(e, 'fatal error while writing the log; the member must restart'),
    );
    const seq = ++this.appendsStarted;
    this.appendsInFlight.set(seq, done);
    void done.finally(() => this.appendsInFlight.delete(seq));
    for (const rs of rd.readStates) this.onReadState(rs.context, rs.index);
  }

  /** persistedLater: an appendLater write is durable — its entries go into raft's storage and raft counts this member for them. */
  private persistedLater(entries: Entry[], hardState: Ready['hardState'], last: Entry): void {
    const m = this.o.metrics;
    if (latencyTraceOn) traceMark('persisted', last.index);
    this.o.mem.append(entries);
    // (a later hard state may have been set since, by a Ready that moved only the commit index or after a step down: never go back)
    const current = this.o.mem.getHardState();
    if (hardState && (hardState.term > current.term || (hardState.term === current.term && hardState.commit >= current.commit))) {
      this.o.mem.setHardState(hardState);
      m.term.set(hardState.term);
      m.commitIndex.set(hardState.commit);
    }
    this.raw.persisted(last.index, last.term);
    this.kick(true);
  }

  /** persistWithSnapshot saves a Ready that carries a snapshot: the snapshot file first, then the hard state and entries after it. */
  private async persistWithSnapshot(rd: Ready): Promise<void> {
    await this.o.disk.saveSnapshot(rd.snapshot!);
    if (rd.hardState || rd.entries.length > 0) await this.o.disk.save(rd.hardState, rd.entries, rd.mustSync);
  }

  /**
   * logElection logs this member's campaigns (with how long since it last
   * heard from a leader: a tick schedule that drifts under load shows here as
   * sinceLeaderMs well above electionTicks × tickMs) and its answers to vote
   * requests, so a failover can be broken down from the members' logs.
   */
  private logElection(msgs: Message[]): void {
    // The newest request is the campaign that moved the count (a Ready may also carry re-sent older ones).
    let request: Message | undefined;
    for (const m of msgs) {
      if (m.type === 'preVote' || m.type === 'vote') request = m;
      else if (m.type === 'preVoteResp' || m.type === 'voteResp') {
        this.log.info({ kind: m.type, to: m.to.toString(16), term: m.term, granted: !m.reject }, 'answered vote request');
      }
    }
    const raft = this.raw.raft;
    if (!request || raft.campaigns === this.loggedCampaigns) return;
    this.loggedCampaigns = raft.campaigns;
    this.log.info(
      {
        kind: request.type,
        term: request.term,
        index: request.index,
        logTerm: request.logTerm,
        sinceLeaderMs: Math.round(performance.now() - this.lastLeaderContact),
        electionTicks: raft.randomizedElectionTimeout,
        tickMs: this.o.tickMs,
      },
      'campaign',
    );
  }

  /** logFirstCommit logs when a new leader first commits an entry of its own term: from then on it can answer writes. */
  private logFirstCommit(entries: Entry[]): void {
    const raft = this.raw.raft;
    const last = entries[entries.length - 1];
    if (last.term !== raft.term) return;
    this.firstCommitLoggedTerm = raft.term;
    this.log.info(
      { term: raft.term, index: last.index, sinceElectedMs: Math.round(performance.now() - this.becameLeaderAt), committedEntries: entries.length },
      'committed the first entry of its term',
    );
  }

  /**
   * canApplyBeforePersist tells whether every committed entry of `rd` was made
   * durable on this member by an earlier Ready (none is among rd.entries, no
   * snapshot is being installed) and none is a configuration change.
   */
  private canApplyBeforePersist(rd: Ready): boolean {
    const ce = rd.committedEntries;
    if (ce.length === 0 || rd.snapshot) return false;
    if (rd.entries.length > 0 && ce[ce.length - 1].index >= rd.entries[0].index) return false;
    for (const e of ce) if (e.type === 'confChange') return false;
    return true;
  }

  private applyCommitted(entries: Entry[]): void {
    if (entries.length === 0) return;
    const m = this.o.metrics;
    const started = performance.now();
    for (const e of entries) this.applyEntry(e);
    m.applySeconds.observe((performance.now() - started) / 1000);
    m.appliedIndex.set(this.kv.appliedIndex);
  }

  private onSoftState(leader: NodeId, state: string): void {
    const m = this.o.metrics;
    if (leader !== this.leader) {
      if (this.leader !== 0 || leader !== 0) m.leaderChanges.inc();
      this.log.info({ leader: leader.toString(16), previous: this.leader.toString(16), state }, 'leader changed');
      this.leader = leader;
      // A ReadIndex in flight may have been lost with the old leader: ask again.
      if (this.readInFlight) {
        this.pendingReads.unshift(...this.readInFlight.waiters);
        this.readInFlight = undefined;
      }
    }
    if (leader !== 0 && this.awaitingLeader.length > 0) this.kicked = true; // propose what waited for a leader
    if (state === 'leader' && this.becameLeaderAt === 0) this.becameLeaderAt = performance.now();
    if (state !== 'leader') this.becameLeaderAt = 0;
    // Held notices and what was learnt about followers belong to the leadership that ended (or not yet begun).
    this.outbox.clear();
    m.isLeader.set(state === 'leader' ? 1 : 0);
    m.hasLeader.set(leader !== 0 ? 1 : 0);
    // A follower's loop has nothing to do during its fsync but wait: it writes without thread-pool trips.
    this.o.disk.setBlockingWrites(state !== 'leader');
  }

  private applyEntry(e: Entry): void {
    if (e.index <= this.kv.appliedIndex) return; // already in the restored snapshot
    if (e.type === 'confChange') {
      this.applyConfChange(e);
    } else if (e.data.length === 0) {
      this.kv.advanceTo(e.index);
    } else {
      let payload;
      try {
        payload = decodeEntry(e.data);
      } catch (err) {
        // Every member meets the same bytes and skips them alike.
        this.log.error({ err, index: e.index }, 'skipping an undecodable log entry');
        this.kv.advanceTo(e.index);
        this.resolveIndex(e);
        return;
      }
      if (payload.kind === 'kv') {
        const cmd: KvCommand = decodeCommand(payload.command);
        const result = this.kv.apply(e.index, cmd);
        if (this.faultNondeterministicApply && cmd.kind === 'put') this.kv.corruptValue(cmd.request.key);
        if (payload.proposer === this.id) {
          const w = this.kvWaiters.get(cmd.requestId);
          if (w) {
            this.kvWaiters.delete(cmd.requestId);
            this.proposalsCommitted++;
            if (latencyTraceOn) traceMark('applied', e.index);
            w.resolve(result);
          }
        }
      } else {
        this.members.publish(payload.id, payload.name, payload.clientURLs);
        this.kv.advanceTo(e.index);
        if (payload.id === this.id) this.publishedAttributes = true;
      }
    }
    this.resolveIndex(e);
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    const cs = this.raw.applyConfChange(cc);
    this.members.applyConfChange(cc, cs);
    this.kv.advanceTo(e.index);
    const m = this.o.metrics;
    m.votersCount.set(cs.voters.length);
    m.joint.set(cs.votersOutgoing.length > 0 ? 1 : 0);
    m.isLearner.set(cs.learners.includes(this.id) ? 1 : 0);
    this.log.info({ index: e.index, config: this.raw.status().configString }, 'applied configuration change');
    this.syncPeers();
    if (!this.members.get(this.id) && this.members.isRemoved(this.id)) {
      this.log.warn('this member was removed from the group');
    }
  }

  private installSnapshot(snap: Snapshot): void {
    // Decode everything before changing anything: a snapshot that does not decode leaves this member as it was.
    const { members, kv } = decodeSnapshot(snap.data);
    const table = MemberTable.decode(members, snap.metadata.confState);
    this.kv.restore(kv);
    this.lastImage = undefined; // of the keyspace just replaced
    this.kv.advanceTo(snap.metadata.index);
    for (const m of this.members.list()) if (m.id !== this.id && m.peerURLs.length > 0) this.peerHints.set(m.id, m.peerURLs[0]);
    this.members = table;
    this.lastSnapshotIndex = snap.metadata.index;
    this.o.metrics.snapshots.inc({ kind: 'installed' });
    this.log.info({ index: snap.metadata.index, term: snap.metadata.term }, 'installed snapshot from leader');
    this.syncPeers();
  }

  private syncPeers(): void {
    const peers = new Map<NodeId, string>();
    for (const m of this.members.list()) if (m.id !== this.id && m.peerURLs.length > 0) peers.set(m.id, m.peerURLs[0]);
    if (!this.members.get(this.id)) {
      for (const [id, url] of this.o.joinPeers ?? []) if (id !== this.id && !peers.has(id) && !this.members.isRemoved(id)) peers.set(id, url);
    }
    for (const [id, url] of this.peerHints) {
      if (this.members.get(id) || this.members.isRemoved(id)) this.peerHints.delete(id);
      else peers.set(id, url);
    }
    this.peers?.syncPeers(peers);
  }

  private afterAdvance(): void {
    const applied = this.kv.appliedIndex;
    // reads whose index is now applied
    for (let i = this.readsAwaitingApply.length - 1; i >= 0; i--) {
      const b = this.readsAwaitingApply[i];
      if (b.index! <= applied) {
        this.readsAwaitingApply.splice(i, 1);
        this.finishRead(b);
      }
    }
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      if (this.appliedWaiters[i].index <= applied) this.appliedWaiters.splice(i, 1)[0].resolve();
    }
    this.maybeIssueRead();
  }

  /**
   * maybeSnapshot takes a snapshot once per snapshotCount applied entries, at
   * this member's own phase (members of a group do not all snapshot at once).
   * It runs in the loop between Readies, so every step below happens at a
   * well-defined point of the log:
   * 1. capture, at the applied index: the member table, raft's configuration
   *    and term there, and the KV store's capture (kv.streamSnapshot: every
   *    key with its history and that history's length, O(keys));
   * 2. the image is encoded in slices between turns of the event loop and
   *    streamed into the snapshot's file as it comes (own-snapshot.ts), while
   *    the loop goes on applying entries: the capture reads exactly the state
   *    at the applied index whatever is applied after; the image is never
   *    whole in memory;
   * 3. once the file is written and fsynced, back here in the loop: dropped
   *    if a newer snapshot was installed meanwhile (from the leader), else
   *    committed by the storage (renamed into place, its marker in the WAL,
   *    serialised with the loop's own saves), as etcd saves snapshots beside
   *    its raft loop; once durable, recorded in raft's storage with its image
   *    left in the file (read back if a follower needs it).
   * The log is compacted, and lastSnapshotIndex moves, only once the snapshot
   * is durable; one snapshot is in flight (encoding or saving) at a time. A
   * failed encode or save is fatal.
   */
  private maybeSnapshot(): void {
    // A snapshot from the leader that raft accepted but the loop has not
    // installed yet has already switched raft's configuration to its own: no
    // capture (raft's configuration would not be the one at the applied index)
    // and no save until it is installed (this one is then stale).
    if (this.raw.raft.raftLog.hasPendingSnapshot()) return;
    const job = this.snapshotEncoding;
    if (job) {
      if (!job.stream.finished) return;
      this.snapshotEncoding = undefined;
      this.saveOwnSnapshot(job);
      return;
    }
    if (this.snapshotInFlight) return;
    const applied = this.kv.appliedIndex;
    if (!snapshotDueAt(applied, this.lastSnapshotIndex, this.o.snapshotCount, this.snapshotPhase)) return;
    // A leader may apply what its followers made durable before its own write
    // of it is done (appendLater): a snapshot waits until its own log holds
    // it, and so that a leader whose disk is slower than its followers' does
    // not wait for ever under load, its next Ready of new entries waits for
    // its write (canAppendLater) and so catches its log up.
    if (applied > this.o.mem.lastIndex()) {
      this.snapshotWaitsForOwnLog = true;
      return;
    }
    this.snapshotWaitsForOwnLog = false;
    const started = performance.now();
    const envelope = snapshotEnvelope(this.members.encode());
    const confState = this.raw.raft.trk.confState();
    const metadata = { index: applied, term: this.o.mem.term(applied), confState };
    // A delta of the last own snapshot while the chain is short and the
    // storage can extend it (the store still decides: none after a compaction
    // or restore); else a whole image, copying what the last whole one holds.
    const chain = this.ownChain;
    const extend =
      chain && extendsChain(chain, this.lastSnapshotIndex, this.o.snapshotDeltas) && this.o.disk.canExtend({ index: chain.tipIndex, term: chain.tipTerm })
        ? { index: chain.tipIndex, term: chain.tipTerm }
        : undefined;
    // The capture holds the store's spilled values until the stream closes the encoder.
    const encoder = this.kv.streamSnapshot(SNAPSHOT_CHUNK_BYTES, this.openLastImage(), extend && chain!.since);
    const captureMs = performance.now() - started;
    // A leader's encode slows every write of the group: it rests longer between slices.
    const restFactor = () => (this.raw.raft.state === 'leader' ? LEADER_SNAPSHOT_REST_FACTOR : 1);
    const stream = streamOwnSnapshot(this.o.disk, metadata, envelope, encoder, () => this.kick(), { restFactor, extend });
    this.snapshotEncoding = { applied, confState, started, captureMs, stream, envelopeBytes: envelope.length };
  }

  /** openLastImage opens the image of the last own snapshot for the next to copy from, if there is one and it opens. */
  private openLastImage(): SnapshotBase | undefined {
    const last = this.lastImage;
    if (!last) return undefined;
    try {
      return { layout: last.layout, reader: SnapshotImageReader.open(last.file, last.offset, last.layout.imageBytes) };
    } catch (e) {
      this.lastImage = undefined;
      this.log.warn({ err: e, file: last.file }, 'cannot open the last own snapshot to copy from it; encoding every revision');
      return undefined;
    }
  }

  /** saveOwnSnapshot commits a streamed own snapshot's file and records it (step 3 of maybeSnapshot). */
  private saveOwnSnapshot(job: OwnSnapshot): void {
    const { applied, stream, started } = job;
    const file = stream.file;
    const verdict = ownSnapshotVerdict({
      applied,
      lastSnapshotIndex: this.lastSnapshotIndex,
      firstIndex: this.o.mem.firstIndex(),
      failed: stream.error !== undefined,
      finished: file !== undefined,
    });
    if (verdict === 'drop-stale') {
      // A snapshot from the leader installed meanwhile is newer (raft installs
      // only snapshots beyond the commit index) and replaced the log.
      this.log.info(
        { index: applied, newer: this.lastSnapshotIndex, ...(stream.error !== undefined ? { err: stream.error } : {}) },
        'dropped an own snapshot: a newer one was installed while it was encoded',
      );
      void file?.abort();
      return;
    }
    if (verdict === 'fail') throw stream.error;
    if (verdict === 'cancelled' || !file) return; // the member is stopping
    const encodedMs = performance.now() - started;
    const { slices, busyMs, longestSliceMs, bytes, sized, copiedBytes, baseDropped } = stream.stats;
    const layout = stream.layout;
    const { delta, deltaBase } = stream;
    this.snapshotInFlight = this.o.disk.commitSnapshotFile(file).then(
      () => {
        this.snapshotInFlight = undefined;
        // Not when a snapshot from the leader, newer than this one, replaced the keyspace meanwhile.
        if (this.lastSnapshotIndex < applied) {
          if (layout) this.lastImage = { layout, file: file.file, offset: file.dataOffset + job.envelopeBytes };
          const chain = this.ownChain;
          const tip = { tipIndex: applied, tipTerm: file.metadata.term };
          if (!deltaBase) this.ownChain = undefined;
          else if (delta && chain) this.ownChain = { ...tip, since: deltaBase, deltas: chain.deltas + 1, deltaBytes: chain.deltaBytes + bytes, rootBytes: chain.rootBytes };
          else this.ownChain = { ...tip, since: deltaBase, deltas: 0, deltaBytes: 0, rootBytes: bytes };
        } else {
          this.ownChain = undefined;
        }
        if (applied > this.lastSnapshotIndex) this.lastSnapshotIndex = applied;
        // Raft's storage learns of it only now that it is durable (nothing
        // newer can have replaced it meanwhile: a snapshot from the leader is
        // saved after this one and installed after that).
        if (applied > this.o.mem.snapshotIndex() && applied >= this.o.mem.firstIndex() - 1) {
          this.o.mem.createReleasedSnapshot(applied, job.confState, this.snapshotLoader(file.metadata));
        }
        const compactTo = applied - this.o.snapshotCatchupEntries;
        if (compactTo > this.o.mem.firstIndex()) this.o.mem.compact(compactTo);
        this.o.metrics.snapshots.inc({ kind: 'taken' });
        this.o.metrics.snapshotCopiedBytes.inc(copiedBytes);
        this.o.metrics.snapshotWrittenBytes.inc({ kind: delta ? 'delta' : 'whole' }, bytes);
        this.o.metrics.snapshotSeconds.observe((performance.now() - started) / 1000);
        this.log.info(
          {
            index: applied,
            bytes,
            captureMs: round1(job.captureMs),
            encodeMs: Math.round(encodedMs),
            encodeBusyMs: Math.round(busyMs),
            slices,
            longestSliceMs: round1(longestSliceMs),
            sizedFirst: sized,
            ...(delta ? { delta: true, extends: file.extends?.index } : { copiedFromLast: copiedBytes }),
            ...(baseDropped !== undefined ? { lastDropped: baseDropped } : {}),
            totalMs: Math.round(performance.now() - started),
          },
          'saved snapshot',
        );
      },
      (e) => {
        this.snapshotInFlight = undefined;
        if (this.running) this.fatal(e, 'fatal error while saving a snapshot; the member must restart');
        else this.log.warn({ err: e, index: applied }, 'snapshot not saved: the member stopped meanwhile');
      },
    );
  }

  /** dropSnapshotEncoding cancels an own snapshot being streamed and forgets it; resolves once its file is removed. */
  private async dropSnapshotEncoding(): Promise<void> {
    const job = this.snapshotEncoding;
    if (!job) return;
    this.snapshotEncoding = undefined;
    job.stream.cancel();
    await job.stream.done;
    await job.stream.file?.abort();
  }

  /**
   * releaseSnapshotImage lets raft's storage drop the image of the durable
   * snapshot `m` (as large as the whole state machine) and read it back from
   * its file when a follower needs it, instead of every member holding a copy
   * of its state beside the state itself. A read that fails is logged and
   * makes raft retry later; the member keeps running (the follower waits).
   * Returns false, changing nothing, when `m` is no longer the current snapshot.
   */
  private releaseSnapshotImage(m: { index: number; term: number }): boolean {
    return this.o.mem.releaseSnapshotData(m.index, this.snapshotLoader(m));
  }

  /**
   * snapshotLoader gives raft's storage the image of the durable snapshot
   * `m` for a follower that needs it, read back from its file (and, for a
   * delta, its chain) off the loop (DiskStorage.readSnapshotAsync): a large
   * state read and merged in one synchronous call held the leader's loop,
   * and so its heartbeats, for about a second. Until the image is here the
   * loader throws, which raft's storage turns into "temporarily
   * unavailable", and raft tries again at a later send (every heartbeat
   * response). The image is handed over once, then dropped; one not taken
   * within SNAPSHOT_READY_MS is dropped too.
   */
  private snapshotLoader(m: { index: number; term: number }): () => Uint8Array {
    let reading = false;
    let ready: Uint8Array | undefined;
    let expiry: ReturnType<typeof setTimeout> | undefined;
    return () => {
      if (ready) {
        const data = ready;
        ready = undefined;
        clearTimeout(expiry);
        return data;
      }
      if (!reading) {
        reading = true;
        const started = performance.now();
        this.o.disk.readSnapshotAsync(m).then(
          (s) => {
            reading = false;
            ready = s.data;
            expiry = setTimeout(() => (ready = undefined), SNAPSHOT_READY_MS);
            expiry.unref();
            this.log.info({ index: m.index, bytes: s.data.length, readMs: Math.round(performance.now() - started) }, 'read the snapshot back from its file to send it to a follower');
          },
          (e) => {
            reading = false;
            if (this.running) this.log.error({ err: e, index: m.index, term: m.term }, 'cannot read back the snapshot file for a follower that needs it');
          },
        );
      }
      throw new Error(`snapshot ${m.index} is being read back from its file`);
    };
  }

  /** refreshGauges publishes the slowly changing state (configuration, progress, store) as metrics. */
  private refreshGauges(): void {
    const m = this.o.metrics;
    const raft = this.raw.raft;
    const cs = raft.trk.confState();
    m.votersCount.set(cs.voters.length);
    m.joint.set(cs.votersOutgoing.length > 0 ? 1 : 0);
    m.isLearner.set(cs.learners.includes(this.id) ? 1 : 0);
    m.term.set(raft.term);
    m.commitIndex.set(raft.raftLog.committed);
    m.appliedIndex.set(this.kv.appliedIndex);
    m.peerMatchIndex.reset();
    if (raft.state === 'leader') {
      for (const [id, pr] of raft.trk.progress) m.peerMatchIndex.set({ peer: id.toString(16) }, pr.match);
    }
    const stats = this.kv.stats();
    m.storeKeys.set(stats.liveKeys);
    m.storeRevision.set(this.kv.revision);
    m.checkpointIndex.set(this.kv.lastCheckpoint()?.index ?? 0);
  }

  // ---- proposals -------------------------------------------------------------

  /** proposeKv proposes a KV command and resolves with its result once applied on this member. */
  proposeKv(cmd: KvCommand, encoded: Uint8Array): Promise<KvResult> {
    if (!this.running) return Promise.reject(new EtcdError('stopped'));
    return new Promise<KvResult>((resolve, reject) => {
      this.kvWaiters.set(cmd.requestId, { resolve, reject, deadline: performance.now() + this.o.requestTimeoutMs });
      this.proposalBatch.push({ requestId: cmd.requestId, command: encoded });
      this.kick();
    });
  }

  /** rejectWaitingProposals fails every proposal still waiting for its apply with `err`. */
  private rejectWaitingProposals(err: Error): void {
    const waiting = this.kvWaiters.valuesNow();
    this.kvWaiters.clear();
    for (const w of waiting) w.reject(err);
  }

  /**
   * expireProposals fails the proposals whose deadline passed (on every tick:
   * at most a tick late), oldest deadline first.
   */
  private expireProposals(now: number): void {
    const expired: [number, ProposalWaiter][] = [];
    this.kvWaiters.forEach((w, id) => {
      if (w.deadline <= now) expired.push([id, w]);
    });
    expired.sort((a, b) => a[1].deadline - b[1].deadline);
    for (const [id, w] of expired) {
      this.kvWaiters.delete(id);
      this.o.metrics.proposalsFailed.inc({ reason: 'timeout' });
      w.reject(new EtcdError(this.leader === 0 ? 'timeoutDueToLeaderFail' : 'timeout'));
    }
  }

  /**
   * proposeBatch hands the KV proposals gathered since the loop last ran to
   * raft as one proposal, so a burst of client writes becomes one append
   * message per follower. If raft refuses them, each waiting request fails
   * with the reason (the batch is accepted or refused as a whole).
   */
  private proposeBatch(): void {
    let batch = this.proposalBatch;
    const raft = this.raw.raft;
    if (raft.lead === 0) {
      // No leader known: hold the proposals until one is (see awaitingLeader).
      if (batch.length === 0) return;
      this.proposalBatch = [];
      this.holdForLeader(batch);
      return;
    }
    if (this.awaitingLeader.length > 0) {
      // A leader is known again: what waited for it goes first, minus the requests that timed out meanwhile.
      batch = [...this.awaitingLeader.filter((p) => this.kvWaiters.has(p.requestId)), ...batch];
      this.awaitingLeader = [];
    }
    if (batch.length === 0) return;
    this.proposalBatch = [];
    const entries = encodeKvEntries(this.id, batch.map((p) => p.command));
    if (raft.state === 'leader') {
      try {
        this.raw.proposeMany(entries);
        if (latencyTraceOn) traceMark('propose', raft.raftLog.lastIndex());
      } catch (e) {
        this.failProposals(batch, e);
      }
      return;
    }
    // A follower forwards each proposal on its own, as before: one forwarded
    // message per entry always fits a peer frame.
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i];
      try {
        this.raw.propose(entries[i]);
      } catch (e) {
        this.failProposals([p], e);
      }
    }
  }

  /** holdForLeader keeps proposals until a leader is known; beyond MAX_AWAITING_LEADER they fail with "no leader". */
  private holdForLeader(batch: Proposal[]): void {
    if (this.awaitingLeader.length > 0 && this.awaitingLeader.length + batch.length > MAX_AWAITING_LEADER) {
      // Drop the ones whose deadline passed before refusing new ones.
      this.awaitingLeader = this.awaitingLeader.filter((p) => this.kvWaiters.has(p.requestId));
    }
    const room = Math.max(0, MAX_AWAITING_LEADER - this.awaitingLeader.length);
    this.awaitingLeader.push(...batch.slice(0, room));
    if (batch.length > room) this.failProposals(batch.slice(room), new ProposalDroppedError('no leader'));
  }

  private failProposals(batch: { requestId: number }[], e: unknown): void {
    const err = this.proposalError(e);
    for (const p of batch) {
      const w = this.kvWaiters.get(p.requestId);
      if (!w) continue;
      this.kvWaiters.delete(p.requestId);
      this.o.metrics.proposalsFailed.inc({ reason: 'dropped' });
      w.reject(err);
    }
  }

  private proposalError(e: unknown): Error {
    if (e instanceof ProposalDroppedError) {
      if (this.leader === 0) return new EtcdError('noLeader');
      if (/transfer/.test(e.message)) return new EtcdError('leaderChanged');
      if (/leaving the configuration/.test(e.message)) return new EtcdError('leaderChanged');
      if (/uncommitted/.test(e.message)) return new EtcdError('tooManyRequests');
      return new EtcdError('noLeader');
    }
    return e as Error;
  }

  /**
   * proposeConfChange proposes a change on this member (which must lead) and
   * resolves with the entry's index once it is applied here.
   */
  proposeConfChange(cc: ConfChange): Promise<number> {
    if (!this.running) return Promise.reject(new EtcdError('stopped'));
    try {
      this.raw.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof ConfChangeRejectedError) return Promise.reject(e);
      return Promise.reject(this.raw.raft.state !== 'leader' ? new EtcdError('notLeader') : this.proposalError(e));
    }
    const index = this.raw.raft.raftLog.lastIndex();
    const term = this.raw.raft.term;
    this.kick();
    return this.waitIndex(index, term);
  }

  /** waitIndex resolves when the entry (index, term) is applied; rejects if another entry lands there. */
  private waitIndex(index: number, term: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const list = this.indexWaiters.get(index) ?? [];
      list.push({ term, resolve, reject });
      this.indexWaiters.set(index, list);
    });
  }

  private resolveIndex(e: Entry): void {
    const list = this.indexWaiters.get(e.index);
    if (!list) return;
    this.indexWaiters.delete(e.index);
    for (const w of list) {
      if (w.term === e.term) w.resolve(e.index);
      else w.reject(new EtcdError('leaderChanged'));
    }
  }

  /** waitApplied resolves once the state machine has applied `index`. */
  waitApplied(index: number): Promise<void> {
    if (this.kv.appliedIndex >= index) return Promise.resolve();
    return new Promise<void>((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  // ---- linearizable reads ------------------------------------------------------

  /** readBarrier resolves once this member has applied everything committed before the call (ReadIndex). */
  readBarrier(): Promise<void> {
    if (!this.running) return Promise.reject(new EtcdError('stopped'));
    if (this.o.unsafeLocalReads) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<void> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          w.reject(new EtcdError(this.leader === 0 ? 'noLeader' : 'timeout'));
          this.removeReadWaiter(w);
        }, this.o.requestTimeoutMs),
      };
      this.pendingReads.push(w);
      this.maybeIssueRead();
    });
  }

  private removeReadWaiter(w: Waiter<void>): void {
    const drop = (list: Waiter<void>[]) => {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    };
    drop(this.pendingReads);
    if (this.readInFlight) drop(this.readInFlight.waiters);
    for (const b of this.readsAwaitingApply) drop(b.waiters);
  }

  private maybeIssueRead(): void {
    const now = performance.now();
    if (this.readInFlight && now - this.readInFlight.issuedAt > this.o.tickMs * this.o.electionTicks) {
      // No answer within an election timeout: the request or its answer was lost.
      this.pendingReads.unshift(...this.readInFlight.waiters);
      this.readInFlight = undefined;
    }
    if (this.readInFlight || this.pendingReads.length === 0) return;
    const seq = ++this.readSeq;
    const ctx = new Uint8Array(16);
    const v = new DataView(ctx.buffer);
    v.setFloat64(0, this.id);
    v.setFloat64(8, seq);
    const batch: ReadBatch = { ctx, key: `${seq}`, waiters: this.pendingReads, issuedAt: now };
    this.pendingReads = [];
    try {
      this.raw.readIndex(ctx);
    } catch (e) {
      for (const w of batch.waiters) {
        clearTimeout(w.timer);
        w.reject(this.proposalError(e));
      }
      return;
    }
    this.readInFlight = batch;
    this.kick();
  }

  private onReadState(ctx: Uint8Array, index: number): void {
    const b = this.readInFlight;
    if (!b || ctx.length !== 16) return;
    const seq = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength).getFloat64(8);
    if (`${seq}` !== b.key) return;
    this.readInFlight = undefined;
    b.index = index;
    if (this.kv.appliedIndex >= index) this.finishRead(b);
    else this.readsAwaitingApply.push(b);
  }

  private finishRead(b: ReadBatch): void {
    for (const w of b.waiters) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  private failReads(err: Error): void {
    const all = [...this.pendingReads, ...(this.readInFlight?.waiters ?? []), ...this.readsAwaitingApply.flatMap((b) => b.waiters)];
    this.pendingReads = [];
    this.readInFlight = undefined;
    this.readsAwaitingApply.length = 0;
    for (const w of all) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }

  // ---- membership and leadership -------------------------------------------

  /** maybePublish records this member's name and client URLs in the member table (once, through the log). */
  private maybePublish(): void {
    if (this.publishedAttributes || this.leader === 0 || this.stopping) return;
    const me = this.members.get(this.id);
    if (!me) return;
    if (me.name === this.o.name && sameList(me.clientURLs, this.o.clientURLs)) {
      this.publishedAttributes = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPublishTry < 1000) return;
    this.lastPublishTry = now;
    try {
      this.raw.propose(encodePublishEntry(this.id, this.o.name, this.o.clientURLs));
    } catch {
      // retried on a later tick
    }
  }

  /** transferLeadership asks the leader (this member) to hand over, and waits until it has. */
  async transferLeadership(target: NodeId, timeoutMs: number): Promise<NodeId> {
    if (this.raw.raft.state !== 'leader') throw new EtcdError('notLeader');
    if (target === this.id) return this.id;
    if (!this.raw.raft.trk.config.voters.has(target)) throw new EtcdError('badLeaderTransferee');
    this.raw.transferLeadership(target);
    this.kick();
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, this.o.tickMs / 2));
      if (this.leader === target) return target;
      if (this.raw.raft.state === 'leader' && this.raw.raft.leadTransferee === 0 && this.leader === this.id) {
        // the transfer was abandoned (target did not catch up in time); try again until the deadline
        this.raw.transferLeadership(target);
        this.kick();
      }
    }
    throw new EtcdError('timeout');
  }

  status(): Status {
    return this.raw.status();
  }

  /** requestTimeoutMs is how long a client request may wait on this member (etcd's request timeout). */
  get requestTimeoutMs(): number {
    return this.o.requestTimeoutMs;
  }

  get leaderId(): NodeId {
    return this.leader;
  }

  get snapshotIndex(): number {
    return this.lastSnapshotIndex;
  }
}

/**
 * LEADER_SNAPSHOT_REST_FACTOR: a leader's own snapshot encode rests this many
 * times as long as each slice held the loop (at most a quarter of the loop's
 * time); a follower's rests as long (half). Every write waits on the leader's
 * loop, so the leader's encode is what shows in the group's tail latency
 * (docs/benchmarks.md, item 27).
 */
const LEADER_SNAPSHOT_REST_FACTOR = 3;

/** SNAPSHOT_READY_MS: how long a snapshot image read back for a follower waits for raft to take it (see snapshotLoader). */
const SNAPSHOT_READY_MS = 10_000;

/** MAX_AWAITING_LEADER bounds the proposals held while no leader is known (each also ends at its deadline). */
const MAX_AWAITING_LEADER = 16_384;

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** OwnSnapshot is a snapshot of this member captured at `applied` and being encoded (see maybeSnapshot). */
interface OwnSnapshot {
  applied: number;
  confState: ConfState;
  /** when the capture began, and how long it held the loop */
  started: number;
  captureMs: number;
  stream: OwnSnapshotStream;
  /** the envelope's size: the KV image follows it in the file's data */
  envelopeBytes: number;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
