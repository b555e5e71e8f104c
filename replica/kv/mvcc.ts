// The multi-version keyspace: every key's history of revisions, the global
// revision counter, compaction, the running state digest and etcd's HashKV.
// It holds the MVCC rules (what a key looks like at a revision, what
// compaction may drop) and nothing about requests or responses: txn.ts turns
// etcd requests into calls on it. It must never read a clock, draw a random
// number or do I/O (a value spilled out of the heap is read back through the
// ValueSpill it was given, spill.ts): every member must reach the same state
// from the same calls.
import zlib from 'node:zlib';
import { KeyIndex } from './key-index.ts';
import { Digest64, keyHash } from './digest.ts';
import type { KeyRange } from './keys.ts';
import { KEEP_IN_MEMORY, spilledLength, type ValueSpill } from './spill.ts';

/**
 * Revision is one version of one key. A tombstone (the key deleted at
 * `main`) has value null and zero create revision and version.
 * Invariant: a key's revisions are in strictly ascending (main, sub) order.
 * A revision never changes what it says once it is in a history (a snapshot
 * being encoded may still be reading it); only where its value is kept may
 * change, once, when it stops being its key's head: the keyspace may move the
 * value into its ValueSpill, leaving the slot of its reference (read values
 * with Keyspace.readValue, never `stored` directly; the snapshot encoder
 * alone copies a spilled one's bytes by its slot). A key's head always holds
 * its value itself. The digest contribution is not stored on a revision but
 * computed again when needed (headHash): a stored 64-bit hash took a boxed
 * number per revision, one more heap object per revision for the collector
 * to mark (docs/benchmarks.md, Optimisations, item 20).
 */
export class Revision {
  readonly main: number;
  readonly sub: number;
  readonly createRevision: number;
  readonly version: number;
  /**
   * the latin1 value, null for a tombstone, or for a spilled value its slot
   * in the keyspace's table of spill references (Keyspace.spillRef): a small
   * integer, which V8 keeps in the object, where a reference (up to 53 bits)
   * would be a heap number of its own, one more object per old revision
   */
  stored: string | null | number;

  constructor(main: number, sub: number, createRevision: number, version: number, value: string | null) {
    this.main = main;
    this.sub = sub;
    this.createRevision = createRevision;
    this.version = version;
    this.stored = value;
  }

  /** tombstone tells whether this revision deleted its key. */
  get tombstone(): boolean {
    return this.stored === null;
  }
}

/** headHash is the digest contribution of `rev` while it is `key`'s live head (never a tombstone, never spilled). */
function headHash(key: string, rev: Revision): { hi: number; lo: number } {
  return keyHash(key, rev.stored as string, rev.createRevision, rev.main, rev.version);
}

/**
 * History is a key's revisions, oldest first. A history array is only ever
 * appended to: compaction and fault injection, which drop or replace
 * revisions, build a new array and put it in the index instead, so a snapshot
 * captured earlier (the array and its length at capture, KvStore.beginSnapshot)
 * still reads exactly what it captured while the store moves on.
 */
export type History = Revision[];

/**
 * HistoryTotals sums what the keyspace holds: keys, revisions (all keys, all
 * history) and the characters of every revision's key and value (a key counts
 * once per revision). A snapshot encoder bounds its image size with them.
 */
export interface HistoryTotals {
  keys: number;
  revisions: number;
  keyAndValueChars: number;
  /** the characters of every revision's value alone */
  valueChars: number;
}

/** Found is one key as seen at some revision: its latin1 name and the revision in force. */
export interface Found {
  key: string;
  rev: Revision;
}

/** PER_REVISION_OVERHEAD approximates the bookkeeping bytes of one revision for size reports. */
const PER_REVISION_OVERHEAD = 48;

/** visibleAt returns the revision of `history` in force at revision `at`, or null if the key did not exist then. */
export function visibleAt(history: History, at: number): Revision | null {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (history[mid].main <= at) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return null;
  const rev = history[lo - 1];
  return rev.stored === null ? null : rev;
}

/** head returns a key's current revision if the key exists now. */
export function head(history: History | undefined): Revision | null {
  if (!history || history.length === 0) return null;
  const rev = history[history.length - 1];
  return rev.stored === null ? null : rev;
}

