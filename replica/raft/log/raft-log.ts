// The log as the core sees it: the durable part (Storage) followed by the
// unstable tail, with the commit and applied indexes. Enforces that the commit
// index never moves backwards and never past the last entry, and that a
// committed entry is never truncated. Must never perform I/O.
import type { Entry, Snapshot } from '../types.ts';
import type { Storage } from '../storage.ts';
import { limitSize } from '../storage.ts';
import { CompactedError, UnavailableError, invariant } from '../errors.ts';
import { Unstable } from './unstable.ts';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** committed: highest index known to be stored on a quorum. */
  committed: number;
  /** applied: highest index the application has applied. Invariant: applied <= committed. */
  applied: number;
  private readonly maxNextEntsSize: number;

  constructor(storage: Storage, maxNextEntsSize: number) {
    this.storage = storage;
    this.maxNextEntsSize = maxNextEntsSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  /**
   * maybeAppend appends entries from a leader if our log matches (index, logTerm);
   * returns the new last index, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0].index - 1;
    invariant(after >= this.committed, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** findConflict returns the first index whose term differs from ours, or 0 if all match. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * findConflictByTerm returns the largest index <= `index` whose term is <= `term`
   * (fast back-off of a rejected append: skips a whole term at a time).
   */
  findConflictByTerm(index: number, term: number): number {
    if (index > this.lastIndex()) return index;
    for (;;) {
      let t: number;
      try {
        t = this.term(index);
      } catch {
        break;
      }
      if (t <= term) break;
      index--;
    }
    return index;
  }

  /** unstableEntries: the entries the host has yet to be handed to persist (not those already in progress). */
  unstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasUnstableEntries(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** hasNextOrInProgressSnapshot: a snapshot is waiting to be persisted/applied. */
  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** nextCommittedEnts returns committed but not yet applied entries (none while a snapshot is pending). */
  nextCommittedEnts(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const off = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 > off) return this.slice(off, this.committed + 1, this.maxNextEntsSize);
    return [];
  }

  hasNextCommittedEnts(): boolean {
    if (this.hasPendingSnapshot()) return false;
    const off = Math.max(this.applied + 1, this.firstIndex());
    return this.committed + 1 > off;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /**
   * durableLastIndex is the last index of the log that is already durable:
   * the storage's, but not beyond where the unstable tail starts replacing it.
   */
  durableLastIndex(): number {
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      invariant(this.lastIndex() >= toCommit, `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      this.committed = toCommit;
    }
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(this.committed >= i && i >= this.applied, `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** term of entry i; 0 outside [dummy, last]; throws Compacted/Unavailable from storage. */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** zeroTermOnErr is term(i), or 0 if it was compacted. */
  zeroTermOnErr(i: number): number {
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** isUpToDate: a candidate with (lasti, term) has a log at least as up to date as ours (§5.4.1). */
  isUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti >= this.lastIndex());
  }

  /** isMoreUpToDate: a log ending at (lasti, term) is strictly more up to date than ours. */
  isMoreUpToDate(lasti: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lasti > this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    try {
      return this.term(i) === term;
    } catch {
      return false;
    }
  }

  /** maybeCommit commits maxIndex only if it belongs to the current term (§5.4.2: never count old-term entries). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnErr(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** appliedSnapshot records that the application now holds the snapshot's state. */
  appliedSnapshot(index: number): void {
    if (index > this.applied) this.applied = index;
  }

  /** slice returns entries [lo, hi) within maxSize (at least one); throws Compacted when lo is gone. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.checkOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      let stored: Entry[];
      try {
        stored = this.storage.entries(lo, Math.min(hi, off), maxSize);
      } catch (e) {
        if (e instanceof CompactedError) throw e;
        if (e instanceof UnavailableError) invariant(false, `entries[${lo}:${Math.min(hi, off)}) is unavailable from storage`);
        throw e;
      }
      // Storage stopped early because of the size limit.
      if (stored.length < Math.min(hi, off) - lo) return stored;
      ents = stored;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }

  private checkOutOfBounds(lo: number, hi: number): void {
    invariant(lo <= hi, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    const length = this.lastIndex() + 1 - fi;
    invariant(hi <= fi + length, `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
