// One seeded simulation run: a group of raft members driven through message
// loss, duplication, reordering and delay, partitions (symmetric and one-way),
// crashes and restarts (also between persisting and sending), wiped members
// replaced by new ones, membership changes of every kind issued during faults,
// leadership transfers, ReadIndex reads, snapshots and compaction, reports that
// a leader's process is gone (after a crash, and spurious ones). Then it
// heals everything and checks that the group makes progress again.
// Same seed, same history: the run uses only its own seeded generators.
import {
  ConfChangeRejectedError,
  ProposalDroppedError,
  RawNode,
  seededRand,
  type ConfChange,
  type ConfChangeSingle,
  type NodeId,
  type Ready,
} from '../../replica/raft/index.ts';
import { CALM, Network } from './network.ts';
import { SimNode, type NodeTuning } from './node.ts';
import { SafetyMonitor } from './safety.ts';

export interface SimOptions {
  seed: number;
  /** initial voters (1..7); random per seed when absent */
  nodes?: number;
  /** chaos steps before healing (10 steps = 1 tick) */
  steps?: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  violations: string[];
  committedCommands: number;
  configChanges: number;
  elections: number;
  readsChecked: number;
  /** leader-down reports raft took (RawNode.reportLeaderDown returned true), true and spurious */
  leaderDownReports: number;
  steps: number;
  /** hash of the whole history: equal for equal seeds */
  trace: number;
}

const STEPS_PER_TICK = 10;
const MAX_MEMBERS = 7;
const MAX_NODES_EVER = 24;