export class Keyspace {
  /** where values of revisions that are no longer their key's head go (KEEP_IN_MEMORY: nowhere) */
  readonly spill: ValueSpill;
  readonly index = new KeyIndex<History>();
  /** currentRevision is the revision of the last completed write; an empty store is at 1, like etcd. */
  currentRevision = 1;
  /** compactRevision is the last compaction's revision; -1 before any compaction, like etcd. */
  compactRevision = -1;
  /**
   * writtenRevision is the highest main revision held: currentRevision, or one
   * more while a txn's writes are pending. Reads at or above it see the head.
   */
  private writtenRevision = 1;
  /** digest covers every live key's current state (see digest.ts). */
  readonly digest = new Digest64();
  /**
   * compactable holds the keys whose history compaction might shorten (more
   * than one revision, or a tombstone), so compaction never walks clean keys.
   */
  private readonly compactable = new Set<string>();
  private revisionCount = 0;
  private bytesHeld = 0;
  private valueChars = 0;
  /** counts the times a history array in the index was replaced (compaction, rewriteValue): see spillSettled */
  private replacements = 0;
  /** the spill reference of each slot a spilled revision holds (Revision.stored) */
  private slotRefs = new Float64Array(1024);
  /** slots handed out so far; those free again; those let go while a capture was open (free once none is) */
  private slotsUsed = 0;
  private freeSlots: number[] = [];
  private slotsLetGo: number[] = [];
  /** captures not yet released: a slot let go meanwhile may still be read by their encoders */
  private openCaptures = 0;

  constructor(spill: ValueSpill = KEEP_IN_MEMORY) {
    this.spill = spill;
  }

  /** readValue returns a revision's value (null for a tombstone), reading it back from the spill if it was moved there. */
  readValue(rev: Revision): string | null {
    const s = rev.stored;
    return typeof s === 'number' ? this.spill.get(this.slotRefs[s]) : s;
  }

  /** spillRef is the spill reference of a spilled revision's slot (its `stored`). */
  spillRef(slot: number): number {
    return this.slotRefs[slot];
  }

  /** valueLength is a revision's value length in latin1 chars (0 for a tombstone), spilled or not. */
  valueLength(rev: Revision): number {
    const s = rev.stored;
    return typeof s === 'string' ? s.length : s === null ? 0 : spilledLength(this.slotRefs[s]);
  }

  /** revisions is the number of revisions held (all keys, all history). */
  get revisions(): number {
    return this.revisionCount;
  }

  /** sizeBytes approximates the memory the keyspace's data occupies. */
  get sizeBytes(): number {
    return this.bytesHeld;
  }

  /** current returns key's live head revision, or null if the key does not exist now. */
  current(key: string): Revision | null {
    return head(this.index.get(key));
  }

  /** history returns key's revisions (oldest first), or undefined if the key is not held. */
  history(key: string): History | undefined {
    return this.index.get(key);
  }

  /**
   * put writes key=value as revision (main, sub). Returns the previous live
   * revision, if any. The caller owns revision numbering; a caller that has
   * just looked the key up may pass its history to save a second lookup.
   */
  put(key: string, value: string, main: number, sub: number, history: History | undefined = this.index.get(key)): Revision | null {
    const prev = head(history);
    const rev = prev
      ? new Revision(main, sub, prev.createRevision, prev.version + 1, value)
      : new Revision(main, sub, main, 1, value);
    this.assertAfter(history, rev);
    if (prev) this.digest.subtract(headHash(key, prev));
    this.digest.add(headHash(key, rev));
    if (!history) {
      this.index.set(key, [rev], true);
    } else {
      history.push(rev);
      if (!prev) this.index.setLive(key, true);
      this.compactable.add(key);
    }
    this.account(key, rev, 1);
    if (main > this.writtenRevision) this.writtenRevision = main;
    return prev;
  }

  /** tombstone deletes a live key at revision (main, sub). Returns the revision it ended. */
  tombstone(key: string, main: number, sub: number): Revision {
    const history = this.index.get(key);
    const prev = head(history);
    if (!history || !prev) throw new Error(`keyspace: tombstone of a key that does not exist`);
    const rev = new Revision(main, sub, 0, 0, null);
    this.assertAfter(history, rev);
    this.digest.subtract(headHash(key, prev));
    history.push(rev);
    this.index.setLive(key, false);
    this.compactable.add(key);
    this.account(key, rev, 1);
    if (main > this.writtenRevision) this.writtenRevision = main;
    return prev;
  }

  /**
   * liveKeys returns the keys in range that exist now, in key order, at most
   * `limit` of them (0 = all).
   */
  liveKeys(range: KeyRange, limit: number): Found[] {
    const out: Found[] = [];
    if (range.single) {
      const rev = this.current(range.start);
      if (rev) out.push({ key: range.start, rev });
      return out;
    }
    this.index.scan(range.start, range.end, (key, history, live) => {
      if (!live) return true;
      out.push({ key, rev: history[history.length - 1] });
      return limit <= 0 || out.length < limit;
    });
    return out;
  }

