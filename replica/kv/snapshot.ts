// The store's snapshot format: a compact, versioned, CRC-checked binary image
// of the whole state machine (applied index, revisions, recent checkpoints,
// every key's full history) that raft ships to a lagging member and storage
// writes to disk. Layout (version 1), integers as unsigned LEB128 varints:
//
//   "RKVS" u8(version=1)
//   appliedIndex currentRevision (compactRevision+1)
//   checkpointCount { index revision digestHi:u32be digestLo:u32be }*
//   keyCount { keyLen key revCount { main sub kind:u8 [createRevision version valueLen value] }* }*
//   crc32:u32be            -- zlib CRC-32 of every byte before it
//
// kind is 0 for a tombstone, 1 for a live revision (which carries the bracket).
// Keys are in strictly ascending byte order. Decoding checks the checksum
// first and every bound after, and must never return a partial state.
//
// A delta image (version 2) holds what a whole one holds except the
// revisions at or before the image it extends (its base revision):
//
//   "RKVS" u8(version=2) baseRevision
//   then as version 1, every key listed, its revCount that of its new revisions (may be 0)
//
// It is never restored alone: image-merge.ts lays it onto the image it
// extends, byte for byte the whole image an encode would have written.
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import { Revision } from './mvcc.ts';
import type { History, HistoryTotals } from './mvcc.ts';
import type { Checkpoint } from './types.ts';

const MAGIC = 'RKVS';
const FORMAT_VERSION = 1;
/** the version byte of a delta image (see the top of this file) */
export const DELTA_FORMAT_VERSION = 2;

/** SnapshotContents is everything a snapshot holds. */
export interface SnapshotContents {
  appliedIndex: number;
  currentRevision: number;
  compactRevision: number;
  checkpoints: Checkpoint[];
  /** keys in strictly ascending order (latin1), with histories[i] the history of keys[i]. */
  keys: string[];
  histories: History[];
}

/**
 * SnapshotSource is what the encoder reads: the header fields and the keys
 * with their histories in chunks (a capture copies the key index leaf by
 * leaf). Of each history only the revisions at or before currentRevision are
 * written: a capture taken at currentRevision holds exactly those, and the
 * store may append later revisions to the same arrays while it is encoded.
 */
export interface SnapshotSource {
  appliedIndex: number;
  currentRevision: number;
  compactRevision: number;
  checkpoints: Checkpoint[];
  /** keys in strictly ascending order across the chunks, with historyChunks[c][i] the history of keyChunks[c][i]. */
  keyChunks: string[][];
  historyChunks: History[][];
  /**
   * totals of the captured keys and histories, when known: the encoder then
   * writes in one pass into a buffer of a size bounded from them instead of
   * first walking every revision to size the image exactly (see
   * imageSizeBound); without them, or should the bound ever prove short, it
   * sizes first.
   */
  totals?: HistoryTotals;
  /**
   * a spilled value's length and bytes, by the slot its revision holds
   * (Revision.stored): copyInto writes them into the image at `at`
   * (ValueSpill.copyInto, no string made); without it every value must be in memory
   */
  spilled?: SpilledValues;
  /** lets go of what the capture holds (its hold on the spill); the encoder calls it once, from close() */
  release?: () => void;
  /** told of each key once its history is written (not while sizing): the store spills its old values then (Keyspace.spillSettled) */
  settled?: (key: string, history: History) => void;
  /**
   * an image an earlier encode of the same keyspace wrote (its layout) and a
   * way to read it back: a key whose revisions there are still the first of
   * its history has them copied as bytes instead of encoded again (see
   * SnapshotBase). The image is the same byte for byte with or without it.
   */
  base?: SnapshotBase;
  /** what the store says identifies this keyspace and its histories' arrays; kept in the layout (ImageLayout.tag) */
  tag?: unknown;
  /**
   * makes the image a delta (version 2): only the revisions after this
   * earlier capture's revision are written. Only for a capture of the same
   * keyspace whose histories were only appended to since (the store checks
   * the tag); never with a base.
   */
  since?: DeltaBase;
}

/**
 * DeltaBase is what a later delta image of the same store starts after: a
 * capture's tag, revision, compaction point and totals (an encoder's
 * deltaBase, kept by the host with the image it wrote).
 */
export interface DeltaBase {
  readonly tag: unknown;
  readonly revision: number;
  readonly compactRevision: number;
  readonly totals: HistoryTotals;
}

/**
 * ImageLayout says where an encoder put each key's revisions in the image it
 * wrote, so that the next encode can copy them instead of encoding them again
 * (a history only grows between two encodes, unless compaction or a restore
 * replaced it). Indexed by the key's place in the image.
 */
