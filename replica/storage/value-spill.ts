// FileSpill: the ValueSpill a member gives its KV store (replica/kv/spill.ts).
// The values of revisions that are no longer their key's head are copied into
// 1 MiB chunks, each chunk written (asynchronously, off the loop) to a segment
// file under <data-dir>/member/spill once full, and read back with a pread
// when an old revision is read or a snapshot encoded (a snapshot encode spills
// in key order into segments of its own, and the next one reads them back in
// that order, a block at a time). The heap then holds
// each key's current value and, per old revision, a number instead of a
// string, so a long history costs disk (page cache the kernel may drop), not
// heap the collector marks and moves.
// The files are a cache of what the snapshots and the WAL hold: wiped when a
// member opens them, never fsynced, never read after a restart. A segment file
// is removed once nothing refers to its values (compaction dropped them, or a
// restore replaced the keyspace) and no snapshot encoder holds them.
// It must never lose a value it handed a reference for: a chunk whose write
// failed stays in memory for good and spilling stops (the store goes on with
// its history in the heap, as without a spill); a read that fails throws.
import fs from 'node:fs';
import { Buffer } from 'node:buffer';
import path from 'node:path';
import { layoutOf } from './layout.ts';
import { MAX_SPILLED_LENGTH, MAX_SPILL_POSITION, spillRef, spilledLength, spilledPosition, type ValueSpill } from '../kv/index.ts';

/** SPILL_CHUNK_BYTES: values are gathered in memory this many bytes at a time, then written out at once. */
export const SPILL_CHUNK_BYTES = 1 << 20;
/** SPILL_SEGMENT_BYTES: the size of one segment file's address range (a multiple of the chunk size); 256 of them fit the 4 GiB of references. */
export const SPILL_SEGMENT_BYTES = 16 << 20;
/** SPILL_READ_AHEAD_BYTES: what one read takes from a segment read in order (a snapshot encode reads back what the last one spilled). */
export const SPILL_READ_AHEAD_BYTES = 64 << 10;

/** openValueSpill opens a data dir's spill (its member/spill folder, wiped); take the data dir's lock first (openStorage). */
export function openValueSpill(dataDir: string, options: FileSpillOptions = {}): FileSpill {
  return FileSpill.open(layoutOf(path.resolve(dataDir)).spillDir, options);
}

export interface FileSpillOptions {
  chunkBytes?: number;
  segmentBytes?: number;
  readAheadBytes?: number;
  /** told of a write or remove that failed (spilling stops after a failed write); for the member's log */
  onError?: (err: Error, what: string) => void;
}

/** FileSpillStats: what the spill holds, for metrics and status. */
export interface FileSpillStats {
  /** bytes of values the store still refers to */
  liveBytes: number;
  /** segment files open (some may only wait for a hold to end) */
  segments: number;
  /** chunks in memory: the one being filled, those being written, those whose write failed */
  chunksInMemory: number;
  /** why spilling stopped, if it did */
  stopped: string | undefined;
}

interface Segment {
  slot: number;
  fd: number;
  file: string;
  /** chunks of the segment started so far */
  chunks: number;
  /** bytes of values in the segment the store still refers to */
  live: number;
  /** a restore replaced the keyspace: nothing in it is referred to any more */
  retired: boolean;
  /** chunk writes under way */
  writing: number;
  /** where the last read from the file ended (a read starting there, or a little after, is in order) */
  readEnd: number;
  /** bytes read ahead from the file, at `aheadAt` in the segment (while a hold is open) */
  ahead: Buffer | undefined;
  aheadAt: number;
  aheadLength: number;
}

interface Chunk {
  seg: Segment;
  /** the chunk's number in the whole address space (position / chunk size) */
  no: number;
  buf: Buffer;
  used: number;
}

export class FileSpill implements ValueSpill {
  private readonly dir: string;
  private readonly chunkBytes: number;
  private readonly segmentBytes: number;
  private readonly readAheadBytes: number;
  /** the next chunk goes into a new segment (a hold began: an encode is about to spill in key order) */
  private freshSegment = false;
  private readonly onError: (err: Error, what: string) => void;
  private readonly segments = new Map<number, Segment>();
  /** chunks still in memory by number: the current one, those being written, those whose write failed */
  private readonly inMemory = new Map<number, Chunk>();
  private current: Chunk | undefined;
  private readonly spare: Buffer[] = [];
  private readonly scratch: Buffer;
  /** where locate found the last value read */
  private located: Buffer | undefined;
  private holds = 0;
  private liveBytes = 0;
  private stopped: string | undefined;
  private closed = false;
  private writesInFlight = 0;
  private writesDrained: (() => void) | undefined;

  /** open wipes `dir` (whatever an earlier run left there is stale) and starts an empty spill in it. */
  static open(dir: string, options: FileSpillOptions = {}): FileSpill {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return new FileSpill(dir, options);
  }

