// The end of a run: heal everything (links pass, paused processes continue,
// dead members restart, the membership view is reconciled and leftover
// learners removed), then wait until the group has recovered: every member
// runs, all name the same leader, no joint configuration, and a write
// commits. Not recovering within the deadline is a liveness failure, which
// the summary reports as such.
// It must never inject a fault, and never count the group as recovered
// before a write has committed after the heal.
import { EtcdClient } from '../../e2e/etcd-client.ts';
import type { AdminStatus, ChaosCluster } from './cluster.ts';

export interface Recovery {
  recovered: boolean;
  /** ms from the start of healing to the first committed write */
  ms: number;
  /** why not, when not recovered */
  reason?: string;
  leader?: string;
  voters?: string[];
}

/** healAll ends every fault the nemeses may have left. */
export function healAll(cluster: ChaosCluster): void {
  cluster.network.heal();
  for (const s of cluster.slots) cluster.resume(s);
}

/** waitRecovered heals and waits (up to timeoutMs) for the group to serve a write again. */
export async function waitRecovered(cluster: ChaosCluster, timeoutMs: number, requestId: () => string): Promise<Recovery> {
  const started = Date.now();
  healAll(cluster);
  let reason = 'no leader';
  let probe: EtcdClient | undefined;
  try {
    while (Date.now() - started < timeoutMs) {
      const st: AdminStatus | undefined = await cluster.reconcile().catch(() => undefined);
      for (const s of cluster.members()) if (!cluster.running(s)) cluster.launch(s);
      if (!st) {
        reason = 'no member reports itself leader';
      } else if (st.configuration.learners.length > 0 || st.configuration.joint) {
        reason = st.configuration.joint ? 'the configuration is still joint' : 'a learner is left over';
        const learners = st.configuration.learners;
        if (learners.length > 0) {
          const leader = (await cluster.leader())?.slot;
          if (leader) await cluster.admin(leader, 'ChangeMembership', { requestId: requestId(), remove: learners }, 10_000).catch(() => undefined);
        }
      } else {
        const members = cluster.members();
        const leader = await cluster.agreedLeader(members);
        if (!leader) {
          reason = `the members (${members.map((m) => m.name).join(' ')}) do not all answer and agree on a leader`;
        } else {
          probe ??= new EtcdClient(leader.process.endpoint, 2000);
          if (probe.endpoint !== leader.process.endpoint) {
            probe.close();
            probe = new EtcdClient(leader.process.endpoint, 2000);
          }
          try {
            await probe.put('chaos/probe', String(Date.now()));
            return { recovered: true, ms: Date.now() - started, leader: leader.name, voters: members.map((m) => m.name) };
          } catch (e) {
            reason = `a write through the leader ${leader.name} failed: ${(e as Error).message}`;
          }
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { recovered: false, ms: Date.now() - started, reason };
  } finally {
    probe?.close();
  }
}
