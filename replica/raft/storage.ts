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

/**
 * PACKED_BLOCK_BYTES: MemoryStorage copies entry data into blocks of this
 * size (an entry larger than a quarter of one gets a block of its own).
 */
export const PACKED_BLOCK_BYTES = 1 << 20;

const EMPTY = new Uint8Array(0);

/**
 * MemoryStorage keeps the entries since its snapshot packed: terms, types
 * and where each entry's data lies in plain arrays of small numbers, and the
 * data bytes copied into large blocks, so that the up to snapshot-count
 * entries it holds are not an object and a byte view each for the collector
 * to promote, mark and move (docs/benchmarks.md, item 31). entries() makes
 * the Entry objects afresh on each call: callers get views of the blocks,
 * which are never written again once an entry is in them (a block is
 * dropped, never reused, once compaction passed all its entries).
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: emptyConfState() }, data: new Uint8Array() };
  /** the entry standing for the snapshot (or the compaction point): index and term only */
  private offset = 0;
  private offsetTerm = 0;
  /** per entry after `offset`, in index order: term, type (0 normal, 1 confChange), block number, offset and length of its data */
  private terms: number[] = [];
  private types: number[] = [];
  private blockNos: number[] = [];
  private starts: number[] = [];
  private lengths: number[] = [];
  /** blocks[i] is block number blocksBase + i; the last is the one being filled, up to `fill` */
  private blocks: Uint8Array[] = [];
  private blocksBase = 0;
  private fill = 0;
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
    if (lo <= this.offset) throw new CompactedError();
    invariant(hi <= this.lastIndex() + 1, `entries hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    if (this.terms.length === 0) throw new UnavailableError();
    // At least one entry, then as many as fit maxSize (limitSize's rule), each made only once it is kept.
    const out: Entry[] = [];
    let size = 0;
    for (let index = lo; index < hi; index++) {
      const e = this.entryAt(index - this.offset - 1);
      size += entrySize(e);
      if (out.length > 0 && size > maxSize) break;
      out.push(e);
    }
    return out;
  }

  term(index: number): number {
    const offset = this.offset;
    if (index < offset) throw new CompactedError();
    if (index === offset) return this.offsetTerm;
    if (index - offset > this.terms.length) throw new UnavailableError();
    return this.terms[index - offset - 1];
  }

  lastIndex(): number {
    return this.offset + this.terms.length;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  /** entryAt makes the Entry at position `i` after the offset, its data a view of its block. */
  private entryAt(i: number): Entry {
    const length = this.lengths[i];
    const start = this.starts[i];
    const data = length === 0 ? EMPTY : this.blocks[this.blockNos[i] - this.blocksBase].subarray(start, start + length);
    return { term: this.terms[i], index: this.offset + 1 + i, type: this.types[i] === 1 ? 'confChange' : 'normal', data };
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
    this.offset = snap.metadata.index;
    this.offsetTerm = snap.metadata.term;
    this.truncate(0);
    this.blocks = [];
    this.fill = 0;
  }

  /** createSnapshot records the application's state at applied index `i` (log is not compacted here). */
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new SnapshotOutOfDateError();
    invariant(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = { metadata: { index: i, term: this.term(i), confState: cs }, data };
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
    const offset = this.offset;
    if (compactIndex <= offset) throw new CompactedError();
    invariant(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const n = compactIndex - offset; // entries dropped, the last of them becoming the offset
    this.offsetTerm = this.terms[n - 1];
    this.offset = compactIndex;
    for (const a of [this.terms, this.types, this.blockNos, this.starts, this.lengths]) a.splice(0, n);
    // Blocks before the first kept entry's hold nothing any more (views handed out keep their bytes alive).
    const keep = this.blockNos.length > 0 ? this.blockNos[0] : this.blocksBase + this.blocks.length - 1;
    if (keep > this.blocksBase) {
      this.blocks.splice(0, keep - this.blocksBase);
      this.blocksBase = keep;
    }
  }

  /** append adds entries that are now durable, truncating any conflicting suffix. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0].index + entries.length - 1;
    if (last < first) return; // already compacted
    if (first > entries[0].index) entries = entries.slice(first - entries[0].index);
    const at = entries[0].index - this.offset - 1; // position of the first new entry
    invariant(at <= this.terms.length, `missing log entry [last: ${this.lastIndex()}, append at: ${entries[0].index}]`);
    if (at < this.terms.length) this.truncate(at);
    for (const e of entries) this.push(e);
  }

  /** truncate forgets the entries from position `n` on (their bytes stay where they are, unused). */
  private truncate(n: number): void {
    for (const a of [this.terms, this.types, this.blockNos, this.starts, this.lengths]) a.length = n;
  }

  /** push appends one entry, copying its data into the block being filled (or a new one). */
  private push(e: Entry): void {
    const data = e.data;
    const length = data.length;
    let start = 0;
    if (length > PACKED_BLOCK_BYTES / 4) {
      // A block of its own; the next entry starts a new one, so block numbers only grow along the log.
      const own = new Uint8Array(length); // a copy even of a Buffer, whose slice() is a view
      own.set(data);
      this.blocks.push(own);
      this.fill = PACKED_BLOCK_BYTES;
    } else if (length > 0) {
      if (this.blocks.length === 0 || this.fill + length > PACKED_BLOCK_BYTES) {
        this.blocks.push(new Uint8Array(PACKED_BLOCK_BYTES));
        this.fill = 0;
      }
      start = this.fill;
      this.blocks[this.blocks.length - 1].set(data, start);
      this.fill += length;
    }
    this.terms.push(e.term);
    this.types.push(e.type === 'confChange' ? 1 : 0);
    this.blockNos.push(this.blocksBase + this.blocks.length - 1);
    this.starts.push(start);
    this.lengths.push(length);
  }
}