  private constructor(dir: string, options: FileSpillOptions) {
    this.dir = dir;
    this.chunkBytes = options.chunkBytes ?? SPILL_CHUNK_BYTES;
    this.segmentBytes = options.segmentBytes ?? SPILL_SEGMENT_BYTES;
    this.readAheadBytes = options.readAheadBytes ?? SPILL_READ_AHEAD_BYTES;
    if (!(this.chunkBytes > 0) || this.segmentBytes % this.chunkBytes !== 0 || this.segmentBytes > MAX_SPILL_POSITION + 1) {
      throw new Error(`value spill: the segment size (${this.segmentBytes}) must be a multiple of the chunk size (${this.chunkBytes}), at most 4 GiB`);
    }
    this.onError = options.onError ?? (() => {});
    this.scratch = Buffer.allocUnsafeSlow(Math.min(this.chunkBytes, 64 << 10));
  }

  put(value: string): number | undefined {
    const length = value.length;
    if (length === 0 || length > this.chunkBytes || length > MAX_SPILLED_LENGTH || this.stopped !== undefined || this.closed) return undefined;
    let chunk = this.current;
    if (!chunk || chunk.used + length > this.chunkBytes || this.freshSegment) {
      if (chunk) this.writeOut(chunk);
      chunk = this.startChunk(chunk?.seg);
      if (!chunk) return undefined;
    }
    const at = chunk.used;
    chunk.buf.write(value, at, length, 'latin1');
    chunk.used += length;
    chunk.seg.live += length;
    this.liveBytes += length;
    return spillRef(chunk.no * this.chunkBytes + at, length);
  }

  get(ref: number): string {
    const at = this.locate(ref);
    return this.located!.toString('latin1', at, at + spilledLength(ref));
  }

  copyInto(ref: number, into: Uint8Array, at: number): void {
    const from = this.locate(ref);
    this.located!.copy(into, at, from, from + spilledLength(ref));
  }

  /**
   * locate finds the bytes of the value under `ref`: they start at the
   * returned offset of `located` (a chunk still in memory, a block read
   * ahead, or the scratch buffer), valid until the next call.
   */
  private locate(ref: number): number {
    if (this.closed) throw new Error('value spill: read after close');
    const length = spilledLength(ref);
    const position = spilledPosition(ref);
    const chunk = this.inMemory.get(Math.floor(position / this.chunkBytes));
    if (chunk) {
      this.located = chunk.buf;
      return position % this.chunkBytes;
    }
    const seg = this.segments.get(Math.floor(position / this.segmentBytes));
    if (!seg) throw new Error(`value spill: reference ${ref} points into a segment that is gone`);
    const offset = position % this.segmentBytes;
    const ahead = seg.ahead;
    if (ahead && offset >= seg.aheadAt && offset + length <= seg.aheadAt + seg.aheadLength) {
      this.located = ahead;
      return offset - seg.aheadAt;
    }
    // Reads in order while a hold is open (a snapshot encode) take a block at a time.
    const inOrder = this.holds > 0 && offset >= seg.readEnd && offset - seg.readEnd < this.readAheadBytes && length < this.readAheadBytes;
    seg.readEnd = offset + length;
    // In order, and a block would reach past the value (no chunk still in memory before its end): read the block.
    const want = inOrder ? Math.min(this.readAheadBytes, this.writtenEnd(seg) - offset) : 0;
    if (want >= length) {
      // Never past a chunk still in memory: its bytes are not (all) in the file yet, and the block would keep them stale.
      const buf = (seg.ahead ??= Buffer.allocUnsafeSlow(this.readAheadBytes));
      const n = fs.readSync(seg.fd, buf, 0, want, offset);
      if (n < length) throw new Error(`value spill: read ${n} of ${length} bytes at ${offset} of ${seg.file}`);
      seg.aheadAt = offset;
      seg.aheadLength = n;
      this.located = buf;
      return 0;
    }
    const buf = length <= this.scratch.length ? this.scratch : Buffer.allocUnsafe(length);
    const n = fs.readSync(seg.fd, buf, 0, length, offset);
    if (n !== length) throw new Error(`value spill: read ${n} of ${length} bytes at ${offset} of ${seg.file}`);
    this.located = buf;
    return 0;
  }

  drop(ref: number): void {
    const seg = this.segments.get(Math.floor(spilledPosition(ref) / this.segmentBytes));
    if (!seg) throw new Error(`value spill: dropped reference ${ref} points into a segment that is gone`);
    const length = spilledLength(ref);
    seg.live -= length;
    if (!seg.retired) this.liveBytes -= length;
    if (seg.live === 0) this.freeIfUnused(seg);
  }

  retireAll(): void {
    if (this.current) {
      this.writeOut(this.current);
      this.current = undefined;
    }
    for (const seg of this.segments.values()) seg.retired = true;
    this.liveBytes = 0;
    for (const seg of [...this.segments.values()]) this.freeIfUnused(seg);
  }