export interface ImageLayout {
  /** the source's tag: the store uses a layout only for the keyspace state it was made from */
  readonly tag: unknown;
  /** the image's keys in ascending order, in chunks as captured */
  readonly keyChunks: string[][];
  /** per key: where its first revision's bytes start in the image, and how many bytes its revisions take */
  readonly offsets: Float64Array;
  readonly lengths: Uint32Array;
  /** per key: how many revisions (0: not to be copied), and the main revision of the last */
  readonly counts: Uint32Array;
  readonly lastMain: Float64Array;
  /** the image's size, checksum included */
  readonly imageBytes: number;
}

/** ImageReader reads an earlier image back (the host's I/O: its snapshot file). */
export interface ImageReader {
  /** rewind says the next copies start from the image's beginning again (an encode started over) */
  rewind(): void;
  /** copy writes `length` bytes of the image from `offset` into `into` at `at`; offsets mostly ascend */
  copy(offset: number, length: number, into: Uint8Array, at: number): void;
  /** verify checks, once every copy is made, that the image read is the one written (its checksum); throws if not */
  verify(): void;
  /** close lets go of the image (called once, when the encoder closes) */
  close(): void;
}

/** SnapshotBase is an earlier image to copy revisions from: its layout and its reader. */
export interface SnapshotBase {
  layout: ImageLayout;
  reader: ImageReader;
}

/**
 * SnapshotBaseError: reading the base image failed or it proved not to be
 * the image its layout describes (its file damaged). The encode must start
 * over without a base (SnapshotEncoder.dropBase); the store is not at fault.
 */
export class SnapshotBaseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`kv snapshot: the base image cannot be used: ${message}`, options);
    this.name = 'SnapshotBaseError';
  }
}