export function runSeed(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly rand;
  private readonly seed: number;
  private readonly initial: number;
  private readonly chaosSteps: number;
  private readonly tuning: NodeTuning;
  private readonly net: Network;
  readonly mon = new SafetyMonitor();
  private readonly nodes = new Map<NodeId, SimNode>();
  /** members whose disk was wiped: their id is dead for good. */
  private readonly wiped = new Set<NodeId>();
  /** members stopped for good after leaving the configuration. */
  private readonly retired = new Set<NodeId>();
  private readonly restartAt = new Map<NodeId, number>();
  private nextId = 1;
  private now = 0;
  private trace = 0x811c9dc5;
  private proposals = 0;
  private reads = 0;
  private leaderDownReports = 0;
  private readonly intensity: number;
  /** probability that a new leader is killed within a few steps (short-lived leaders, partial logs) */
  private readonly killNewLeader: number;
  private readonly crashAt = new Map<NodeId, number>();

  constructor(opts: SimOptions) {
    this.seed = opts.seed;
    this.rand = seededRand(opts.seed);
    const r = this.rand;
    this.initial = opts.nodes ?? 1 + r.intn(5);
    this.chaosSteps = opts.steps ?? 3000;
    const electionTick = 5 + r.intn(6);
    this.tuning = {
      electionTick,
      heartbeatTick: 1 + r.intn(2),
      maxSizePerMsg: r.intn(2) === 0 ? 1 : 1024 * 1024,
      maxInflightMsgs: 1 + r.intn(8),
      snapshotEvery: r.intn(4) === 0 ? 0 : 3 + r.intn(30),
      keepAfterSnapshot: r.intn(6),
    };
    this.intensity = 0.5 + r.next();
    this.killNewLeader = r.intn(3) === 0 ? 0.2 + r.next() * 0.6 : 0;
    this.net = new Network(this.rand);
    const ids: NodeId[] = [];
    for (let i = 0; i < this.initial; i++) ids.push(this.nextId++);
    for (const id of ids) {
      const n = this.newNode(id);
      n.bootstrapAs(ids);
      n.start();
    }
  }

  private newNode(id: NodeId): SimNode {
    const n = new SimNode(id, this.seed, this.tuning, this.rand.intn(STEPS_PER_TICK));
    this.nodes.set(id, n);
    return n;
  }

  private mix(...xs: number[]): void {
    let h = this.trace;
    for (const x of xs) h = Math.imul(h ^ (x | 0), 16777619) >>> 0;
    this.trace = h;
  }

  run(): SimResult {
    try {
      for (; this.now < this.chaosSteps && this.mon.violations.length === 0; this.now++) {
        this.chaos();
        this.stepAll();
        if (this.now % 200 === 0) this.checkLogs();
      }
      if (this.mon.violations.length === 0) this.healAndCheckLiveness();
      this.checkLogs();
    } catch (e) {
      this.mon.fail(this.now, `exception: ${(e as Error).stack ?? e}`);
    }
    return {
      seed: this.seed,
      nodes: this.initial,
      violations: this.mon.violations,
      committedCommands: this.mon.committedCommands,
      configChanges: this.mon.committedConfChanges,
      elections: this.mon.elections,
      readsChecked: this.mon.readsChecked,
      leaderDownReports: this.leaderDownReports,
      steps: this.now,
      trace: this.trace,
    };
  }

  // ---- the engine -----------------------------------------------------------

  private upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up).sort((a, b) => a.id - b.id);
  }

  private stepAll(): void {
    for (const n of this.upNodes()) {
      if (this.now % STEPS_PER_TICK === n.phase) n.raw!.tick();
    }
    const { deliver, lost } = this.net.due(this.now);
    for (const m of lost) this.reportLost(this.nodes.get(m.from), m.to, m.type === 'snap');
    for (const m of deliver) {
      const to = this.nodes.get(m.to);
      const from = this.nodes.get(m.from);
      if (!to?.up) {
        this.reportLost(from, m.to, m.type === 'snap');
        continue;
      }
      this.mix(1, this.now, m.from, m.to, m.term, m.index, m.entries.length, m.type.length);
      to.raw!.step(m);
      if (m.type === 'snap' && from?.up) from.raw!.reportSnapshot(m.to, true);
    }
    for (let round = 0; round < 4; round++) {
      let any = false;
      for (const n of this.upNodes()) {
        if (n.raw!.hasReady()) {
          any = true;
          this.processReady(n);
        }
      }
      if (!any) break;
    }
    for (const [id, at] of this.crashAt) {
      if (at > this.now) continue;
      this.crashAt.delete(id);
      const n = this.nodes.get(id)!;
      if (n.up && this.now < this.chaosSteps) {
        this.crash(n);
        this.restartAt.set(id, this.now + 5 + this.rand.intn(100));
      }
    }
    for (const [id, at] of this.restartAt) {
      if (at <= this.now) {
        this.restartAt.delete(id);
        const n = this.nodes.get(id)!;
        if (!n.up && !this.wiped.has(id) && !this.retired.has(id)) n.start();
      }
    }
  }

  private reportLost(from: SimNode | undefined, to: NodeId, snapshot: boolean): void {
    if (!from?.up) return;
    if (snapshot) from.raw!.reportSnapshot(to, false);
    else if (this.rand.intn(4) === 0) from.raw!.reportUnreachable(to);
  }

  private processReady(n: SimNode): void {
    const raw = n.raw!;
    const wasLeader = raw.raft.state === 'leader';
    const rd: Ready = raw.ready();
    if (rd.softState?.state === 'leader') {
      this.mon.onLeader(this.now, n, raw.raft.term);
      if (this.now < this.chaosSteps && this.rand.next() < this.killNewLeader) this.crashAt.set(n.id, this.now + 1 + this.rand.intn(30));
    }
    if (rd.hardState && raw.raft.state === 'leader' && wasLeader) {
      const prev = n.storage.getHardState().commit;
      if (rd.hardState.commit > prev) this.mon.onCommit(this.now, n, rd.hardState.commit, this.nodes);
    }
    // 0. a leader's appends, heartbeats and snapshots may leave before its own fsync
    const early = rd.messages.filter((m) => RawNode.sendableBeforePersist(m));
    const late = rd.messages.filter((m) => !RawNode.sendableBeforePersist(m));
    for (const m of early) {
      if (!this.net.send(this.now, m)) this.reportLost(n, m.to, m.type === 'snap');
    }
    // a crash after those left but before the Ready was durable
    if (this.now < this.chaosSteps && early.length > 0 && this.rand.next() < 0.0005 * this.intensity) {
      this.crash(n);
      this.restartAt.set(n.id, this.now + 20 + this.rand.intn(400));
      return;
    }
    // 1. persist
    n.persist(rd);
    // a crash between persisting and sending: the messages never leave
    if (this.now < this.chaosSteps && this.rand.next() < 0.0005 * this.intensity) {
      this.crash(n);
      this.restartAt.set(n.id, this.now + 20 + this.rand.intn(400));
      return;
    }
    // 2. send the rest
    for (const m of late) {
      if (!this.net.send(this.now, m)) this.reportLost(n, m.to, m.type === 'snap');
    }
    // 3. apply
    if (rd.snapshot) n.restoreSnapshot(rd.snapshot);
    for (const e of rd.committedEntries) {
      this.mon.onApply(this.now, n, e);
      n.apply(e);
      this.mix(2, n.id, e.index, e.term);
    }
    for (const rs of rd.readStates) this.mon.onReadState(this.now, n.id, ctxString(rs.context), rs.index);
    // 4. advance
    raw.advance();
    n.maybeSnapshot();
  }

  private crash(n: SimNode): void {
    n.crash();
    for (const m of this.net.dropFor(n.id)) this.reportLost(this.nodes.get(m.from), m.to, m.type === 'snap');
    this.mix(3, n.id, this.now);
    // Its followers' redials are refused (the process is gone, the host is up):
    // some of them learn it, as the replica's transport would tell them.
    for (const f of this.upNodes()) {
      if (f.raw!.raft.lead === n.id && this.rand.intn(2) === 0) this.reportLeaderDown(f, n.id);
    }
  }

  /** reportLeaderDown tells `n` that member `id`'s process is gone (true or not: raft must stay safe either way). */
  private reportLeaderDown(n: SimNode, id: NodeId): void {
    if (n.raw!.reportLeaderDown(id)) {
      this.leaderDownReports++;
      this.mix(4, n.id, id, this.now);
    }
  }

  private checkLogs(): void {
    const up = this.upNodes();
    for (let i = 0; i < up.length; i++) for (let j = i + 1; j < up.length; j++) this.mon.checkLogMatching(this.now, up[i], up[j]);
  }

  // ---- the nemesis and the clients -----------------------------------------

  private chance(p: number): boolean {
    return this.rand.next() < p * this.intensity;
  }

  private shuffle<T>(xs: T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.rand.intn(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  private pick<T>(xs: T[]): T | undefined {
    return xs.length ? xs[this.rand.intn(xs.length)] : undefined;
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.upNodes()) {
      if (n.raw!.raft.state === 'leader' && (!best || n.raw!.raft.term > best.raw!.raft.term)) best = n;
    }
    return best;
  }

  private chaos(): void {
    const r = this.rand;
    if (this.chance(0.05)) this.propose();
    if (this.chance(0.01)) this.readIndex();
    if (this.chance(0.0015)) {
      const n = this.pick(this.upNodes());
      if (n) {
        this.crash(n);
        this.restartAt.set(n.id, this.now + 20 + r.intn(400));
      }
    }
    if (this.chance(0.002)) this.changeNetwork();
    if (this.chance(0.003)) this.net.heal();
    if (this.chance(0.001)) {
      this.net.faults = r.intn(3) === 0 ? CALM : { loss: r.next() * 0.2, duplicate: r.next() * 0.1, slow: r.next() * 0.1 };
    }
    if (this.chance(0.006)) this.changeMembership();
    if (this.chance(0.0015)) {
      const l = this.leader();
      const target = this.pick(l ? l.raw!.raft.trk.voterIds() : []);
      if (l && target !== undefined) l.raw!.transferLeadership(target);
    }
    if (this.chance(0.0003)) this.wipe();
    if (this.chance(0.003)) {
      // A spurious report: its leader (often alive) or any member is said to be gone.
      const n = this.pick(this.upNodes());
      const about = r.intn(4) === 0 ? this.pick([...this.nodes.keys()]) : n?.raw!.raft.lead;
      if (n && about !== undefined) this.reportLeaderDown(n, about);
    }
    if (this.chance(0.002)) this.retireRemoved();
  }

  private propose(): void {
    const n = this.pick(this.upNodes());
    if (!n) return;
    const data = new TextEncoder().encode(`cmd-${this.seed}-${this.proposals++}`);
    try {
      n.raw!.propose(data);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  private readIndex(): void {
    const n = this.pick(this.upNodes());
    if (!n) return;
    const ctx = new TextEncoder().encode(`read-${this.reads++}`);
    try {
      this.mon.onReadIssued(ctxString(ctx), n.id);
      n.raw!.readIndex(ctx);
    } catch (e) {
      if (!(e instanceof ProposalDroppedError)) throw e;
    }
  }

  private changeNetwork(): void {
    const r = this.rand;
    const ids = this.upNodes().map((n) => n.id);
    if (ids.length < 2) return;
    switch (r.intn(4)) {
      case 0: {
        // random halves
        const a = ids.filter(() => r.intn(2) === 0);
        const b = ids.filter((id) => !a.includes(id));
        this.net.partition(a, b);
        break;
      }
      case 1: {
        // isolate the leader
        const l = this.leader();
        if (l) this.net.partition([l.id], ids.filter((id) => id !== l.id));
        break;
      }
      case 2: {
        // one-way: from x to y only
        const x = this.pick(ids)!;
        const y = this.pick(ids.filter((id) => id !== x))!;
        this.net.cutLink(x, y);
        break;
      }
      default: {
        // bridge: two sides that only the first member can talk to
        const rest = this.shuffle(ids).slice(1);
        const half = Math.floor(rest.length / 2);
        this.net.partition(rest.slice(0, half), rest.slice(half));
      }
    }
    this.mix(4, this.now, ids.length);
  }

  /** spawn creates a brand-new, empty member (it joins only through a configuration change). */
  private spawn(): SimNode | undefined {
    if (this.nextId > MAX_NODES_EVER) return undefined;
    const n = this.newNode(this.nextId++);
    n.start();
    return n;
  }

  private changeMembership(): void {
    const l = this.leader();
    if (!l) return;
    const raft = l.raw!.raft;
    const cs = raft.trk.confState();
    const r = this.rand;
    let cc: ConfChange | undefined;
    const voters = cs.voters;
    const members = voters.length + cs.learners.length;
    const usable = (id: NodeId) => !this.wiped.has(id) && !this.retired.has(id);
    const single = (changes: ConfChangeSingle[], transition: ConfChange['transition'] = 'auto'): ConfChange => ({
      transition,
      changes,
      context: new Uint8Array(),
    });
    const wipedVoter = voters.find((id) => this.wiped.has(id));
    if (cs.votersOutgoing.length > 0) {
      // joint: an explicit joint configuration is left by an empty change
      if (!cs.autoLeave) cc = single([]);
    } else if (wipedVoter !== undefined) {
      // a wiped member comes back only as a new member: replace it
      const fresh = this.spawn();
      if (fresh) cc = single([{ type: 'removeNode', nodeId: wipedVoter }, { type: 'addNode', nodeId: fresh.id }], 'jointImplicit');
    } else {
      switch (r.intn(9)) {
        case 0: // add a learner
          if (members < MAX_MEMBERS) {
            const fresh = this.spawn();
            if (fresh) cc = single([{ type: 'addLearner', nodeId: fresh.id }]);
          }
          break;
        case 1: {
          // promote a learner
          const learner = this.pick(cs.learners.filter(usable));
          if (learner !== undefined) cc = single([{ type: 'addNode', nodeId: learner }]);
          break;
        }
        case 2: {
          // remove one voter (maybe the leader)
          const v = this.pick(voters);
          if (v !== undefined && voters.length > 1) cc = single([{ type: 'removeNode', nodeId: v }]);
          break;
        }
        case 3: {
          // replace one member in one joint change (the leader a third of the time)
          const old = r.intn(3) === 0 ? l.id : this.pick(voters);
          const fresh = this.spawn();
          if (fresh && old !== undefined) {
            cc = single([{ type: 'addNode', nodeId: fresh.id }, { type: 'removeNode', nodeId: old }], r.intn(2) ? 'auto' : 'jointImplicit');
          }
          break;
        }
        case 4: {
          // grow by two (3 -> 5)
          if (members + 2 <= MAX_MEMBERS) {
            const a = this.spawn();
            const b = this.spawn();
            if (a && b) cc = single([{ type: 'addNode', nodeId: a.id }, { type: 'addNode', nodeId: b.id }]);
          }
          break;
        }
        case 5: {
          // shrink by two (5 -> 3)
          if (voters.length >= 4) {
            const shuffled = this.shuffle(voters);
            cc = single([
              { type: 'removeNode', nodeId: shuffled[0] },
              { type: 'removeNode', nodeId: shuffled[1] },
            ]);
          }
          break;
        }
        case 6: {
          // demote a voter to learner and promote a learner, in one joint change
          const v = this.pick(voters.filter((id) => id !== l.id));
          const learner = this.pick(cs.learners.filter(usable));
          if (v !== undefined && voters.length > 1) {
            const changes: ConfChangeSingle[] = [{ type: 'addLearner', nodeId: v }];
            if (learner !== undefined) changes.push({ type: 'addNode', nodeId: learner });
            cc = single(changes, 'jointImplicit');
          }
          break;
        }
        case 7: {
          // an explicit joint change, left later by an empty change
          const fresh = this.spawn();
          if (fresh) cc = single([{ type: 'addNode', nodeId: fresh.id }], 'jointExplicit');
          break;
        }
        default: {
          // add a voter directly (simple change)
          if (members < MAX_MEMBERS) {
            const fresh = this.spawn();
            if (fresh) cc = single([{ type: 'addNode', nodeId: fresh.id }]);
          }
        }
      }
    }
    if (!cc) return;
    this.mix(5, this.now, cc.changes.length);
    try {
      l.raw!.proposeConfChange(cc);
    } catch (e) {
      if (e instanceof ConfChangeRejectedError || e instanceof ProposalDroppedError) return;
      throw e;
    }
    // A second change while the first is pending must be refused with an error.
    try {
      l.raw!.proposeConfChange(single([{ type: 'addLearner', nodeId: 9999 }]));
      this.mon.fail(this.now, `a second configuration change was accepted while one is pending at ${l.id}`);
    } catch (e) {
      if (!(e instanceof ConfChangeRejectedError || e instanceof ProposalDroppedError)) throw e;
    }
  }

  /** wipe destroys a voter's disk; its id is never used again. */
  private wipe(): void {
    const l = this.leader();
    if (!l) return;
    const cs = l.raw!.raft.trk.confState();
    if (cs.votersOutgoing.length > 0 || cs.voters.length < 3) return;
    if (cs.voters.some((id) => this.wiped.has(id))) return;
    // ... and no reconfiguration in flight (it may be about to shrink the quorum).
    const raft = l.raw!.raft;
    if (raft.pendingConfIndex > raft.raftLog.applied) return;
    // Only one fault beyond crashes at a time: every live member already runs
    // the leader's configuration (otherwise a second loss could exceed f).
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    for (const id of cs.voters) {
      const m = this.nodes.get(id);
      if (!m?.up || !same(m.app.confState.voters, cs.voters) || m.app.confState.votersOutgoing.length > 0) return;
    }
    const victim = this.pick(cs.voters.filter((id) => this.nodes.get(id)?.up));
    if (victim === undefined) return;
    const n = this.nodes.get(victim)!;
    this.crash(n);
    this.wiped.add(victim);
    this.restartAt.delete(victim);
  }

  /** retireRemoved stops members that are in no configuration any more. */
  private retireRemoved(): void {
    const l = this.leader();
    if (!l) return;
    const cs = l.raw!.raft.trk.confState();
    const inConfig = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
    for (const n of this.upNodes()) {
      // a member that may still be added (spawned recently) is kept around a while
      if (!inConfig.has(n.id) && n.raw!.raft.raftLog.lastIndex() > 0 && this.rand.intn(2) === 0) {
        this.crash(n);
        this.retired.add(n.id);
      }
    }
  }

  // ---- liveness -------------------------------------------------------------

  private healAndCheckLiveness(): void {
    this.net.heal();
    this.net.faults = CALM;
    for (const n of this.nodes.values()) {
      if (!n.up && !this.wiped.has(n.id) && !this.retired.has(n.id)) n.start();
    }
    this.restartAt.clear();
    const deadline = this.now + 60 * this.tuning.electionTick * STEPS_PER_TICK;
    const probe = new TextEncoder().encode(`liveness-${this.seed}`);
    let probeIndex = 0;
    for (; this.now < deadline; this.now++) {
      this.stepAll();
      if (this.mon.violations.length) return;
      const l = this.leader();
      if (!l) continue;
      const raft = l.raw!.raft;
      const cs = raft.trk.confState();
      if (cs.votersOutgoing.length > 0 && !cs.autoLeave && raft.pendingConfIndex <= raft.raftLog.applied) {
        try {
          l.raw!.proposeConfChange({ transition: 'auto', changes: [], context: new Uint8Array() });
        } catch (e) {
          if (!(e instanceof ConfChangeRejectedError || e instanceof ProposalDroppedError)) throw e;
        }
      }
      if (probeIndex && this.mon.isCommitted(probeIndex, probe) && cs.votersOutgoing.length === 0) return;
      if (this.now % (this.tuning.electionTick * STEPS_PER_TICK) === 0 && !(probeIndex && this.mon.isCommitted(probeIndex, probe))) {
        try {
          l.raw!.propose(probe);
          probeIndex = raft.raftLog.lastIndex();
        } catch (e) {
          if (!(e instanceof ProposalDroppedError)) throw e;
        }
      }
    }
    const l = this.leader();
    this.mon.fail(
      this.now,
      `liveness: no new proposal committed within ${60 * this.tuning.electionTick} ticks after healing ` +
        `(leader ${l?.id ?? 'none'}, wiped [${[...this.wiped]}], retired [${[...this.retired]}])\n${this.describe()}`,
    );
  }

  /** describe renders every member's view, for failure reports. */
  describe(): string {
    const lines: string[] = [];
    for (const n of [...this.nodes.values()].sort((a, b) => a.id - b.id)) {
      if (!n.up) {
        lines.push(`  ${n.id}: down${this.wiped.has(n.id) ? ' (wiped)' : ''}${this.retired.has(n.id) ? ' (retired)' : ''}`);
        continue;
      }
      const st = n.raw!.status();
      lines.push(
        `  ${n.id}: ${st.state} term=${st.term} vote=${st.vote} lead=${st.lead} commit=${st.commit} applied=${st.applied} ` +
          `last=${st.lastIndex} first=${st.firstIndex} ${st.configString} elapsed=${n.raw!.raft.electionElapsed}`,
      );
      if (st.progress) for (const [id, p] of st.progress) lines.push(`      ${id}: ${p.state} match=${p.match} next=${p.next}${p.recentActive ? '' : ' inactive'}`);
    }
    return lines.join('\n');
  }
}

function ctxString(ctx: Uint8Array): string {
  return new TextDecoder().decode(ctx);
}
