// The stable part of the log as raft reads it, and MemoryStorage, the
// in-memory implementation the host fills from its write-ahead log and
// appends to after each fsync. Must never perform I/O: durability is the
// host's job, this only mirrors what is already durable.
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from './types.ts';
import { emptyConfState } from './types.ts';
import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError, invariant } from './errors.ts';

/** Storage is read by the core; entries and terms outside the retained range throw Compacted/Unavailable. */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** entries in [lo, hi), at least one if any, then up to maxSize bytes. */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  term(index: number): number;
  lastIndex(): number;
  firstIndex(): number;
  /** snapshot is the most recent snapshot (may throw SnapshotTemporarilyUnavailableError). */
  snapshot(): Snapshot;
}

/** entrySize approximates an entry's encoded size for flow control. */
export function entrySize(e: Entry): number {
  return e.data.length + 24;
}

/** limitSize keeps a prefix of entries within maxSize bytes, but always at least one. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array() };
  /** ents[0] is a dummy entry standing for the snapshot (index and term only). */
  private ents: Entry[] = [{ index: 0, term: 0, type: 'normal', data: new Uint8Array() }];
  /** set while the current snapshot's image is held by the host instead (releaseSnapshotData) */
  private snapLoader: (() => Uint8Array) | undefined;

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  getHardState(): HardState {
    return { ...this.hardState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0].index;
    if (lo <= offset) throw new CompactedError();
    invariant(hi <= this.lastIndex() + 1, `entries hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.ents.length === 1) throw new UnavailableError();
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(index: number): number {
    const offset = this.ents[0].index;
    if (index < offset) throw new CompactedError();
    if (index - offset >= this.ents.length) throw new UnavailableError();
    return this.ents[index - offset].term;
  }

  lastIndex(): number {
    return this.ents[0].index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0].index + 1;
  }

  /**
   * snapshot is the most recent snapshot. Once its image was released (see
   * releaseSnapshotData) the image is produced again by the host's loader; a
   * loader that fails makes the snapshot temporarily unavailable (raft tries
   * again at a later send), never a crash of the core.
   */
  snapshot(): Snapshot {
    const load = this.snapLoader;
    if (!load) return this.snap;
    let data: Uint8Array;
    try {
      data = load();
    } catch {
      throw new SnapshotTemporarilyUnavailableError();
    }
    return { metadata: this.snap.metadata, data };
  }

  /**
   * releaseSnapshotData drops the in-memory image of the snapshot at `index`
   * (the current one) once the host holds it durably elsewhere: `load` must
   * return the same bytes on demand, which raft asks for only to send the
   * snapshot to a follower that is too far behind for entries. An image can be
   * as large as the whole state machine, and every member would otherwise keep
   * one beside the state machine itself. Returns false, changing nothing, when
   * the current snapshot is not at `index` (a newer one replaced it meanwhile).
   */
  releaseSnapshotData(index: number, load: () => Uint8Array): boolean {
    if (index !== this.snap.metadata.index || index === 0) return false;
    this.snap = { metadata: this.snap.metadata, data: new Uint8Array() };
    this.snapLoader = load;
    return true;
  }

  /** snapshotIndex is the index of the current snapshot (0 before any), without reading a released image back. */
  snapshotIndex(): number {
    return this.snap.metadata.index;
  }

  /** applySnapshot replaces the whole log with a snapshot (received from the leader, or at startup). */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    this.snap = snap;
    this.snapLoader = undefined;
    this.ents = [{ index: snap.metadata.index, term: snap.metadata.term, type: 'normal', data: new Uint8Array() }];
  }

  /** createSnapshot records the application's state at applied index `i` (log is not compacted here). */
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    const offset = this.ents[0].index;
    invariant(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.ents[i - offset].term, confState: cs }, data };
    this.snapLoader = undefined;
    return this.snap;
  }

  /**
   * createReleasedSnapshot is createSnapshot for a snapshot the host made
   * durable without ever holding its image whole (streamed into its file):
   * the image stays with the host, which `load` reads it back from, as after
   * releaseSnapshotData.
   */
  createReleasedSnapshot(i: number, cs: ConfState, load: () => Uint8Array): SnapshotMetadata {
    const { metadata } = this.createSnapshot(i, cs, new Uint8Array());
    this.snapLoader = load;
    return metadata;
  }

  /** compact discards entries before compactIndex; the host keeps some for slow followers. */
  compact(compactIndex: number): void {
    const offset = this.ents[0].index;
    if (compactIndex <= offset) throw new CompactedError();
    invariant(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy: Entry = { index: this.ents[i].index, term: this.ents[i].term, type: 'normal', data: new Uint8Array() };
    this.ents = [dummy, ...this.ents.slice(i + 1)];
  }

  /** append adds entries that are now durable, truncating any conflicting suffix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // already compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const offset = entries[0].index - this.ents[0].index;
    if (this.ents.length > offset) {
      this.ents = this.ents.slice(0, offset);
      for (const e of entries) this.ents.push(e);
    } else if (this.ents.length === offset) {
      for (const e of entries) this.ents.push(e);
    } else {
      invariant(false, `missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    }
  }
}
