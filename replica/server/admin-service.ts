// The admin gRPC service (replicant.admin.v1.Admin): Status for the operator,
// ChangeMembership and TransferLeadership. A member that does not lead
// forwards the two writes to the leader's peer port (where only current
// members may call it; see tls/peer-access.ts), so callers may use any
// member. Who may call it on the client port is tls/client-access.ts's job.
// Must never change membership except through Reconfigurer.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { NodeId } from '../raft/index.ts';
import { clientConstructor, loadProtos, serviceDefinition } from '../../proto/grpc.ts';
import { EtcdError } from './etcdapi/index.ts';
import { ReconfigureError, type Reconfigurer } from './reconfigure.ts';
import type { Dial } from './peer-dial.ts';
import type { ReplicaNode } from './replica-node.ts';
import type { DivergenceState } from './divergence-watch.ts';

export const ADMIN_SERVICE = 'replicant.admin.v1.Admin';
let root: ReturnType<typeof loadProtos> | undefined;

function adminRoot() {
  root ??= loadProtos('admin.proto');
  return root;
}

export function adminServiceDefinition(): grpc.ServiceDefinition {
  return serviceDefinition(adminRoot(), ADMIN_SERVICE);
}

/** adminClient returns a client for the admin API at host:port. */
export function adminClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): grpc.Client & Record<string, Function> {
  const C = clientConstructor(adminRoot(), ADMIN_SERVICE);
  return new C(address, credentials, options) as unknown as grpc.Client & Record<string, Function>;
}

export interface AdminDeps {
  node: () => ReplicaNode;
  reconfigurer: () => Reconfigurer;
  clusterId: number;
  name: string;
  version: string;
  log: Logger;
  divergence: () => DivergenceState;
  /** faultInjection enables InjectFault (tests only). */
  faultInjection: boolean;
  /** dial reaches member `id`'s peer port at `peerUrl` (where this service is also served, for forwarding). */
  dial: (id: NodeId, peerUrl: string) => Dial;
}

function configuration(node: ReplicaNode) {
  const cs = node.raw.raft.trk.confState();
  return {
    voters: cs.voters,
    votersOutgoing: cs.votersOutgoing,
    learners: cs.learners,
    learnersNext: cs.learnersNext,
    joint: cs.votersOutgoing.length > 0,
  };
}

function members(node: ReplicaNode) {
  return node.members.list().map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner }));
}

