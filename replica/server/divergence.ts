// Detecting a faulty member by majority vote of the replicas' outputs: every
// member records a digest of its state at the same applied indexes
// (checkpoints); comparing them finds a member whose state differs from the
// majority's — a Byzantine symptom (bit flip, bad build, memory corruption)
// that raft alone cannot see. judge() is a pure function over the reports.
// Must never call a member divergent without a strict majority of the voters
// agreeing on another digest at the same index.
import type { NodeId } from '../raft/index.ts';

export interface CheckpointReport {
  index: number;
  digest: string;
}

export interface MemberReport {
  id: NodeId;
  checkpoints: CheckpointReport[];
}

export type Verdict =
  | { state: 'unknown'; reason: string }
  | { state: 'ok'; index: number; digest: string }
  | { state: 'divergent'; index: number; majorityDigest: string; divergent: NodeId[]; digests: Map<NodeId, string> }
  | { state: 'unresolved'; index: number; digests: Map<NodeId, string> };

/**
 * judge compares the latest checkpoint index that a quorum of voters has
 * reported. A digest held by a strict majority of the voters is the truth;
 * any member (voter or learner) reporting another digest there is divergent.
 * Disagreement without such a majority is unresolved: nobody is blamed.
 */
export function judge(voters: NodeId[], reports: MemberReport[]): Verdict {
  const quorum = Math.floor(voters.length / 2) + 1;
  const voterSet = new Set(voters);
  const byIndex = new Map<number, Map<NodeId, string>>();
  for (const r of reports) {
    for (const c of r.checkpoints) {
      let m = byIndex.get(c.index);
      if (!m) byIndex.set(c.index, (m = new Map()));
      m.set(r.id, c.digest);
    }
  }
  const indexes = [...byIndex.keys()].sort((a, b) => b - a);
  for (const index of indexes) {
    const digests = byIndex.get(index)!;
    const voterReports = [...digests].filter(([id]) => voterSet.has(id));
    if (voterReports.length < quorum) continue;
    const votes = new Map<string, number>();
    for (const [, d] of voterReports) votes.set(d, (votes.get(d) ?? 0) + 1);
    const [top, count] = [...votes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    const disagree = [...digests].filter(([, d]) => d !== top).map(([id]) => id);
    if (count >= quorum) {
      if (disagree.length === 0) return { state: 'ok', index, digest: top };
      return { state: 'divergent', index, majorityDigest: top, divergent: disagree.sort((a, b) => a - b), digests };
    }
    const missing = voters.length - voterReports.length;
    // No digest can reach a majority any more: the members disagree and nobody can be blamed.
    if (count + missing < quorum) return { state: 'unresolved', index, digests };
    // Not decidable yet at this index (voters still to report): look at an older one.
  }
  return { state: 'unknown', reason: 'no checkpoint reported by a quorum of voters yet' };
}