  /**
   * rangeAt returns the keys in range as of revision `at` (at most `limit`,
   * 0 = all) and how many keys the whole range holds at that revision. At the
   * current revision the count comes from the index in O(log n); a past
   * revision walks the range.
   */
  rangeAt(range: KeyRange, at: number, limit: number, countOnly: boolean): { found: Found[]; count: number } {
    if (at >= this.writtenRevision && !range.single) {
      const count = this.index.countLive(range.start, range.end);
      return { found: countOnly ? [] : this.liveKeys(range, limit), count };
    }
    const found: Found[] = [];
    let count = 0;
    const take = (key: string, history: History) => {
      const rev = visibleAt(history, at);
      if (!rev) return;
      count++;
      if (!countOnly && (limit <= 0 || found.length < limit)) found.push({ key, rev });
    };
    if (range.single) {
      const history = this.index.get(range.start);
      if (history) take(range.start, history);
    } else {
      this.index.scan(range.start, range.end, (key, history) => {
        take(key, history);
      });
    }
    return { found, count };
  }

  /**
   * compact drops every revision that no read at or after `at` can see: for
   * each key, everything older than its revision in force at `at`, and that
   * one too if it is a tombstone. Keys left with no history leave the index.
   * The caller has checked `at` against the current and compacted revisions.
   */
  compact(at: number): void {
    for (const key of this.compactable) {
      const history = this.index.get(key)!;
      let inForce = -1;
      for (let i = history.length - 1; i >= 0; i--) {
        if (history[i].main <= at) {
          inForce = i;
          break;
        }
      }
      if (inForce < 0) continue;
      const keepFrom = history[inForce].tombstone ? inForce + 1 : inForce;
      if (keepFrom === 0) {
        if (history.length === 1 && !history[0].tombstone) this.compactable.delete(key);
        continue;
      }
      for (let i = 0; i < keepFrom; i++) {
        const gone = history[i];
        this.account(key, gone, -1);
        if (typeof gone.stored === 'number') this.dropSlot(gone.stored);
      }
      // A new array, never a splice: a snapshot being encoded may hold the old one (see History).
      const kept = history.slice(keepFrom);
      if (kept.length === 0) {
        this.index.delete(key);
        this.compactable.delete(key);
        continue;
      }
      this.index.set(key, kept, head(kept) !== null);
      if (kept.length === 1 && !kept[0].tombstone) this.compactable.delete(key);
    }
    this.compactRevision = at;
    this.replacements++;
  }

