// LogShape: which (index, term) positions the WAL's records describe, without the
// entry data. Recovery feeds it every record in file order; the writer feeds it
// every record it appends, so both agree on what a later replay will see. It holds
// terms as runs (one item per term change), so it stays tiny for any log length.
// Replay rules (those of etcd's WAL and raft's log):
// - an entry at index i discards every entry at index >= i, then is appended;
//   an entry beyond lastIndex + 1 is a gap (corruption), and so is one at or
//   below the commit floor (the highest commit index or snapshot seen so far):
//   committed entries are never rewritten;
// - a snapshot marker (i, t) that matches the log (entry i has term t, or i is
//   older than what is known) keeps the log: a local snapshot does not shorten it;
//   a marker the log contradicts or runs ahead of (an installed snapshot) resets the
//   log to end at (i, t), as raft did when it restored that snapshot.
// This module must never read files or hold entry data.
import type { SnapshotMarker } from './records.ts';

interface TermRun {
  /** first index of the run */
  index: number;
  term: number;
}

/** LogPosition is an (index, term) pair; term is undefined when no record tells it. */
export interface LogPosition {
  index: number;
  term: number | undefined;
}

export class LogShape {
  /** Entries are known from baseIndex + 1 on; baseIndex itself is where the log (or a snapshot) begins. */
  baseIndex: number;
  baseTerm: number | undefined;
  /**
   * baseIsHeader is true while the base comes from the header of the first
   * retained segment (older segments were released after a snapshot): an entry may
   * then legally land at or below the base (its predecessors live in released
   * segments, covered by a snapshot).
   */
  baseIsHeader: boolean;
  lastIndex: number;
  /** the highest commit index or snapshot index recorded so far: entries at or below it are final */
  commitFloor = 0;
  private runs: TermRun[] = [];

  constructor(base: LogPosition, baseIsHeader: boolean) {
    this.baseIndex = base.index;
    this.baseTerm = base.term;
    this.baseIsHeader = baseIsHeader;
    this.lastIndex = base.index;
  }

  clone(): LogShape {
    const c = new LogShape({ index: this.baseIndex, term: this.baseTerm }, this.baseIsHeader);
    c.lastIndex = this.lastIndex;
    c.commitFloor = this.commitFloor;
    c.runs = this.runs.slice();
    return c;
  }

  /** termAt returns the term of the entry at index i, or undefined if the shape does not know it. */
  termAt(i: number): number | undefined {
    if (i === this.baseIndex) return this.baseTerm;
    if (i < this.baseIndex || i > this.lastIndex) return undefined;
    const runs = this.runs;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid].index <= i) lo = mid;
      else hi = mid - 1;
    }
    return runs[lo].term;
  }

  lastTerm(): number | undefined {
    return this.termAt(this.lastIndex);
  }

  /** appendProblem says why an entry at (index, term) cannot follow this shape, or undefined if it can. */
  appendProblem(index: number): string | undefined {
    if (index > this.lastIndex + 1) return `entry index ${index} leaves a gap after last index ${this.lastIndex}`;
    if (index <= this.commitFloor) return `entry index ${index} would rewrite a committed entry (commit ${this.commitFloor})`;
    if (index <= this.baseIndex && !this.baseIsHeader) {
      return `entry index ${index} is at or below the snapshot the log was reset to (index ${this.baseIndex})`;
    }
    return undefined;
  }

  /** append records an entry; the caller has checked appendProblem. */
  append(index: number, term: number): void {
    if (index <= this.baseIndex) {
      // Only reachable with baseIsHeader: everything known so far is replaced.
      this.baseIndex = index - 1;
      this.baseTerm = undefined;
      this.runs = [];
    }
    const runs = this.runs;
    while (runs.length > 0 && runs[runs.length - 1].index >= index) runs.pop();
    if (runs.length === 0 || runs[runs.length - 1].term !== term) runs.push({ index, term });
    this.lastIndex = index;
  }

  /** raiseFloor records a hard state's commit index; the floor never goes down. */
  raiseFloor(commit: number): void {
    if (commit > this.commitFloor) this.commitFloor = commit;
  }

  /** markerResets tells whether applying the marker would reset the log (see the module comment). */
  markerResets(m: SnapshotMarker): boolean {
    if (m.index > this.lastIndex) return true;
    const t = this.termAt(m.index);
    return t !== undefined && t !== m.term;
  }

  /** applyMarker applies a snapshot marker and returns whether the log was reset. */
  applyMarker(m: SnapshotMarker): boolean {
    this.raiseFloor(m.index);
    if (!this.markerResets(m)) return false;
    this.baseIndex = m.index;
    this.baseTerm = m.term;
    this.baseIsHeader = false;
    this.runs = [];
    this.lastIndex = m.index;
    return true;
  }
}
