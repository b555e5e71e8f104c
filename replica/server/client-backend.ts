// The etcd client API's backend over raft: writes are proposed and answered
// with their apply result, reads wait for a ReadIndex barrier unless
// serializable, and Cluster calls become configuration changes on the leader
// (followers relay them to the leader's peer port). Must never answer a
// linearizable read from state older than the barrier.
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../raft/index.ts';
import { ConfChangeRejectedError } from '../raft/index.ts';
import type { HashKVResult, KvCommand, KvResult, RangeRequest, RangeResponse } from '../kv/index.ts';
import { ApiError, EtcdError, type ClientBackend, type ClusterHeader, type Member, type MemberStatus } from './etcdapi/index.ts';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';
import { RequestIdGenerator } from '../kv/index.ts';
import { freshMemberId } from './ids.ts';
import { encodeChangeContext, type MemberView } from './members.ts';
import type { ReplicaNode } from './replica-node.ts';
import type { Dial } from './peer-dial.ts';

/** SERVER_VERSION is what Maintenance.Status reports: the etcd API level we serve. */
export const SERVER_VERSION = '3.4.0';

let clusterClient: grpc.ServiceClientConstructor | undefined;

function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** WireMember is a member as the etcd Cluster service sends it (a relayed answer). */
interface WireMember {
  ID: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

function fromWire(m: WireMember): Member {
  return { id: m.ID, name: m.name, peerURLs: m.peerURLs ?? [], clientURLs: m.clientURLs ?? [], isLearner: !!m.isLearner };
}

function toMember(m: MemberView): Member {
  return { id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}

export class RaftClientBackend implements ClientBackend {
  private readonly node: () => ReplicaNode;
  private readonly clusterId: number;
  private readonly ids: RequestIdGenerator;
  private readonly relays = new Map<string, grpc.Client & Record<string, Function>>();
  /** divergence is set by the digest comparison; a divergent member refuses reads. */
  divergentReason: string | undefined;

  private readonly dial: (id: NodeId, peerUrl: string) => Dial;

  private readonly peerScheme: string | undefined;

  /**
   * dial reaches a member's peer port, where the Cluster service is served for
   * relaying; peerScheme ('https:' with peer TLS) is the scheme new members' peer URLs must use.
   */
  constructor(node: () => ReplicaNode, clusterId: number, memberId: number, dial: (id: NodeId, peerUrl: string) => Dial, peerScheme?: 'http:' | 'https:') {
    this.node = node;
    this.dial = dial;
    this.peerScheme = peerScheme;
    this.clusterId = clusterId;
    this.ids = new RequestIdGenerator(memberId, Date.now());
  }

  nextRequestId(): number {
    return this.ids.next();
  }

  /** refuseIfDivergent: a member whose state differs from the majority's answers nothing from that state. */
  private refuseIfDivergent(): void {
    if (this.divergentReason) {
      throw new ApiError(
        grpc.status.UNAVAILABLE,
        `replicant: this member's state diverged from the majority (${this.divergentReason}); it serves no client requests until replaced`,
      );
    }
  }

  async write(command: KvCommand, data: Uint8Array): Promise<KvResult> {
    this.refuseIfDivergent();
    return this.node().proposeKv(command, data);
  }

  async read(request: RangeRequest, serializable: boolean): Promise<RangeResponse> {
    this.refuseIfDivergent();
    const node = this.node();
    if (!serializable) await node.readBarrier();
    return node.kv.range(request);
  }

  header(): ClusterHeader {
    const node = this.node();
    return { clusterId: this.clusterId, memberId: node.id, raftTerm: node.raw.raft.term, revision: node.kv.revision };
  }

  async status(): Promise<MemberStatus> {
    const node = this.node();
    const st = node.status();
    const stats = node.kv.stats();
    return {
      version: SERVER_VERSION,
      dbSize: stats.sizeBytes,
      dbSizeInUse: stats.sizeBytes,
      leader: st.lead,
      raftIndex: st.commit,
      raftTerm: st.term,
      raftAppliedIndex: node.kv.appliedIndex,
      errors: this.divergentReason ? [`divergent: ${this.divergentReason}`] : [],
      isLearner: st.config.learners.includes(node.id),
    };
  }

  async hashKV(revision: number): Promise<HashKVResult> {
    return this.node().kv.hashKV(revision);
  }

  async memberList(linearizable: boolean): Promise<Member[]> {
    const node = this.node();
    if (linearizable) await node.readBarrier();
    return node.members.list().map(toMember);
  }

  async memberAdd(peerURLs: string[], isLearner: boolean): Promise<{ member: Member; members: Member[] }> {
    const node = this.node();
    if (node.raw.raft.state !== 'leader') {
      const r = await this.relay<{ member: WireMember; members: WireMember[] }>('MemberAdd', { peerURLs, isLearner });
      return { member: fromWire(r.member), members: r.members.map(fromWire) };
    }
    if (peerURLs.length === 0) throw new EtcdError('memberBadURLs');
    for (const u of peerURLs) {
      try {
        const p = new URL(u);
        if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new Error();
      } catch {
        throw new EtcdError('memberBadURLs');
      }
    }
    if (this.peerScheme) {
      const other = peerURLs.find((u) => new URL(u).protocol !== this.peerScheme);
      if (other) throw new ApiError(grpc.status.INVALID_ARGUMENT, `etcdserver: peer URL ${other} must use ${this.peerScheme}// like the rest of this group's peer URLs`);
    }
    for (const u of peerURLs) if (node.members.findByPeerURL(u)) throw new EtcdError('peerURLExist');
    if (!isLearner) this.requireStartedQuorum(node, +1);
    const id = freshMemberId((x) => node.members.taken(x));
    await this.propose(node, { type: isLearner ? 'addLearner' : 'addNode', nodeId: id }, [{ id, name: '', peerURLs, clientURLs: [] }]);
    const members = node.members.list();
    const member = members.find((m) => m.id === id);
    return { member: toMember(member ?? { id, name: '', peerURLs, clientURLs: [], isLearner }), members: members.map(toMember) };
  }

  async memberRemove(id: number): Promise<Member[]> {
    const node = this.node();
    if (!node.members.get(id)) throw new EtcdError('memberNotFound');
    if (node.raw.raft.state !== 'leader') return (await this.relay<{ members: WireMember[] }>('MemberRemove', { ID: id })).members.map(fromWire);
    const cs = node.raw.raft.trk.confState();
    if (cs.voters.includes(id)) this.requireStartedQuorum(node, -1, id);
    await this.propose(node, { type: 'removeNode', nodeId: id }, []);
    return node.members.list().map(toMember);
  }

  async memberPromote(id: number): Promise<Member[]> {
    const node = this.node();
    if (!node.members.get(id)) throw new EtcdError('memberNotFound');
    if (node.raw.raft.state !== 'leader') return (await this.relay<{ members: WireMember[] }>('MemberPromote', { ID: id })).members.map(fromWire);
    const raft = node.raw.raft;
    if (!raft.trk.confState().learners.includes(id)) throw new EtcdError('memberNotLearner');
    const pr = raft.trk.progress.get(id);
    const leaderMatch = raft.trk.progress.get(raft.id)?.match ?? 0;
    // etcd's rule: a learner may be promoted once it holds 90% of the leader's log.
    if (!pr || pr.match < leaderMatch * 0.9) throw new EtcdError('learnerNotReady');
    await this.propose(node, { type: 'addNode', nodeId: id }, []);
    return node.members.list().map(toMember);
  }

  /**
   * requireStartedQuorum refuses a voter change that would leave the
   * configuration without a quorum of active members (etcd's strict reconfig check).
   */
  private requireStartedQuorum(node: ReplicaNode, delta: number, removing?: NodeId): void {
    const raft = node.raw.raft;
    const voters = raft.trk.confState().voters;
    const active = voters.filter((v) => v !== removing && (v === raft.id || raft.trk.progress.get(v)?.recentActive)).length;
    if (active < quorum(voters.length + delta)) throw new EtcdError('memberNotEnoughStarted');
  }

  private async propose(node: ReplicaNode, change: { type: 'addNode' | 'addLearner' | 'removeNode'; nodeId: NodeId }, records: Parameters<typeof encodeChangeContext>[0]['members']): Promise<void> {
    try {
      await node.proposeConfChange({ transition: 'auto', changes: [change], context: encodeChangeContext({ members: records }) });
    } catch (e) {
      if (e instanceof ConfChangeRejectedError) {
        throw new ApiError(grpc.status.FAILED_PRECONDITION, `etcdserver: ${e.message}`);
      }
      throw e;
    }
  }

  /** relay forwards a Cluster call to the leader's peer port. */
  private relay<T>(method: string, request: object): Promise<T> {
    const node = this.node();
    const leader = node.leaderId;
    const url = node.members.get(leader)?.peerURLs[0];
    if (leader === 0 || !url) return Promise.reject(new EtcdError('noLeader'));
    const key = `${leader}|${url}`;
    let c = this.relays.get(key);
    if (!c) {
      clusterClient ??= clientConstructor(loadProtos('etcd/rpc.proto'), 'etcdserverpb.Cluster');
      const dial = this.dial(leader, url);
      c = new clusterClient(dial.target, dial.credentials, dial.options) as unknown as grpc.Client & Record<string, Function>;
      this.relays.set(key, c);
    }
    return new Promise<T>((resolve, reject) =>
      c[method](request, { deadline: Date.now() + 10_000 }, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
    );
  }

  close(): void {
    for (const c of this.relays.values()) c.close();
    this.relays.clear();
  }
}