  /**
   * capture returns every key with its history array as they are now (a copy
   * of the index, not of the histories) and the revision they stand at: the
   * revisions of those arrays at or before it are the keyspace's state now,
   * and stay so (histories are only appended to, see History). Only between
   * writes: a txn's pending revisions would be beyond the current revision.
   * The capture holds the spill (every value it may read stays readable,
   * even once compaction or a restore let go of it) until `release` is called;
   * `replacements` is for spillSettled.
   */
  capture(): { revision: number; keys: string[][]; histories: History[][]; totals: HistoryTotals; replacements: number; release: () => void } {
    if (this.writtenRevision !== this.currentRevision) {
      throw new Error(`keyspace: capture while revision ${this.writtenRevision} is being written (current ${this.currentRevision})`);
    }
    const { keys, values } = this.index.capture();
    const totals = { keys: this.index.size, revisions: this.revisionCount, keyAndValueChars: this.bytesHeld - PER_REVISION_OVERHEAD * this.revisionCount, valueChars: this.valueChars };
    const releaseSpill = this.spill.hold();
    this.openCaptures++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      releaseSpill();
      if (--this.openCaptures === 0) {
        for (const slot of this.slotsLetGo) this.freeSlots.push(slot);
        this.slotsLetGo = [];
      }
    };
    return { revision: this.currentRevision, keys, histories: values, totals, replacements: this.replacements, release };
  }

  /**
   * hashKV is etcd's HashKV: a CRC-32 over every revision held with main
   * revision <= `at` (after compaction only the revisions still readable at or
   * after the compaction revision remain), in key order then revision order.
   * Members with the same history and compactions get the same hash.
   */
  hashKV(at: number): number {
    let crc = 0;
    let chunk: string[] = [];
    let chunkChars = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      crc = zlib.crc32(chunk.join(''), crc);
      chunk = [];
      chunkChars = 0;
    };
    this.index.scan('', null, (key, history) => {
      for (const rev of history) {
        if (rev.main > at) break;
        const value = this.readValue(rev);
        const part = value === null
          ? `${key.length},${rev.main},${rev.sub},t;${key}`
          : `${key.length},${rev.main},${rev.sub},${rev.createRevision},${rev.version},${value.length};${key}${value}`;
        chunk.push(part);
        chunkChars += part.length;
        if (chunkChars >= 1 << 16) flush();
      }
    });
    flush();
    return crc >>> 0;
  }

  /**
   * load replaces the whole keyspace with `keys` (strictly ascending) and their
   * histories, recomputing the digest and bookkeeping from the data itself,
   * and spills the values of every revision that is not its key's head. The
   * revisions must be this keyspace's alone from now on (fresh from a decoder).
   */
  load(keys: string[], histories: History[], currentRevision: number, compactRevision: number): void {
    const live = histories.map((h) => head(h) !== null);
    this.index.bulkLoad(keys, histories, live);
    this.currentRevision = currentRevision;
    this.writtenRevision = currentRevision;
    this.compactRevision = compactRevision;
    this.digest.reset();
    this.compactable.clear();
    this.revisionCount = 0;
    this.bytesHeld = 0;
    this.valueChars = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const history = histories[i];
      for (let j = 0; j < history.length; j++) {
        const rev = history[j];
        this.account(key, rev, 1);
        if (j < history.length - 1) this.spillOut(rev);
      }
      const cur = head(history);
      if (cur) this.digest.add(headHash(key, cur));
      if (history.length > 1 || !cur) this.compactable.add(key);
    }
  }

  /**
   * rewriteValue replaces a live key's current value (test-only fault
   * injection), as a new head revision in a copy of the history (see History).
   */
  rewriteValue(key: string, value: string): boolean {
    const history = this.index.get(key);
    const rev = head(history);
    if (!history || !rev) return false;
    this.digest.subtract(headHash(key, rev));
    this.bytesHeld += value.length - this.valueLength(rev);
    this.valueChars += value.length - this.valueLength(rev);
    const rewritten = new Revision(rev.main, rev.sub, rev.createRevision, rev.version, value);
    this.digest.add(headHash(key, rewritten));
    const copy = history.slice();
    copy[copy.length - 1] = rewritten;
    this.index.set(key, copy, true);
    this.replacements++;
    return true;
  }

  /** recomputeDigest recomputes the digest from scratch (O(n)); for tests and audits. */
  recomputeDigest(): string {
    const fresh = new Digest64();
    this.index.scan('', null, (key, history, live) => {
      if (!live) return;
      fresh.add(headHash(key, history[history.length - 1]));
    });
    return fresh.hex();
  }

  private account(key: string, rev: Revision, sign: 1 | -1): void {
    const length = this.valueLength(rev);
    this.revisionCount += sign;
    this.bytesHeld += sign * (key.length + length + PER_REVISION_OVERHEAD);
    this.valueChars += sign * length;
  }

  /**
   * spillSettled moves the values of `key`'s revisions other than its head
   * into the spill, if `history` (from a capture with `replacements`) is
   * still the key's history in the index: a snapshot encoder calls it for
   * each key it has written, so that what one encode spills lies in key
   * order, and the next encode, walking the keys in the same order, reads it
   * back sequentially. Values are not spilled when overwritten: they wait in
   * the heap for the next encode. A history replaced since the capture
   * (compaction, rewriteValue) is left alone: its revisions may no longer be
   * the keyspace's, and a value spilled for them would never be dropped.
   */
  spillSettled(key: string, history: History, replacements: number): void {
    if (history.length < 2) return;
    if (replacements !== this.replacements && this.index.get(key) !== history) return;
    // Spilled by an earlier encode (or refused), and so is everything older: start after it.
    let from = history.length - 1;
    while (from > 0 && typeof history[from - 1].stored !== 'number') from--;
    for (let j = from; j < history.length - 1; j++) this.spillOut(history[j]);
  }

  /** spillOut moves the value of `rev`, no longer its key's head, into the spill if the spill takes it. */
  private spillOut(rev: Revision): void {
    const s = rev.stored;
    if (typeof s !== 'string') return;
    const ref = this.spill.put(s);
    if (ref === undefined) return;
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.slotsUsed++;
      if (slot === this.slotRefs.length) {
        const grown = new Float64Array(this.slotRefs.length * 2);
        grown.set(this.slotRefs);
        this.slotRefs = grown;
      }
    }
    this.slotRefs[slot] = ref;
    rev.stored = slot;
  }

  /**
   * dropSlot tells the spill a spilled value is no longer referred to
   * (compaction removed its revision) and frees its slot, once no capture
   * that may still read it is open.
   */
  private dropSlot(slot: number): void {
    this.spill.drop(this.slotRefs[slot]);
    if (this.openCaptures > 0) this.slotsLetGo.push(slot);
    else this.freeSlots.push(slot);
  }

  private assertAfter(history: History | undefined, rev: Revision): void {
    if (!history || history.length === 0) return;
    const last = history[history.length - 1];
    if (last.main > rev.main || (last.main === rev.main && last.sub >= rev.sub)) {
      throw new Error(`keyspace: revision ${rev.main}.${rev.sub} is not after ${last.main}.${last.sub}`);
    }
  }
}