/** asBaseError is what the base's reader threw, as a SnapshotBaseError (`what` says what was being read). */
function asBaseError(e: unknown, what: string): SnapshotBaseError {
  if (e instanceof SnapshotBaseError) return e;
  return new SnapshotBaseError(`${what}${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/** SpilledValues reads spilled values by their slot (see SnapshotSource.spilled). */
export interface SpilledValues {
  length(slot: number): number;
  copyInto(slot: number, into: Uint8Array, at: number): void;
}

/** NO_SPILL is what a source that spills nothing reads spilled values with. */
const NO_SPILL: SpilledValues = {
  length: () => {
    throw new Error('kv snapshot: a spilled value, but the source cannot read spilled values');
  },
  copyInto: () => {
    throw new Error('kv snapshot: a spilled value, but the source cannot read spilled values');
  },
};

/**
 * Worst cases of the format, per item: a varint of a safe integer takes at
 * most 8 bytes. A key: its length varint, its revision count. A revision:
 * main, sub, kind, and for a live one create revision, version and the value's
 * length varint.
 */
const MAX_VARINT_BYTES = 8;
const MAX_KEY_OVERHEAD = 2 * MAX_VARINT_BYTES;
const MAX_REVISION_OVERHEAD = 5 * MAX_VARINT_BYTES + 1;

/**
 * imageSizeBound is an upper bound of the image size (checksum included) for
 * a source with these totals: what the worst cases above allow. The slack
 * (~10 bytes per revision in practice) is never written, so the pages behind
 * it are never touched.
 */
function imageSizeBound(src: SnapshotSource, totals: HistoryTotals): number {
  const header = MAGIC.length + 1 + 6 * MAX_VARINT_BYTES + src.checkpoints.length * (2 * MAX_VARINT_BYTES + 8);
  const since = src.since;
  if (since) {
    // Every key is listed; the key characters of all revisions bound those of the keys.
    const keyChars = totals.keyAndValueChars - totals.valueChars;
    const revisions = totals.revisions - since.totals.revisions;
    const valueChars = totals.valueChars - since.totals.valueChars;
    return header + totals.keys * MAX_KEY_OVERHEAD + keyChars + revisions * MAX_REVISION_OVERHEAD + valueChars + 4;
  }
  return header + totals.keys * MAX_KEY_OVERHEAD + totals.revisions * MAX_REVISION_OVERHEAD + totals.keyAndValueChars + 4;
}

/**
 * Best cases of the format: a varint takes at least one byte. A key: its
 * length and revision count. A revision: main, sub, kind (a live one more,
 * which the lower bound leaves out).
 */
const MIN_KEY_OVERHEAD = 2;
const MIN_REVISION_OVERHEAD = 3;

/**
 * imageSizeFloor is a lower bound of the image size (checksum included) for
 * a source with these totals: what the best cases above allow, every value's
 * characters, none of the keys' (the totals count a key's once per revision,
 * the image once per key).
 */
function imageSizeFloor(src: SnapshotSource, totals: HistoryTotals): number {
  const since = src.since;
  const header = MAGIC.length + 1 + (since ? 6 : 5) + src.checkpoints.length * (2 + 8);
  const revisions = since ? totals.revisions - since.totals.revisions : totals.revisions;
  const valueChars = since ? totals.valueChars - since.totals.valueChars : totals.valueChars;
  return header + totals.keys * MIN_KEY_OVERHEAD + revisions * MIN_REVISION_OVERHEAD + valueChars + 4;
}

/** Sink is where the encoder writes: first a Sizer to learn the exact size, then a Writer. */
interface Sink {
  uvarint(value: number): void;
  u8(value: number): void;
  u32(value: number): void;
  latin1(value: string): void;
  /** spilled writes a spilled value as latin1 would its string, its bytes read from `values` */
  spilled(slot: number, values: SpilledValues): void;
  /** copied writes `length` bytes of the base image from `offset` */
  copied(offset: number, length: number, reader: ImageReader): void;
  /** written is how many bytes of the image are written so far (0 while sizing) */
  readonly written: number;
}

function varintSize(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

class Sizer implements Sink {
  size = 0;

  uvarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`kv snapshot: cannot encode ${value} as an unsigned integer`);
    this.size += varintSize(value);
  }

  u8(): void {
    this.size += 1;
  }

  u32(): void {
    this.size += 4;
  }

  latin1(value: string): void {
    this.size += varintSize(value.length) + value.length;
  }

  spilled(slot: number, values: SpilledValues): void {
    const length = values.length(slot);
    this.size += varintSize(length) + length;
  }

  copied(_offset: number, length: number): void {
    this.size += length;
  }

  get written(): number {
    return 0;
  }
}

/**
 * Writer fills one buffer (no chunking, no copies): of the exact size after a
 * sizing pass, or of an upper bound (`bounded`), in which case the image is
 * the written prefix. A bound that proves short is detected, never written
 * past: bytes that do not fit are dropped and `overflowed` turns true.
 */
class Writer implements Sink {
  private buf: Buffer;
  private readonly start: number;
  private readonly bounded: boolean;
  private pos: number;
  /** the CRC-32 of the image bytes before crcTo, folded in slice by slice (see checksum) */
  private crc = 0;
  private crcTo: number;
  /** how many bytes drain handed out before the buffer's current ones */
  private drained = 0;

  constructor(size: number, headroom = 0, bounded = false) {
    this.buf = Buffer.allocUnsafe(headroom + size);
    this.start = headroom;
    this.bounded = bounded;
    this.pos = headroom;
    this.crcTo = headroom;
  }

  /** position is where the next byte goes (in a chunked encode: since the last drain). */
  get position(): number {
    return this.pos;
  }

  /**
   * rollback forgets what was written from `to` on: a key that did not fit a
   * chunk, written again after the chunk is drained. `to` is never before
   * the checksummed bytes (checksum is called between keys only).
   */
  rollback(to: number): void {
    this.pos = to;
  }

  /** ensure makes the (empty) buffer hold `size` bytes and the checksum: for a key larger than a chunk. */
  ensure(size: number): void {
    if (this.pos !== this.start) throw new Error('kv snapshot: only an empty chunk can grow');
    if (this.buf.length - this.start < size + 4) this.buf = Buffer.allocUnsafe(this.start + size + 4);
  }

  /**
   * drain folds what was written into the checksum and hands it out, emptying
   * the buffer: the view is valid until the next write. A buffer grown past
   * `size` (ensure) is dropped for a new one of that size.
   */
  drain(size: number): Uint8Array {
    this.checksum();
    const out = this.buf.subarray(this.start, this.pos);
    this.drained += out.length;
    if (this.buf.length - this.start > size + 4) this.buf = Buffer.allocUnsafe(this.start + size + 4);
    this.pos = this.start;
    this.crcTo = this.start;
    return out;
  }

  /** seal appends the CRC-32 of every byte written before it (a chunked encode's end; finish does it for a whole image). */
  seal(): void {
    if (this.overflowed) throw new Error('kv snapshot: no room left for the checksum');
    this.checksum();
    this.buf.writeUInt32BE(this.crc >>> 0, this.pos);
    this.pos += 4;
    this.crcTo = this.pos;
  }

  /** checksum folds the bytes written since the last call into the running CRC-32. */
  checksum(): void {
    if (this.pos === this.crcTo || this.overflowed) return;
    this.crc = zlib.crc32(this.buf.subarray(this.crcTo, this.pos), this.crc);
    this.crcTo = this.pos;
  }

  uvarint(value: number): void {
    const buf = this.buf;
    while (value >= 0x80) {
      buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buf[this.pos++] = value;
  }

  u8(value: number): void {
    this.buf[this.pos++] = value;
  }

  /** overflowed: the image did not fit the buffer (only a bounded writer can overflow; its bytes are then unusable). */
  get overflowed(): boolean {
    return this.pos > this.buf.length - 4;
  }

  u32(value: number): void {
    if (this.pos + 4 <= this.buf.length) this.buf.writeUInt32BE(value >>> 0, this.pos);
    this.pos += 4;
  }

  latin1(value: string): void {
    this.uvarint(value.length);
    if (value.length < 64) {
      // Short strings: a JS loop beats a call into the runtime.
      const buf = this.buf;
      for (let i = 0; i < value.length; i++) buf[this.pos++] = value.charCodeAt(i);
    } else {
      // Past the end buf.write writes what fits; pos moves on regardless, so an overflow shows.
      const room = this.buf.length - this.pos;
      if (room > 0) this.buf.write(value, this.pos, Math.min(value.length, room), 'latin1');
      this.pos += value.length;
    }
  }

  spilled(slot: number, values: SpilledValues): void {
    const length = values.length(slot);
    this.uvarint(length);
    // Past the end nothing is copied; pos moves on regardless, so an overflow shows.
    if (this.pos + length <= this.buf.length) values.copyInto(slot, this.buf, this.pos);
    this.pos += length;
  }

  copied(offset: number, length: number, reader: ImageReader): void {
    if (this.pos + length <= this.buf.length) {
      try {
        reader.copy(offset, length, this.buf, this.pos);
      } catch (e) {
        throw asBaseError(e, `reading ${length} bytes at ${offset}: `);
      }
    }
    this.pos += length;
  }

  get written(): number {
    return this.drained + this.pos - this.start;
  }
  /** finish appends the CRC-32 of everything written and returns the buffer (headroom, then the image). */
  finish(): Uint8Array {
    if (this.overflowed || (!this.bounded && this.pos !== this.buf.length - 4)) {
      throw new Error(`kv snapshot: sized ${this.buf.length - 4 - this.start} bytes but wrote ${this.pos - this.start}`);
    }
    this.checksum();
    this.buf.writeUInt32BE(this.crc >>> 0, this.pos);
    return this.pos + 4 === this.buf.length ? this.buf : this.buf.subarray(0, this.pos + 4);
  }
}

/**
 * ByteReader reads an image's varints and bytes between `start` and `end`,
 * checking every bound; its errors start "kv snapshot:" (then `label`, which
 * names the image when several are read at once: image-merge.ts).
 */
export class ByteReader {
  readonly buf: Buffer;
  /** where the next read starts */
  pos: number;
  private readonly end: number;
  private readonly label: string;

  constructor(buf: Buffer, start: number, end: number, label = '') {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.label = label === '' ? '' : `${label}: `;
  }

  /** fail throws the reader's error for `problem`. */
  fail(problem: string): never {
    throw new Error(`kv snapshot: ${this.label}${problem}`);
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) this.fail(`truncated while reading ${what}`);
  }

  uvarint(what: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      this.need(1, what);
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 0x80;
    }
    return this.fail(`${what} is not a valid integer`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** skip moves past `n` bytes of `what`. */
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  latin1(what: string): string {
    const len = this.uvarint(`${what} length`);
    this.need(len, what);
    const s = this.buf.toString('latin1', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  get done(): boolean {
    return this.pos === this.end;
  }
}

/**
 * encodeSnapshot writes `contents` in the format above. With `headroom`, the
 * returned buffer starts with that many unwritten bytes, which belong to the
 * caller (to put its own header before the image without copying it); the
 * image is the rest. It is a SnapshotEncoder run to the end in one call.
 */
export function encodeSnapshot(contents: SnapshotContents, headroom = 0): Uint8Array {
  const { keys, histories, ...header } = contents;
  return new SnapshotEncoder({ ...header, keyChunks: [keys], historyChunks: [histories] }, headroom).encodeAll();
}

/**
 * SnapshotEncoder writes a snapshot in steps, so that a host can encode a
 * large store in slices and let other work run between them: given the
 * source's totals, one pass into a buffer of a size bounded from them (the
 * result is then a view of its written prefix); otherwise a sizing pass over
 * the keys, then a writing pass into one buffer of the exact size (the
 * checksum folded in per step either way). The bytes do not depend on how the work is
 * sliced. Between steps the source's histories may only grow by revisions
 * after its currentRevision (the store's appends); nothing else in it may change.
 *
 * With `chunkBytes` it streams instead (KvStore.streamSnapshot): the image
 * is written into one reused buffer of about that size, and handed out chunk
 * by chunk (takeChunk) whenever the buffer is full and at the end, so that
 * the image never exists whole in memory. Its size is then known only at the
 * end; sizeRange bounds it beforehand (from the totals), and sizeExactly
 * makes the encoder size it first, for a host that needs it exactly.
 */
export class SnapshotEncoder {
  private readonly source: SnapshotSource;
  private readonly keyCount: number;
  private readonly headroom: number;
  /** >0: a streaming encoder's chunk size */
  private readonly chunkBytes: number;
  private sizer: Sizer | undefined = new Sizer();
  private writer: Writer | undefined;
  /** the next key to visit in the current pass (chunk, position); chunk -1 before the header is written */
  private chunk = -1;
  private at = 0;
  private image: Uint8Array | undefined;
  private resized = false;
  /** streaming: a chunk is ready to be taken (the buffer is full, or the image complete) */
  private ready = false;
  /** streaming: the checksum is written; what is left is the last chunk */
  private sealed = false;
  /** streaming: bytes handed out by takeChunk */
  private streamed = 0;
  /** streaming, after a sizing pass: the image's exact size */
  private exactSize: number | undefined;
  private readonly spilled: SpilledValues;
  private closed = false;
  /** the earlier image revisions are copied from, until dropBase */
  private base: SnapshotBase | undefined;
  /** the base layout's key the next key is compared with: chunk, position in it, place in the image */
  private baseChunk = 0;
  private baseAt = 0;
  private basePlace = 0;
  /** the place in the image of the next key written */
  private place = 0;
  /** bytes copied from the base in this pass, and by the last writeKey (counted once the key is written for good) */
  private copiedBytes = 0;
  private keyCopied = 0;
  /** a delta image's base revision: only revisions after it are written */
  private readonly since: number | undefined;
  /** streaming: where each key's revisions go in this image (the layout, once done) */
  private readonly record: { offsets: Float64Array; lengths: Uint32Array; counts: Uint32Array; lastMain: Float64Array } | undefined;

  constructor(source: SnapshotSource, headroom = 0, chunkBytes = 0) {
    if (!Number.isSafeInteger(headroom) || headroom < 0) throw new Error(`kv snapshot: headroom must be a non-negative integer, got ${headroom}`);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 0) throw new Error(`kv snapshot: chunkBytes must be a non-negative integer, got ${chunkBytes}`);
    if (chunkBytes > 0 && headroom > 0) throw new Error('kv snapshot: a streaming encoder has no headroom');
    if (source.keyChunks.length !== source.historyChunks.length) throw new Error('kv snapshot: as many key chunks as history chunks are needed');
    let keyCount = 0;
    for (let c = 0; c < source.keyChunks.length; c++) {
      if (source.keyChunks[c].length !== source.historyChunks[c].length) throw new Error('kv snapshot: a key chunk and its history chunk differ in length');
      keyCount += source.keyChunks[c].length;
    }
    if (source.since && source.base) throw new Error('kv snapshot: a delta image copies nothing from a base image');
    if (source.since && !(source.since.revision <= source.currentRevision && source.since.compactRevision === source.compactRevision)) {
      throw new Error(`kv snapshot: a delta cannot extend revision ${source.since.revision} (compacted at ${source.since.compactRevision}) with revision ${source.currentRevision} (compacted at ${source.compactRevision})`);
    }
    this.source = source;
    this.spilled = source.spilled ?? NO_SPILL;
    this.base = source.base;
    this.since = source.since?.revision;
    this.keyCount = keyCount;
    this.headroom = headroom;
    this.chunkBytes = chunkBytes;
    if (chunkBytes > 0) {
      // Streaming: no size needed to start writing.
      this.sizer = undefined;
      this.writer = this.chunkWriter();
      // A delta's layout is of no use to a later encode: only whole images are copied from.
      this.record = source.since ? undefined : {
        offsets: new Float64Array(keyCount),
        lengths: new Uint32Array(keyCount),
        counts: new Uint32Array(keyCount),
        lastMain: new Float64Array(keyCount),
      };
    } else if (source.totals) {
      // One pass into a buffer of bounded size: no sizing walk over every revision.
      this.sizer = undefined;
      this.writer = new Writer(imageSizeBound(source, source.totals), headroom, true);
    }
  }

  /** chunkSize is a streaming encoder's buffer size: a chunk, never too small for the header. */
  private get chunkSize(): number {
    const header = MAGIC.length + 1 + 6 * MAX_VARINT_BYTES + this.source.checkpoints.length * (2 * MAX_VARINT_BYTES + 8);
    return Math.max(this.chunkBytes, header + 4);
  }

  private chunkWriter(): Writer {
    return new Writer(this.chunkSize, 0, true);
  }

  /** done tells whether the image is complete (result() returns it; a streaming encoder handed out its last chunk). */
  get done(): boolean {
    return this.image !== undefined || (this.sealed && !this.ready);
  }

  /** sizedAgain: the source's totals fell short of the image, so it was sized exactly and written again (they never should). */
  get sizedAgain(): boolean {
    return this.resized;
  }

  /**
   * sizeRange bounds the image's size (checksum included): exact once a
   * sizing pass ran, else from the source's totals; undefined when there are
   * none and the sizing pass has not run yet.
   */
  get sizeRange(): { min: number; max: number } | undefined {
    if (this.exactSize !== undefined) return { min: this.exactSize, max: this.exactSize };
    const totals = this.source.totals;
    if (!totals || this.resized) return undefined;
    return { min: imageSizeFloor(this.source, totals), max: imageSizeBound(this.source, totals) };
  }

  /**
   * sizeExactly (streaming only) starts the encode over with a sizing pass,
   * after which sizeRange is exact: before the first step, or after a host
   * found the image outside the range it was given (then sizedAgain turns
   * true). Chunks handed out before are not part of the new encode.
   */
  sizeExactly(): void {
    if (this.chunkBytes === 0) throw new Error('kv snapshot: only a streaming encoder sizes on demand');
    if (this.chunk >= 0 || this.sealed) this.resized = true;
    this.sizer = new Sizer();
    this.writer = undefined;
    this.startOver();
  }

  /**
   * dropBase (streaming only) starts the encode over without the base image
   * (its reader failed: SnapshotBaseError), every revision encoded from the
   * store. Chunks handed out before are not part of the new encode; the image
   * is the same, so a size range or exact size known before still holds.
   */
  dropBase(): void {
    if (this.chunkBytes === 0) throw new Error('kv snapshot: only a streaming encoder drops its base');
    const base = this.base;
    if (!base) return;
    this.base = undefined;
    base.reader.close();
    if (this.sizer) this.sizer = new Sizer();
    else this.writer = this.chunkWriter();
    this.startOver();
  }

  /** usesBase tells whether revisions are copied from a base image (until dropBase). */
  get usesBase(): boolean {
    return this.base !== undefined;
  }

  /** delta tells whether this image is a delta (version 2: only the revisions after SnapshotSource.since). */
  get delta(): boolean {
    return this.since !== undefined;
  }

  /** deltaBase is what a delta image of a later capture of the same store may start after: this capture (undefined without totals). */
  get deltaBase(): DeltaBase | undefined {
    const src = this.source;
    if (!src.totals) return undefined;
    return { tag: src.tag, revision: src.currentRevision, compactRevision: src.compactRevision, totals: src.totals };
  }

  /** copied is how many bytes of the image so far were copied from the base (the whole image's, once done). */
  get copied(): number {
    return this.copiedBytes;
  }

  /**
   * layout (streaming) says where this image put each key's revisions, once
   * the encode is done: give it, with a reader of the image, to the next
   * encode of the same keyspace (SnapshotSource.base).
   */
  get layout(): ImageLayout | undefined {
    const r = this.record;
    if (!r || !this.sealed || this.ready) return undefined;
    return { tag: this.source.tag, keyChunks: this.source.keyChunks, ...r, imageBytes: this.streamed };
  }

  private startOver(): void {
    this.chunk = -1;
    this.at = 0;
    this.ready = false;
    this.sealed = false;
    this.streamed = 0;
  }

  /**
   * step does at least one key's worth of work and stops once it has visited
   * about `budget` revisions (each key counts one more), or, streaming, once
   * a chunk is ready (take it before the next step). Returns true when the
   * image is complete.
   */
  step(budget: number): boolean {
    if (this.closed) throw new Error('kv snapshot: the encoder was closed');
    if (this.image || this.sealed) return true;
    if (this.ready) throw new Error('kv snapshot: take the ready chunk before the next step');
    const sink: Sink = this.sizer ?? this.writer!;
    const chunked = this.chunkBytes > 0 && this.sizer === undefined;
    const src = this.source;
    const chunks = src.keyChunks;
    const at = src.currentRevision;
    const settled = src.settled;
    if (this.chunk < 0) {
      writeHeader(sink, src, this.keyCount, this.since);
      this.chunk = 0;
      this.at = 0;
      this.place = 0;
      this.baseChunk = 0;
      this.baseAt = 0;
      this.basePlace = 0;
      this.copiedBytes = 0;
      if (sink === this.writer) this.base?.reader.rewind();
    }
    let work = 0;
    while (this.chunk < chunks.length && work < budget && !this.ready) {
      const keys = chunks[this.chunk];
      const histories = src.historyChunks[this.chunk];
      let i = this.at;
      for (; i < keys.length && work < budget; i++) {
        const mark = chunked ? this.writer!.position : 0;
        work += this.writeKey(sink, keys[i], histories[i], at);
        if (chunked && this.writer!.overflowed) {
          if (!this.makeRoom(mark)) break;
          this.writeKey(sink, keys[i], histories[i], at); // again, into the buffer grown to its size
        }
        this.place++;
        if (sink === this.writer) {
          this.copiedBytes += this.keyCopied;
          settled?.(keys[i], histories[i]);
        }
      }
      if (i < keys.length) {
        this.at = i;
      } else {
        this.chunk++;
        this.at = 0;
      }
    }
    if (this.ready) return false;
    if (!chunked && this.writer?.overflowed) {
      // The totals were short of the truth (they never should be): size exactly and write again.
      this.resized = true;
      this.writer = undefined;
      this.sizer = new Sizer();
      this.chunk = -1;
      return false;
    }
    if (this.chunk < chunks.length) {
      this.writer?.checksum();
      return false;
    }
    if (this.sizer) {
      // Sizing done: the writing pass starts with the next step.
      if (this.chunkBytes > 0) {
        this.exactSize = this.sizer.size + 4;
        this.writer = this.chunkWriter();
      } else {
        this.writer = new Writer(this.sizer.size + 4, this.headroom);
      }
      this.sizer = undefined;
      this.chunk = -1;
      return false;
    }
    if (this.base) {
      // Every copy is made: the base must prove to be the image its layout describes before this one is complete.
      try {
        this.base.reader.verify();
      } catch (e) {
        throw asBaseError(e, '');
      }
    }
    if (chunked) {
      this.writer!.seal();
      this.sealed = true;
      this.ready = true;
      return true;
    }
    this.image = this.writer!.finish();
    this.writer = undefined;
    return true;
  }

  /**
   * makeRoom handles a key that overflowed the chunk (written from `mark`):
   * it is forgotten, and either the chunk before it is ready (false: the step
   * stops; the next one writes the key again into the drained buffer) or,
   * alone in the chunk, the buffer grows to its size (true: the caller
   * writes it again at once).
   */
  private makeRoom(mark: number): boolean {
    const w = this.writer!;
    const size = w.position - mark;
    w.rollback(mark);
    if (mark > 0) {
      this.ready = true;
      return false;
    }
    w.ensure(size);
    return true;
  }

  /**
   * takeChunk (streaming) hands out the next part of the image once one is
   * ready, else undefined. The view is valid until the next step: write it
   * out first.
   */
  takeChunk(): Uint8Array | undefined {
    if (!this.ready) return undefined;
    this.ready = false;
    const out = this.writer!.drain(this.chunkSize - 4);
    this.streamed += out.length;
    if (this.sealed) {
      if (this.exactSize !== undefined && this.streamed !== this.exactSize) {
        throw new Error(`kv snapshot: sized ${this.exactSize} bytes but wrote ${this.streamed}`);
      }
      this.writer = undefined;
    }
    return out;
  }

  /** streamedBytes is how many bytes of the image takeChunk handed out so far (its size, once done). */
  get streamedBytes(): number {
    return this.streamed;
  }

  /** encodeAll runs the remaining steps at once and returns the result (for callers that need not slice the work). */
  encodeAll(): Uint8Array {
    if (this.chunkBytes > 0) throw new Error('kv snapshot: a streaming encoder has no whole image; take its chunks');
    try {
      while (!this.step(Infinity));
    } finally {
      this.close();
    }
    return this.result();
  }

  /**
   * close says no more steps will be taken (the image is complete, or the
   * encode is abandoned): what the capture held, values the store has let go
   * of meanwhile, may be freed. Idempotent; steps after it throw. A host that
   * never closes an encoder loses no data, only the space those values take.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.base?.reader.close();
    this.source.release?.();
  }

  /**
   * writeKey writes one key and the revisions of its history up to revision
   * `at` (those appended later are not part of the image), copying from the
   * base image those it holds; returns the work done (revisions encoded + 1,
   * and a revision's worth per 4 KiB copied).
   */
  private writeKey(w: Sink, key: string, history: History, at: number): number {
    let count = history.length;
    while (count > 0 && history[count - 1].main > at) count--;
    if (count === 0) throw new Error(`kv snapshot: a key has no revision at or before the snapshot's revision ${at}`);
    let from = 0;
    const since = this.since;
    if (since !== undefined) {
      // A delta: only the revisions after its base's (the last ones of the history).
      from = count;
      while (from > 0 && history[from - 1].main > since) from--;
    }
    w.latin1(key);
    w.uvarint(count - from);
    const start = w.written;
    let work = 1;
    let copied = 0;
    const base = this.base;
    if (base) {
      const j = this.baseMatch(key);
      const l = base.layout;
      // The base's revisions of this key are still the first of its history (the
      // store gives a base only while histories were only appended to): copy them.
      const n = j >= 0 ? l.counts[j] : 0;
      if (n > 0 && n <= count && history[n - 1].main === l.lastMain[j]) {
        w.copied(l.offsets[j], l.lengths[j], base.reader);
        copied = l.lengths[j];
        from = n;
        work += Math.floor(l.lengths[j] / 4096);
      }
    }
    const spilled = this.spilled;
    for (let j = from; j < count; j++) {
      const rev = history[j];
      w.uvarint(rev.main);
      w.uvarint(rev.sub);
      const value = rev.stored;
      if (value === null) {
        w.u8(0);
      } else {
        w.u8(1);
        w.uvarint(rev.createRevision);
        w.uvarint(rev.version);
        if (typeof value === 'string') w.latin1(value);
        else w.spilled(value, spilled);
      }
    }
    const r = this.record;
    if (r && w === this.writer) {
      const p = this.place;
      const length = w.written - start;
      r.offsets[p] = start;
      r.lengths[p] = length;
      r.counts[p] = length < 2 ** 32 ? count : 0; // a history of 4 GiB or more is never copied
      r.lastMain[p] = history[count - 1].main;
    }
    this.keyCopied = copied;
    return work + count - from;
  }

  /** baseMatch moves the base cursor up to `key` (keys come in ascending order) and returns its place in the base image, or -1. */
  private baseMatch(key: string): number {
    const chunks = this.base!.layout.keyChunks;
    while (this.baseChunk < chunks.length) {
      const keys = chunks[this.baseChunk];
      if (this.baseAt >= keys.length) {
        this.baseChunk++;
        this.baseAt = 0;
        continue;
      }
      const k = keys[this.baseAt];
      if (k < key) {
        this.baseAt++;
        this.basePlace++;
        continue;
      }
      return k === key ? this.basePlace : -1;
    }
    return -1;
  }

  /** result is the complete buffer (headroom, then the image); throws before the encoder is done. */
  result(): Uint8Array {
    if (!this.image) throw new Error('kv snapshot: the encoder has not finished');
    return this.image;
  }
}

