// ChangeMembership on the leader, the way LogCabin's setConfiguration does it:
// new members join as learners and must catch up (abort and roll back if one
// makes no progress), then one change promotes, removes and demotes together
// (joint consensus when it touches more than one voter), and the call returns
// once the final configuration is applied. It is idempotent by outcome: a
// retried request (same members, possibly on a new leader) resumes where the
// configuration stands instead of adding anyone twice.
// It must never start a change that leaves fewer healthy voters than a quorum.
import type { Logger } from 'pino';
import { ConfChangeRejectedError, type ConfChangeSingle, type NodeId } from '../raft/index.ts';
import { EtcdError } from './etcdapi/index.ts';
import { freshMemberId } from './ids.ts';
import { encodeChangeContext, type MemberRecord } from './members.ts';
import type { ReplicaNode } from './replica-node.ts';

export interface MembershipRequest {
  requestId: string;
  add: { name: string; peerURLs: string[] }[];
  remove: NodeId[];
  promote: NodeId[];
  catchUpTimeoutMs: number;
}

export interface MembershipResult {
  added: MemberRecord[];
  index: number;
}

/** ReconfigureError carries a gRPC-style code for the admin API. */
export class ReconfigureError extends Error {
  readonly code: 'invalid' | 'unhealthy' | 'deadline' | 'conflict';
  constructor(code: ReconfigureError['code'], message: string) {
    super(message);
    this.name = 'ReconfigureError';
    this.code = code;
  }
}

function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

export class Reconfigurer {
  private readonly node: ReplicaNode;
  private readonly log: Logger;
  private readonly tickMs: number;
  /** requests in progress on this leader, by request id */
  private readonly inProgress = new Map<string, Promise<MembershipResult>>();
  private busy: Promise<unknown> = Promise.resolve();
  /** the scheme every peer URL of this group uses ('https:' with peer TLS); new members must match */
  private readonly peerScheme: string | undefined;

  constructor(node: ReplicaNode, log: Logger, tickMs: number, peerScheme?: 'http:' | 'https:') {
    this.node = node;
    this.log = log.child({ component: 'reconfigure' });
    this.tickMs = tickMs;
    this.peerScheme = peerScheme;
  }

  /** change runs one request; concurrent requests run one after the other, duplicates share one run. */
  change(req: MembershipRequest): Promise<MembershipResult> {
    const key = req.requestId;
    if (key) {
      const running = this.inProgress.get(key);
      if (running) return running;
    }
    const run = this.busy.then(() => this.run(req));
    this.busy = run.catch(() => undefined);
    if (key) {
      this.inProgress.set(key, run);
      void run.finally(() => this.inProgress.delete(key)).catch(() => undefined);
    }
    return run;
  }

  private raft() {
    return this.node.raw.raft;
  }

  private requireLeader(): void {
    if (this.raft().state !== 'leader') throw new EtcdError('notLeader');
  }