function toStatusError(e: unknown): grpc.ServiceError {
  const err = e as Error;
  let code = grpc.status.INTERNAL;
  if (e instanceof EtcdError) code = e.code;
  else if (e instanceof ReconfigureError) {
    code = { invalid: grpc.status.INVALID_ARGUMENT, unhealthy: grpc.status.FAILED_PRECONDITION, deadline: grpc.status.DEADLINE_EXCEEDED, conflict: grpc.status.ABORTED }[e.code];
  }
  return Object.assign(new Error(err.message), { code, details: err.message, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

export function adminHandlers(d: AdminDeps): grpc.UntypedServiceImplementation {
  const clients = new Map<string, grpc.Client & Record<string, Function>>();
  const leaderClient = (): (grpc.Client & Record<string, Function>) | undefined => {
    const node = d.node();
    const leader = node.leaderId;
    if (leader === 0 || leader === node.id) return undefined;
    const url = node.members.get(leader)?.peerURLs[0];
    if (!url) return undefined;
    const key = `${leader}|${url}`;
    let c = clients.get(key);
    if (!c) {
      const dial = d.dial(leader, url);
      c = adminClient(dial.target, dial.credentials, dial.options);
      clients.set(key, c);
    }
    return c;
  };
  /** forward runs `local` when leading, else relays the call to the leader. */
  const forward = <Req, Res>(method: string, local: (req: Req) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
      const node = d.node();
      if (node.raw.raft.state === 'leader') {
        local(call.request).then((r) => cb(null, r), (e) => cb(toStatusError(e)));
        return;
      }
      const c = leaderClient();
      if (!c) {
        cb(toStatusError(new EtcdError(node.leaderId === 0 ? 'noLeader' : 'notLeader')));
        return;
      }
      const deadline = call.getDeadline();
      c[method](call.request, { deadline }, (err: grpc.ServiceError | null, res: Res) => (err ? cb(err) : cb(null, res)));
    };

  return {
    Status: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      try {
        const node = d.node();
        const st = node.status();
        const leaderUrls = node.members.get(node.leaderId)?.clientURLs ?? [];
        cb(null, {
          memberId: node.id,
          name: d.name,
          clusterId: d.clusterId,
          term: st.term,
          leader: st.lead,
          role: st.state,
          commitIndex: st.commit,
          appliedIndex: node.kv.appliedIndex,
          lastIndex: st.lastIndex,
          configuration: configuration(node),
          members: members(node),
          progress: st.progress
            ? [...st.progress].map(([id, p]) => ({ id, match: p.match, next: p.next, state: p.state, recentActive: p.recentActive, isLearner: p.isLearner }))
            : [],
          checkpoints: node.kv.checkpoints(),
          revision: node.kv.revision,
          version: d.version,
          snapshotIndex: node.snapshotIndex,
          leaderClientUrls: leaderUrls,
          divergence: d.divergence(),
        });
      } catch (e) {
        cb(toStatusError(e));
      }
    },
    ChangeMembership: forward('ChangeMembership', async (req: {
      requestId: string;
      add: { name: string; peerUrls: string[] }[];
      remove: number[];
      promote: number[];
      catchUpTimeoutMs: number;
    }) => {
      const node = d.node();
      const result = await d.reconfigurer().change({
        requestId: req.requestId,
        add: req.add.map((a) => ({ name: a.name, peerURLs: a.peerUrls })),
        remove: req.remove,
        promote: req.promote,
        catchUpTimeoutMs: req.catchUpTimeoutMs,
      });
      return {
        configuration: configuration(node),
        members: members(node),
        added: result.added.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: false })),
        index: result.index,
      };
    }),
    InjectFault: (call: grpc.ServerUnaryCall<{ kind: string; key: Uint8Array }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (!d.faultInjection) {
        cb(Object.assign(new Error('fault injection is disabled; start the replica with --enable-fault-injection (tests only)'), { code: grpc.status.FAILED_PRECONDITION }) as grpc.ServiceError);
        return;
      }
      const node = d.node();
      const { kind, key } = call.request;
      if (kind === 'corrupt-value') {
        if (!node.kv.corruptValue(key)) {
          cb(Object.assign(new Error(`key ${Buffer.from(key).toString()} does not exist on this member`), { code: grpc.status.NOT_FOUND }) as grpc.ServiceError);
          return;
        }
      } else if (kind === 'nondeterministic-apply') {
        node.faultNondeterministicApply = true;
      } else {
        cb(Object.assign(new Error(`unknown fault kind ${JSON.stringify(kind)}: use corrupt-value or nondeterministic-apply`), { code: grpc.status.INVALID_ARGUMENT }) as grpc.ServiceError);
        return;
      }
      d.log.warn({ kind, key: Buffer.from(key).toString() }, 'fault injected on purpose');
      cb(null, {});
    },
    TransferLeadership: forward('TransferLeadership', async (req: { target: number }) => {
      const node = d.node();
      let target: NodeId = req.target;
      if (target === 0) {
        let best = -1;
        for (const [id, pr] of node.raw.raft.trk.progress) {
          if (id === node.id || pr.isLearner || !node.raw.raft.trk.config.voters.has(id)) continue;
          if (pr.match > best) {
            best = pr.match;
            target = id;
          }
        }
        if (target === 0) throw new EtcdError('badLeaderTransferee');
      }
      // As etcd's MoveLeader: the transferee may first need to catch up, so
      // the wait is the request timeout, not one election timeout or two.
      const leader = await node.transferLeadership(target, node.requestTimeoutMs);
      return { leader };
    }),
  };
}