  /**
   * hold also starts the next chunk in a new segment: a hold is a capture,
   * whose encode spills in key order (Keyspace.spillSettled), and the next
   * encode reads that segment in order, a block at a time.
   */
  hold(): () => void {
    this.holds++;
    this.freshSegment = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0) return;
      for (const seg of [...this.segments.values()]) {
        seg.ahead = undefined;
        this.freeIfUnused(seg);
      }
    };
  }

  stats(): FileSpillStats {
    return { liveBytes: this.liveBytes, segments: this.segments.size, chunksInMemory: this.inMemory.size, stopped: this.stopped };
  }

  /** close waits for the writes under way, then closes and removes every file. Nothing may be read after. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.writesInFlight > 0) await new Promise<void>((resolve) => (this.writesDrained = resolve));
    for (const seg of this.segments.values()) this.closeFd(seg);
    this.segments.clear();
    this.inMemory.clear();
    this.current = undefined;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** startChunk begins the next chunk after one in `last`, in a new segment when that one is full; undefined when no slot is free. */
  private startChunk(last: Segment | undefined): Chunk | undefined {
    let seg = last && !last.retired && !this.freshSegment && last.chunks < this.segmentBytes / this.chunkBytes ? last : undefined;
    this.freshSegment = false;
    if (!seg) {
      seg = this.openSegment();
      if (last && last.live === 0) this.freeIfUnused(last);
      if (!seg) return undefined;
    }
    const chunk: Chunk = {
      seg,
      no: (seg.slot * this.segmentBytes) / this.chunkBytes + seg.chunks,
      buf: this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes),
      used: 0,
    };
    seg.chunks++;
    this.inMemory.set(chunk.no, chunk);
    this.current = chunk;
    return chunk;
  }

  private openSegment(): Segment | undefined {
    const slots = Math.floor((MAX_SPILL_POSITION + 1) / this.segmentBytes);
    let slot = 0;
    while (slot < slots && this.segments.has(slot)) slot++;
    if (slot === slots) return undefined; // every slot in use: values stay in memory until one frees
    const file = `${this.dir}/${slot.toString(16).padStart(4, '0')}.spill`;
    let fd: number;
    try {
      fd = fs.openSync(file, 'w+');
    } catch (e) {
      this.stop(e as Error, `open ${file}`);
      return undefined;
    }
    const seg: Segment = { slot, fd, file, chunks: 0, live: 0, retired: false, writing: 0, readEnd: 0, ahead: undefined, aheadAt: 0, aheadLength: 0 };
    this.segments.set(slot, seg);
    return seg;
  }

  /** writeOut writes a full (or retired) chunk to its segment; it stays readable in memory until the write is done. */
  private writeOut(chunk: Chunk): void {
    if (chunk === this.current) this.current = undefined;
    const seg = chunk.seg;
    seg.writing++;
    this.writesInFlight++;
    fs.write(seg.fd, chunk.buf, 0, chunk.used, (chunk.no * this.chunkBytes) % this.segmentBytes, (err, written) => {
      seg.writing--;
      if (!err && written !== chunk.used) err = Object.assign(new Error(`short write: ${written} of ${chunk.used} bytes`), { code: 'ESHORTWRITE' });
      if (err) {
        // The chunk stays in memory for good: its references must keep reading.
        this.stop(err, `write ${seg.file}`);
      } else if (this.inMemory.get(chunk.no) === chunk) {
        this.inMemory.delete(chunk.no);
        if (this.spare.length < 2) this.spare.push(chunk.buf);
      }
      if (--this.writesInFlight === 0) this.writesDrained?.();
      if (!this.closed) this.freeIfUnused(seg);
    });
  }

  /** writtenEnd is where the part of `seg` whose chunks are all written out ends (the first chunk still in memory). */
  private writtenEnd(seg: Segment): number {
    let end = seg.chunks * this.chunkBytes;
    for (const chunk of this.inMemory.values()) {
      if (chunk.seg === seg) end = Math.min(end, (chunk.no * this.chunkBytes) % this.segmentBytes);
    }
    return end;
  }

  /** freeIfUnused removes a segment nothing refers to, once no write is under way in it and no hold is open. */
  private freeIfUnused(seg: Segment): void {
    if (!(seg.retired || seg.live === 0) || seg === this.current?.seg || seg.writing > 0 || this.holds > 0 || this.closed) return;
    if (this.segments.get(seg.slot) !== seg) return;
    this.segments.delete(seg.slot);
    for (const [no, chunk] of this.inMemory) if (chunk.seg === seg) this.inMemory.delete(no);
    this.closeFd(seg);
    try {
      fs.unlinkSync(seg.file);
    } catch (e) {
      this.onError(e as Error, `remove ${seg.file}`);
    }
  }

  private closeFd(seg: Segment): void {
    try {
      fs.closeSync(seg.fd);
    } catch (e) {
      this.onError(e as Error, `close ${seg.file}`);
    }
  }

  private stop(err: Error, what: string): void {
    if (this.stopped === undefined) this.stopped = `${what}: ${err.message}`;
    this.onError(err, what);
  }
}