  private async run(req: MembershipRequest): Promise<MembershipResult> {
    this.requireLeader();
    await this.waitNotJoint(10 * this.electionMs());
    const log = this.log.child({ requestId: req.requestId });
    const members = () => this.node.members;
    const cs = () => this.raft().trk.confState();

    // Validate against the applied configuration.
    for (const id of [...req.remove, ...req.promote]) {
      if (!members().get(id) && !members().isRemoved(id)) throw new EtcdError('memberNotFound');
    }
    for (const id of req.promote) {
      if (members().isRemoved(id)) throw new ReconfigureError('invalid', `member ${id.toString(16)} was removed and cannot be promoted`);
    }
    for (const a of req.add) {
      if (!a.name && a.peerURLs.length === 0) throw new ReconfigureError('invalid', 'a member to add needs a name or peer URLs');
      for (const u of a.peerURLs) {
        let p: URL;
        try {
          p = new URL(u);
          if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new Error();
        } catch {
          throw new EtcdError('memberBadURLs');
        }
        if (this.peerScheme && p.protocol !== this.peerScheme) {
          throw new ReconfigureError('invalid', `peer URL ${u} must use ${this.peerScheme}// like the rest of this group's peer URLs`);
        }
      }
    }
    await this.awaitQuorumSafety(req);

    // 1. Add new members as learners (one change each), unless a retry already did.
    const added: MemberRecord[] = [];
    for (const a of req.add) {
      const existing = a.peerURLs.map((u) => members().findByPeerURL(u)).find((m) => m !== undefined);
      if (existing) {
        added.push(existing);
        continue;
      }
      const id = freshMemberId((x) => members().taken(x));
      const record: MemberRecord = { id, name: a.name, peerURLs: a.peerURLs, clientURLs: [] };
      log.info({ member: id.toString(16), name: a.name, peerURLs: a.peerURLs }, 'adding learner');
      await this.propose([{ type: 'addLearner', nodeId: id }], req.requestId, [record]);
      added.push(record);
    }

    // 2. Wait until every learner to be promoted has caught up.
    const toPromote = [...added.map((m) => m.id), ...req.promote].filter((id) => !cs().voters.includes(id));
    try {
      await this.waitCaughtUp(toPromote, req.catchUpTimeoutMs || Math.max(this.electionMs(), 3000));
    } catch (e) {
      // Roll back the learners this request added, so a wedged learner blocks nothing.
      for (const m of added) {
        if (cs().learners.includes(m.id)) {
          log.warn({ member: m.id.toString(16) }, 'removing learner that did not catch up');
          await this.propose([{ type: 'removeNode', nodeId: m.id }], req.requestId, []).catch(() => undefined);
        }
      }
      throw e;
    }

    // 3. One change: promote, remove (joint consensus when several voters change).
    this.requireLeader();
    const changes: ConfChangeSingle[] = [];
    for (const id of toPromote) changes.push({ type: 'addNode', nodeId: id });
    for (const id of req.remove) if (members().get(id)) changes.push({ type: 'removeNode', nodeId: id });
    let index = this.raft().raftLog.applied;
    if (changes.length > 0) {
      await this.awaitQuorumSafety(req);
      log.info({ changes: changes.map((c) => `${c.type}:${c.nodeId.toString(16)}`) }, 'proposing configuration change');
      index = await this.propose(changes, req.requestId, []);
      // 4. With auto-leave the leader leaves the joint configuration by itself.
      await this.waitNotJoint(10 * this.electionMs());
    }
    log.info({ config: this.node.status().configString }, 'membership change complete');
    return { added, index };
  }

  private electionMs(): number {
    return this.raft().electionTimeout * this.tickMs;
  }

  private async propose(changes: ConfChangeSingle[], requestId: string, records: MemberRecord[]): Promise<number> {
    try {
      return await this.node.proposeConfChange({
        transition: 'auto',
        changes,
        context: encodeChangeContext({ requestId, members: records }),
      });
    } catch (e) {
      if (e instanceof ConfChangeRejectedError) throw new ReconfigureError('conflict', e.message);
      throw e;
    }
  }

  /**
   * awaitQuorumSafety is checkQuorumSafety given one election timeout to see the voters: the
   * leader forgets every follower's recent activity at each CheckQuorum round (once per election
   * timeout) and learns it again from their next replies, so just after a round a healthy group
   * looks unhealthy for up to a heartbeat's round trip (longer on a loaded machine). A voter that
   * is really down stays inactive, and the change is refused after that wait.
   */
  private async awaitQuorumSafety(req: MembershipRequest): Promise<void> {
    const deadline = Date.now() + this.electionMs() + 2 * this.tickMs;
    for (;;) {
      try {
        this.checkQuorumSafety(req);
        return;
      } catch (e) {
        if (!(e instanceof ReconfigureError) || e.code !== 'unhealthy' || Date.now() >= deadline) throw e;
      }
      await new Promise((r) => setTimeout(r, this.tickMs));
      this.requireLeader();
    }
  }

