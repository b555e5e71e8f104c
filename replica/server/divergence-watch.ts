// The replica-side majority vote: every few seconds a member collects the
// checkpoints of every member it knows (its own and its peers', over the
// peer port), judges them, and when it is itself the odd one out it marks
// itself divergent for good: it stops serving clients, raises
// replicant_member_divergent, and says why in Admin.Status and the log.
// Must never mark itself divergent on a verdict it did not get from judge().
import type { Logger } from 'pino';
import type { NodeId } from '../raft/index.ts';
import { judge, type MemberReport, type Verdict } from './divergence.ts';
import type { ReplicaNode } from './replica-node.ts';
import type { ReplicaMetrics } from './metrics.ts';
import type { Dial } from './peer-dial.ts';
import { membershipClient, type MembershipClient } from './membership-client.ts';

export interface DivergenceState {
  state: 'ok' | 'divergent' | 'unresolved' | 'unknown';
  index: number;
  digest: string;
  majorityDigest: string;
  divergentMembers: NodeId[];
  reason: string;
}

export class DivergenceWatch {
  private readonly node: () => ReplicaNode;
  private readonly log: Logger;
  private readonly metrics: ReplicaMetrics;
  private readonly dial: (id: NodeId, peerUrl: string) => Dial;
  private readonly onSelfDivergent: (reason: string) => void;
  private readonly clients = new Map<string, MembershipClient>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  current: DivergenceState = { state: 'unknown', index: 0, digest: '', majorityDigest: '', divergentMembers: [], reason: 'not checked yet' };
  /** selfDivergent is sticky: a member's state never heals without being replaced. */
  selfDivergent = false;

  constructor(o: {
    node: () => ReplicaNode;
    log: Logger;
    metrics: ReplicaMetrics;
    /** dial reaches member `id`'s peer port at `peerUrl` */
    dial: (id: NodeId, peerUrl: string) => Dial;
    onSelfDivergent: (reason: string) => void;
  }) {
    this.node = o.node;
    this.log = o.log.child({ component: 'divergence' });
    this.metrics = o.metrics;
    this.dial = o.dial;
    this.onSelfDivergent = o.onSelfDivergent;
  }

  start(intervalMs: number): void {
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      try {
        await this.check();
      } catch (err) {
        this.log.debug({ err }, 'divergence check failed');
      }
      if (this.running) this.timer = setTimeout(loop, intervalMs);
    };
    this.timer = setTimeout(loop, intervalMs);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(id: NodeId, peerUrl: string): MembershipClient {
    const key = `${id}|${peerUrl}`;
    let c = this.clients.get(key);
    if (!c) {
      c = membershipClient(this.dial(id, peerUrl));
      this.clients.set(key, c);
    }
    return c;
  }

  /** check gathers every member's checkpoints and judges them once. */
  async check(): Promise<Verdict> {
    const node = this.node();
    const own: MemberReport = { id: node.id, checkpoints: node.kv.checkpoints() };
    const peers = node.members.list().filter((m) => m.id !== node.id && m.peerURLs.length > 0);
    const reports = await Promise.all(
      peers.map(async (m): Promise<MemberReport | undefined> => {
        const r = await this.client(m.id, m.peerURLs[0]).checkpoints(1500);
        return r && r.memberId === m.id ? { id: m.id, checkpoints: r.checkpoints } : undefined;
      }),
    );
    const voters = node.raw.raft.trk.confState();
    const verdict = judge([...new Set([...voters.voters, ...voters.votersOutgoing])], [own, ...reports.filter((r): r is MemberReport => !!r)]);
    this.record(node.id, own, verdict);
    return verdict;
  }

  private record(self: NodeId, own: MemberReport, v: Verdict): void {
    if (this.selfDivergent) return;
    if (v.state === 'divergent') {
      const mine = v.digests.get(self);
      this.current = {
        state: v.divergent.includes(self) ? 'divergent' : 'ok',
        index: v.index,
        digest: mine ?? '',
        majorityDigest: v.majorityDigest,
        divergentMembers: v.divergent,
        reason: `at checkpoint ${v.index} members ${v.divergent.map((id) => id.toString(16)).join(', ')} differ from the majority digest ${v.majorityDigest}`,
      };
      if (v.divergent.includes(self)) {
        this.selfDivergent = true;
        const reason = `state digest ${mine} at checkpoint ${v.index} differs from the majority's ${v.majorityDigest}`;
        this.current.reason = reason;
        this.metrics.divergent.set(1);
        this.log.error({ index: v.index, digest: mine, majority: v.majorityDigest }, 'this member diverged from the majority: it stops serving clients and must be replaced');
        this.onSelfDivergent(reason);
      } else {
        this.log.warn({ index: v.index, divergent: v.divergent.map((id) => id.toString(16)) }, 'a member diverged from the majority');
      }
    } else if (v.state === 'unresolved') {
      const mine = v.digests.get(self) ?? '';
      this.current = {
        state: 'unresolved',
        index: v.index,
        digest: mine,
        majorityDigest: '',
        divergentMembers: [],
        reason: `at checkpoint ${v.index} the members disagree and no digest has a majority`,
      };
      this.log.error({ index: v.index }, 'checkpoint digests disagree without a majority: divergence unresolved');
    } else if (v.state === 'ok') {
      this.current = { state: 'ok', index: v.index, digest: v.digest, majorityDigest: v.digest, divergentMembers: [], reason: '' };
    } else {
      this.current = { ...this.current, state: 'unknown', reason: v.reason };
    }
    void own;
  }
}
