// Divergence by majority vote of state digests: members report the digest of
// their state machine at fixed checkpoint indices; at one index, a digest held
// by a strict majority of the voters is the group's output, and members that
// report another digest there have diverged (a Byzantine symptom raft alone
// cannot see). Without such a majority nobody is judged: the disagreement is
// reported as unresolved. Pure: must never decide what to do about it.

export interface CheckpointReport {
  member: string;
  checkpoints: { index: number; digest: string }[];
}

export interface DivergentMember {
  member: string;
  index: number;
  digest: string;
  majorityDigest: string;
}

export interface UnresolvedDivergence {
  index: number;
  /** digests maps each digest reported at the index to the members reporting it. */
  digests: Record<string, string[]>;
}

export interface DivergenceVerdict {
  divergent: DivergentMember[];
  unresolved: UnresolvedDivergence[];
}

/**
 * voteOnCheckpoints compares digests index by index. `electorate` is the
 * number of voters: agreement counts only when more than half of them report
 * the same digest, so two members out of five can never outvote a third.
 */
export function voteOnCheckpoints(reports: CheckpointReport[], electorate: number): DivergenceVerdict {
  const byIndex = new Map<number, Map<string, Set<string>>>();
  for (const r of reports) {
    for (const c of r.checkpoints) {
      let digests = byIndex.get(c.index);
      if (!digests) byIndex.set(c.index, (digests = new Map()));
      let members = digests.get(c.digest);
      if (!members) digests.set(c.digest, (members = new Set()));
      members.add(r.member);
    }
  }
  const divergent = new Map<string, DivergentMember>();
  const unresolved: UnresolvedDivergence[] = [];
  const needed = Math.floor(electorate / 2) + 1;
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const digests = byIndex.get(index)!;
    if (digests.size < 2) continue;
    const ranked = [...digests.entries()].sort((a, b) => b[1].size - a[1].size);
    const [majorityDigest, holders] = ranked[0];
    if (holders.size >= needed) {
      for (const [digest, members] of ranked.slice(1)) {
        for (const member of members) {
          if (!divergent.has(member)) divergent.set(member, { member, index, digest, majorityDigest });
        }
      }
    } else {
      unresolved.push({
        index,
        digests: Object.fromEntries(ranked.map(([d, m]) => [d, [...m].sort()])),
      });
    }
  }
  return {
    divergent: [...divergent.values()].sort((a, b) => a.member.localeCompare(b.member)),
    // A member already judged divergent elsewhere does not keep a disagreement open.
    unresolved: unresolved.filter((u) => {
      const undecided = Object.values(u.digests).flat().filter((m) => !divergent.has(m));
      return new Set(Object.entries(u.digests).filter(([, ms]) => ms.some((m) => undecided.includes(m))).map(([d]) => d)).size > 1;
    }),
  };
}
