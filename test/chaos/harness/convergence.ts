// The final state check: once every member has applied the same index, their
// Maintenance.HashKV values must be equal, and their Admin.Status checkpoint
// digests must agree at every index two members both hold. A member that
// differs holds different data: a replication bug even if every client read
// looked right. No member may report divergence either (itself divergent,
// others divergent, or an unresolved vote): the chaos suite must show the
// divergence detector has no false positives.
// It must never compare hashes taken at different applied indexes.
import { EtcdClient } from '../../e2e/etcd-client.ts';
import type { ChaosCluster } from './cluster.ts';

export interface Convergence {
  converged: boolean;
  /** the applied index all members reached (when they did) */
  appliedIndex?: number;
  /** HashKV per member name */
  hashes: Record<string, number>;
  /** checkpoint indexes held by at least two members, compared */
  checkpointsCompared: number;
  /** differences found, e.g. "checkpoint 300: m1 ab12 vs m3 cd34" */
  disagreements: string[];
  reason?: string;
}

/** checkConvergence waits (up to timeoutMs) for equal applied indexes, then compares digests and hashes. */
export async function checkConvergence(cluster: ChaosCluster, timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  const members = cluster.members();
  const clients = new Map(members.map((m) => [m.name, new EtcdClient(m.process.endpoint, 5000)]));
  let reason = '';
  try {
    while (Date.now() < deadline) {
      const before = await cluster.statuses(members);
      const applied = new Set([...before.values()].map((s) => s.appliedIndex));
      const commits = new Set([...before.values()].map((s) => s.commitIndex));
      if (before.size !== members.length) reason = `${members.length - before.size} member(s) did not answer Status`;
      else if (applied.size !== 1 || commits.size !== 1 || [...applied][0] !== [...commits][0]) {
        reason = `applied indexes differ: ${[...before].map(([s, st]) => `${s.name}=${st.appliedIndex}/${st.commitIndex}`).join(' ')}`;
      } else {
        const hashes: Record<string, number> = {};
        try {
          for (const m of members) hashes[m.name] = await clients.get(m.name)!.hashKV();
        } catch (e) {
          reason = `HashKV failed: ${(e as Error).message}`;
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        const after = await cluster.statuses(members);
        if (after.size === members.length && [...after.values()].every((s) => s.appliedIndex === [...applied][0])) {
          const disagreements: string[] = [];
          const distinct = new Set(Object.values(hashes));
          if (distinct.size !== 1) disagreements.push(`HashKV differs at applied index ${[...applied][0]}: ${Object.entries(hashes).map(([n, h]) => `${n}=${h}`).join(' ')}`);
          const byIndex = new Map<number, { member: string; digest: string }[]>();
          for (const [s, st] of after) {
            for (const c of st.checkpoints) {
              const list = byIndex.get(c.index) ?? [];
              list.push({ member: s.name, digest: c.digest });
              byIndex.set(c.index, list);
            }
          }
          let compared = 0;
          for (const [index, list] of [...byIndex].sort((a, b) => a[0] - b[0])) {
            if (list.length < 2) continue;
            compared++;
            if (new Set(list.map((x) => x.digest)).size !== 1) {
              disagreements.push(`checkpoint ${index}: ${list.map((x) => `${x.member}=${x.digest}`).join(' ')}`);
            }
          }
          for (const [s, st] of after) {
            const d = st.divergence;
            if (d && (d.state === 'divergent' || d.state === 'unresolved' || (d.divergentMembers?.length ?? 0) > 0)) {
              disagreements.push(`${s.name} reports divergence: ${d.state} at checkpoint ${d.index} (digest ${d.digest}, majority ${d.majorityDigest}, divergent members ${(d.divergentMembers ?? []).join(',') || 'none'})${d.reason ? `: ${d.reason}` : ''}`);
            }
          }
          return { converged: disagreements.length === 0, appliedIndex: [...applied][0], hashes, checkpointsCompared: compared, disagreements };
        }
        reason = 'the applied index moved while hashing';
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { converged: false, hashes: {}, checkpointsCompared: 0, disagreements: [], reason: `not converged within ${timeoutMs / 1000} s: ${reason}` };
  } finally {
    for (const c of clients.values()) c.close();
  }
}
