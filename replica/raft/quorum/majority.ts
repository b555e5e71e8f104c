// A majority configuration: the voters of one half of a (possibly joint)
// configuration, and the two questions raft asks of it — which index has a
// majority acknowledged, and has an election been won. Pure functions of sets.
// Must never know about progress, terms or messages.
import type { NodeId } from '../types.ts';

/** VoteResult is the outcome of counting votes so far. */
export type VoteResult = 'pending' | 'lost' | 'won';

/** AckedIndexer reports the highest index a voter has acknowledged, or undefined if unknown. */
export type AckedIndexer = (id: NodeId) => number | undefined;

/** MajorityConfig is a set of voters; an empty one is a quorum of nobody (always agrees). */
export class MajorityConfig {
  readonly ids: ReadonlySet<NodeId>;

  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: NodeId): boolean {
    return this.ids.has(id);
  }

  /** sorted lists the voters in ascending order (stable iteration for determinism). */
  sorted(): NodeId[] {
    return [...this.ids].sort((a, b) => a - b);
  }

  /**
   * committedIndex is the largest index acknowledged by a majority. An empty
   * configuration returns +Infinity so that, in a joint configuration whose
   * outgoing half is empty, the min() is decided by the incoming half alone.
   */
  committedIndex(acked: AckedIndexer): number {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    const matched: number[] = [];
    for (const id of this.ids) matched.push(acked(id) ?? 0);
    matched.sort((a, b) => a - b);
    // With the indexes ascending, the one at position n - (n/2 + 1) is held by a majority.
    return matched[n - (Math.floor(n / 2) + 1)];
  }

  /** voteResult tallies granted (true) and rejected (false) votes; voters absent from `votes` are undecided. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.ids.size === 0) return 'won';
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(this.ids.size / 2) + 1;
    if (yes >= q) return 'won';
    if (yes + missing >= q) return 'pending';
    return 'lost';
  }

  toString(): string {
    return `(${this.sorted().join(' ')})`;
  }
}