  /**
   * checkQuorumSafety refuses a change unless a quorum of the current voters
   * is healthy, and unless the voters that will remain (and are healthy)
   * still form a quorum of the new configuration.
   */
  private checkQuorumSafety(req: MembershipRequest): void {
    const raft = this.raft();
    const cs = raft.trk.confState();
    const healthy = (id: NodeId) => id === raft.id || raft.trk.progress.get(id)?.recentActive === true;
    const current = cs.voters;
    const currentHealthy = current.filter(healthy).length;
    if (currentHealthy < quorum(current.length)) {
      throw new ReconfigureError(
        'unhealthy',
        `only ${currentHealthy} of ${current.length} voters are healthy; a change needs a healthy quorum (${quorum(current.length)})`,
      );
    }
    const removed = new Set(req.remove);
    const finalVoters = new Set(current.filter((id) => !removed.has(id)));
    for (const id of req.promote) finalVoters.add(id);
    const newcomers = req.add.length;
    const finalSize = finalVoters.size + newcomers;
    if (finalSize === 0) throw new ReconfigureError('invalid', 'the change would remove every voter');
    // Newcomers count as healthy only because they must catch up before they vote.
    const finalHealthy = [...finalVoters].filter(healthy).length + newcomers;
    if (finalHealthy < quorum(finalSize)) {
      throw new ReconfigureError(
        'unhealthy',
        `after the change ${finalHealthy} of ${finalSize} voters would be healthy, fewer than a quorum (${quorum(finalSize)})`,
      );
    }
  }

  /**
   * waitCaughtUp waits until each member's match reaches the leader's commit
   * index. It aborts when a learner that has answered makes no progress for
   * `stallMs`, or when a learner never answers within `firstContactMs` (a new
   * process needs a moment to start and find its id).
   */
  private async waitCaughtUp(ids: NodeId[], stallMs: number, firstContactMs = Math.max(30_000, 10 * stallMs)): Promise<void> {
    if (ids.length === 0) return;
    const target = this.raft().raftLog.committed;
    const started = performance.now();
    const lastProgress = new Map<NodeId, { match: number; at: number }>();
    for (;;) {
      this.requireLeader();
      const now = performance.now();
      let waiting = false;
      for (const id of ids) {
        const pr = this.raft().trk.progress.get(id);
        if (!pr) throw new ReconfigureError('conflict', `member ${id.toString(16)} left the configuration while catching up`);
        if (pr.match >= target) continue;
        waiting = true;
        const seen = lastProgress.get(id);
        // A learner has answered once the leader found where its log stands
        // (it left probing for a snapshot, or acknowledged entries).
        const contacted = pr.match > 0 || pr.state !== 'probe' || seen !== undefined;
        if (!contacted) {
          if (now - started > firstContactMs) {
            throw new ReconfigureError('deadline', `learner ${id.toString(16)} never answered within ${firstContactMs}ms; is it running and reachable?`);
          }
          continue;
        }
        if (!seen || pr.match > seen.match) lastProgress.set(id, { match: pr.match, at: now });
        else if (now - seen.at > stallMs) {
          throw new ReconfigureError(
            'deadline',
            `learner ${id.toString(16)} made no progress for ${stallMs}ms (match ${pr.match}, need ${target}); is it running and reachable?`,
          );
        }
      }
      if (!waiting) return;
      await new Promise((r) => setTimeout(r, this.tickMs));
    }
  }

  private async waitNotJoint(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.raft().trk.config.voters.isJoint) {
      if (performance.now() > deadline) throw new ReconfigureError('deadline', 'the joint configuration was not left in time');
      if (this.raft().state !== 'leader') throw new EtcdError('leaderChanged');
      await new Promise((r) => setTimeout(r, this.tickMs));
    }
  }
}
