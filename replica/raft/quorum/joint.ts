// A joint configuration C_old,new: two majority configurations that must both
// agree (Raft thesis §4.3). When the outgoing half is empty it behaves exactly
// like the incoming half alone. Must never decide anything with one half only.
import type { NodeId } from '../types.ts';
import { MajorityConfig, type AckedIndexer, type VoteResult } from './majority.ts';

export class JointConfig {
  /** incoming is C_new (the whole configuration when not joint). */
  readonly incoming: MajorityConfig;
  /** outgoing is C_old while joint, empty otherwise. */
  readonly outgoing: MajorityConfig;

  constructor(incoming: MajorityConfig = new MajorityConfig(), outgoing: MajorityConfig = new MajorityConfig()) {
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  get isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** ids is every voter of either half, ascending. */
  ids(): NodeId[] {
    const all = new Set<NodeId>([...this.incoming.ids, ...this.outgoing.ids]);
    return [...all].sort((a, b) => a - b);
  }

  has(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** committedIndex is the largest index both halves have acknowledged by majority. */
  committedIndex(acked: AckedIndexer): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  /** voteResult wins only when both halves win, and loses as soon as either loses. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === 'lost' || r2 === 'lost') return 'lost';
    return 'pending';
  }

  toString(): string {
    return this.isJoint ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