function writeHeader(w: Sink, src: SnapshotSource, keyCount: number, since: number | undefined): void {
  for (let i = 0; i < MAGIC.length; i++) w.u8(MAGIC.charCodeAt(i));
  if (since === undefined) {
    w.u8(FORMAT_VERSION);
  } else {
    w.u8(DELTA_FORMAT_VERSION);
    w.uvarint(since);
  }
  w.uvarint(src.appliedIndex);
  w.uvarint(src.currentRevision);
  w.uvarint(src.compactRevision + 1);
  w.uvarint(src.checkpoints.length);
  for (const cp of src.checkpoints) {
    w.uvarint(cp.index);
    w.uvarint(cp.revision);
    w.u32(parseInt(cp.digest.slice(0, 8), 16));
    w.u32(parseInt(cp.digest.slice(8, 16), 16));
  }
  w.uvarint(keyCount);
}

/**
 * decodeSnapshot parses and validates a snapshot. It throws an Error whose
 * message starts with "kv snapshot:" and says what is wrong when the bytes are
 * corrupt, truncated, of another format or version, or break an invariant.
 */
export function decodeSnapshot(bytes: Uint8Array): SnapshotContents {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 1 + 4) throw new Error(`kv snapshot: ${buf.length} bytes is too short to be a snapshot`);
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('kv snapshot: not a replicant KV snapshot (bad magic)');
  const version = buf[MAGIC.length];
  if (version === DELTA_FORMAT_VERSION) {
    throw new Error('kv snapshot: a delta image cannot be restored alone: lay it onto the image it extends first (mergeImages)');
  }
  if (version !== FORMAT_VERSION) {
    throw new Error(`kv snapshot: format version ${version} is not supported (this build reads version ${FORMAT_VERSION})`);
  }
  const bodyEnd = buf.length - 4;
  const expected = buf.readUInt32BE(bodyEnd);
  const actual = zlib.crc32(buf.subarray(0, bodyEnd)) >>> 0;
  if (expected !== actual) {
    throw new Error(`kv snapshot: checksum mismatch (stored ${expected.toString(16)}, computed ${actual.toString(16)}): the snapshot is corrupt or truncated`);
  }
  const r = new ByteReader(buf, MAGIC.length + 1, bodyEnd);
  const appliedIndex = r.uvarint('applied index');
  const currentRevision = r.uvarint('current revision');
  const compactRevision = r.uvarint('compact revision') - 1;
  if (currentRevision < 1) throw new Error('kv snapshot: current revision must be at least 1');
  if (compactRevision > currentRevision) throw new Error('kv snapshot: compact revision is after the current revision');
  const checkpoints: Checkpoint[] = [];
  const cpCount = r.uvarint('checkpoint count');
  for (let i = 0; i < cpCount; i++) {
    const index = r.uvarint('checkpoint index');
    const revision = r.uvarint('checkpoint revision');
    const hi = r.u32('checkpoint digest');
    const lo = r.u32('checkpoint digest');
    checkpoints.push({ index, revision, digest: hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0') });
  }
  const keyCount = r.uvarint('key count');
  const keys: string[] = [];
  const histories: History[] = [];
  for (let i = 0; i < keyCount; i++) {
    const key = r.latin1('key');
    if (key.length === 0) throw new Error('kv snapshot: empty key');
    if (i > 0 && !(keys[i - 1] < key)) throw new Error('kv snapshot: keys are not in ascending order');
    const revCount = r.uvarint('revision count');
    if (revCount === 0) throw new Error('kv snapshot: a key with no revisions');
    const history: History = [];
    for (let j = 0; j < revCount; j++) {
      const main = r.uvarint('revision');
      const sub = r.uvarint('sub-revision');
      const kind = r.u8('revision kind');
      let rev: Revision;
      if (kind === 0) {
        rev = new Revision(main, sub, 0, 0, null);
      } else if (kind === 1) {
        const createRevision = r.uvarint('create revision');
        const version = r.uvarint('version');
        rev = new Revision(main, sub, createRevision, version, r.latin1('value'));
      } else {
        throw new Error(`kv snapshot: unknown revision kind ${kind}`);
      }
      const last = history[history.length - 1];
      if (last && (last.main > main || (last.main === main && last.sub >= sub))) {
        throw new Error('kv snapshot: a key\'s revisions are not in ascending order');
      }
      if (main > currentRevision) throw new Error('kv snapshot: a revision is after the current revision');
      history.push(rev);
    }
    keys.push(key);
    histories.push(history);
  }
  if (!r.done) throw new Error('kv snapshot: trailing bytes after the last key');
  return { appliedIndex, currentRevision, compactRevision, checkpoints, keys, histories };
}
