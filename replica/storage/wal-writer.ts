// The WAL's append path: group commit and segment files. Buffers handed to
// enqueue() are written in order; every round takes everything queued so far,
// writes it with one (vectored) write call and, if any caller asked for it, one
// fdatasync, then resolves those callers together. A synced round starts at
// once (its write is submitted before enqueue returns); optionally (oDsync),
// when nothing unsynced precedes it on disk, its write goes through a second
// descriptor of the segment opened with O_DSYNC, which makes the bytes
// durable in the same system call (one trip to the thread pool instead of
// write + fdatasync).
// Unsynced buffers wait to ride along with the next synced round, or go out
// on their own after LAZY_WRITE_MS (so a synced round rarely finds unsynced
// bytes ahead of it and can take the one-call path). A segment that has grown past
// the limit is cut after the round: truncated to its exact length and fsynced,
// then the next segment is created as a temp file (zero-filled in the background,
// once the current one is half full, when preallocating), its header written and fsynced, renamed in
// place, and the directory fsynced. Any I/O error makes the writer unusable.
// A round's write (into the page cache) is a synchronous call, done before
// enqueue returns: a trip through libuv's thread pool costs a thread wake-up
// and a loop wake-up, more than the copy itself. In blocking mode (a
// follower's) the fdatasync is synchronous too; otherwise (a leader's) it goes
// through the pool so the loop runs on while the disk works. The O_DSYNC path
// is one pooled write that is durable on return.
// Must never resolve a sync request before its bytes are on disk (an O_DSYNC
// write covers only its own bytes: it is used only when everything before it
// is already durable), never reorder buffers, and never touch a segment other
// than the last except to delete it.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { HardState } from '../raft/types.ts';
import { StorageFailedError } from './errors.ts';
import { fsyncDir, writeAll, writeAllSync } from './fs-util.ts';
import { segmentFileName } from './layout.ts';
import type { SnapshotMarker } from './records.ts';
import { WAL_FORMAT_VERSION, encodeSegmentHeader } from './records.ts';
import type { SegmentInfo } from './recovery.ts';
import type { StorageIds, WalStats } from './types.ts';

/** CutState is where the log stands after a queued buffer: what the next segment's header must say. */
export interface CutState {
  lastIndex: number;
  lastTerm: number | undefined;
  hardState: HardState;
  marker: SnapshotMarker | undefined;
}

interface Pending {
  buf: Buffer;
  sync: boolean;
  cut: CutState;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface OpenSegment {
  info: SegmentInfo;
  fh: FileHandle;
  /** the same file opened with O_DSYNC (undefined if the file system refused): writes through it are durable on return */
  dsync: FileHandle | undefined;
  /** current file size (preallocated space included) */
  size: number;
}

interface PreparedFile {
  fh: FileHandle;
  file: string;
  size: number;
}

export interface WalWriterConfig {
  walDir: string;
  ids: StorageIds;
  segmentBytes: number;
  preallocate: boolean;
  /** write synced rounds through an O_DSYNC descriptor when nothing unsynced precedes them (StorageOptions.durableWrites) */
  oDsync: boolean;
  onFsync?: (seconds: number) => void;
}

const ZERO_CHUNK = 1 << 20;
/** LAZY_WRITE_MS bounds how long an unsynced buffer waits for a synced round to carry it before it is written alone. */
export const LAZY_WRITE_MS = 100;

/** openDsync opens `file` for durable writes (O_DSYNC) when configured; undefined otherwise or where that is refused. */
async function openDsync(cfg: WalWriterConfig, file: string): Promise<FileHandle | undefined> {
  if (!cfg.oDsync) return undefined;
  try {
    return await fsp.open(file, fs.constants.O_WRONLY | fs.constants.O_DSYNC);
  } catch {
    return undefined;
  }
}
const PREPARED_NAME = 'next.wal.tmp';

/** prepareSegmentFile creates the next segment as a temp file, zero-filled and fsynced when preallocating. */
async function prepareSegmentFile(cfg: WalWriterConfig): Promise<PreparedFile> {
  const file = path.join(cfg.walDir, PREPARED_NAME);
  const fh = await fsp.open(file, 'w', 0o600);
  try {
    let size = 0;
    if (cfg.preallocate) {
      const zeros = Buffer.alloc(Math.min(ZERO_CHUNK, cfg.segmentBytes));
      while (size < cfg.segmentBytes) {
        const n = Math.min(zeros.length, cfg.segmentBytes - size);
        await writeAll(fh, [zeros.subarray(0, n)], size);
        size += n;
      }
      await fh.sync();
    }
    return { fh, file, size };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/**
 * installSegment writes the header into a prepared file and renames it into place
 * durably. Returns the open segment positioned after the header.
 */
async function installSegment(
  cfg: WalWriterConfig,
  prepared: PreparedFile,
  seq: number,
  state: CutState,
): Promise<{ segment: OpenSegment; offset: number }> {
  const firstIndex = state.lastIndex + 1;
  const header = encodeSegmentHeader(
    {
      version: WAL_FORMAT_VERSION,
      clusterId: cfg.ids.clusterId,
      memberId: cfg.ids.memberId,
      seq,
      prevIndex: state.lastIndex,
      prevTerm: state.lastTerm ?? 0,
    },
    state.hardState,
    state.marker,
  );
  await writeAll(prepared.fh, [header], 0);
  await prepared.fh.sync();
  const file = path.join(cfg.walDir, segmentFileName({ seq, firstIndex }));
  await fsp.rename(prepared.file, file);
  await fsyncDir(cfg.walDir);
  return {
    segment: {
      info: { seq, firstIndex, file, headerMarkerIndex: state.marker?.index ?? 0 },
      fh: prepared.fh,
      dsync: await openDsync(cfg, file),
      size: Math.max(prepared.size, header.length),
    },
    offset: header.length,
  };
}

export class WalWriter {
  private readonly cfg: WalWriterConfig;
  /** retained segments, oldest first; the last one is open for appending */
  private readonly segments: SegmentInfo[];
  private current: OpenSegment;
  private offset: number;
  private unsynced = false;
  private queue: Pending[] = [];
  /** the rounds in progress, while `active` */
  private running: Promise<void> = Promise.resolve();
  private active = false;
  /** the next round writes everything queued, synced or not (the lazy timer fired, or close) */
  private flushAll = false;
  /** set while unsynced buffers wait for a synced round (see LAZY_WRITE_MS) */
  private lazyTimer: NodeJS.Timeout | undefined;
  private prepared: Promise<PreparedFile> | undefined;
  private failure: StorageFailedError | undefined;
  private closed = false;
  /**
   * blocking: rounds fdatasync with a synchronous call on the event loop's
   * thread instead of through libuv's thread pool (a thread wake-up and a
   * loop wake-up). It suits a member whose loop has nothing to do but wait for
   * the fsync (a follower); a leader keeps the loop free to apply and answer
   * what its followers committed meanwhile. Writes are synchronous either way.
   */
  blocking = false;
  readonly stats: WalStats;

  private constructor(cfg: WalWriterConfig, segments: SegmentInfo[], current: OpenSegment, offset: number) {
    this.cfg = cfg;
    this.segments = segments;
    this.current = current;
    this.offset = offset;
    this.stats = { writes: 0, fsyncs: 0, bytesWritten: 0, saves: 0, entriesWritten: 0, segments: segments.length };
  }

  /** create starts a brand-new WAL: segment 0 holding only its header. */
  static async create(cfg: WalWriterConfig, state: CutState): Promise<WalWriter> {
    const prepared = await prepareSegmentFile(cfg);
    const { segment, offset } = await installSegment(cfg, prepared, 0, state);
    return new WalWriter(cfg, [segment.info], segment, offset);
  }

  /**
   * resume continues an existing WAL at `offset` of the last segment (whose torn
   * tail, if any, the caller has already truncated).
   */
  static async resume(cfg: WalWriterConfig, segments: SegmentInfo[], offset: number): Promise<WalWriter> {
    const last = segments[segments.length - 1];
    const fh = await fsp.open(last.file, fs.constants.O_RDWR);
    const { size } = await fh.stat();
    const w = new WalWriter(cfg, segments.slice(), { info: last, fh, dsync: await openDsync(cfg, last.file), size }, offset);
    // Bytes an earlier process wrote may still sit unsynced in the page cache (it
    // was killed, the machine was not): the first synced round must fdatasync
    // the file, which an O_DSYNC write of its own bytes would not do.
    w.unsynced = true;
    return w;
  }

  /**
   * enqueue appends buf after everything queued before it; resolves once
   * written (and on disk, if sync). A synced buffer's round starts now, or
   * right after the round in progress; an unsynced one waits up to
   * LAZY_WRITE_MS for a synced round to carry it.
   */
  enqueue(buf: Buffer, sync: boolean, cut: CutState): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, sync, cut, resolve, reject });
      if (sync || this.closed) this.startRounds(false);
      else this.lazyTimer ??= setTimeout(() => this.startRounds(true), LAZY_WRITE_MS);
    });
  }

  /**
   * startRounds runs rounds while a synced buffer (or, with `all` or once
   * closed, any buffer) is queued, unless rounds already run (they then take
   * what is queued next); the first write is submitted before it returns.
   */
  private startRounds(all: boolean): void {
    if (all) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
    if (this.active) {
      if (all) this.flushAll = true;
      return;
    }
    this.active = true;
    this.flushAll = all;
    this.running = this.run();
  }

  /** due tells whether the queue holds a buffer the next round must write now. */
  private due(): boolean {
    if (this.queue.length === 0 || this.failure) return false;
    if (this.flushAll || this.closed) return true;
    for (const p of this.queue) if (p.sync) return true;
    return false;
  }

  get failed(): StorageFailedError | undefined {
    return this.failure;
  }

  /** startPreparing zero-fills the next segment in the background once the current one is half full. */
  private startPreparing(): void {
    if (!this.cfg.preallocate || this.closed || this.prepared || this.offset < this.cfg.segmentBytes / 2) return;
    const p = prepareSegmentFile(this.cfg);
    p.catch(() => {}); // observed when the cut awaits it
    this.prepared = p;
  }

  private async run(): Promise<void> {
    try {
      while (this.due()) {
        const batch = this.queue;
        this.queue = [];
        this.flushAll = false;
        try {
          await this.writeRound(batch);
        } catch (err) {
          this.fail(err, batch);
          return;
        }
        for (const p of batch) p.resolve();
        this.startPreparing();
        if (this.offset >= this.cfg.segmentBytes) {
          try {
            await this.cut(batch[batch.length - 1].cut);
          } catch (err) {
            this.fail(err, []);
            return;
          }
        }
      }
    } finally {
      this.active = false;
      // Unsynced buffers left behind wait for the next synced round, or the timer.
      if (this.queue.length > 0 && !this.failure) this.lazyTimer ??= setTimeout(() => this.startRounds(true), LAZY_WRITE_MS);
    }
  }

  private async writeRound(batch: Pending[]): Promise<void> {
    const bufs: Buffer[] = [];
    let bytes = 0;
    let sync = false;
    for (const p of batch) {
      if (p.buf.length > 0) {
        bufs.push(p.buf);
        bytes += p.buf.length;
      }
      if (p.sync) sync = true;
    }
    // Durable in one call only when nothing unsynced lies before these bytes:
    // O_DSYNC makes the written range durable, not the file's earlier writes.
    const dsync = sync && !this.unsynced && bytes > 0 ? this.current.dsync : undefined;
    if (bytes > 0) {
      const t0 = process.hrtime.bigint();
      const target = dsync ?? this.current.fh;
      if (dsync && !this.blocking) await writeAll(dsync, bufs, this.offset);
      else writeAllSync(target.fd, bufs, this.offset);
      this.offset += bytes;
      if (this.offset > this.current.size) this.current.size = this.offset;
      this.stats.writes++;
      this.stats.bytesWritten += bytes;
      if (dsync) {
        this.stats.fsyncs++;
        this.cfg.onFsync?.(Number(process.hrtime.bigint() - t0) / 1e9);
      } else {
        this.unsynced = true;
      }
    }
    if (sync && this.unsynced) {
      const t0 = process.hrtime.bigint();
      if (this.blocking) fs.fdatasyncSync(this.current.fh.fd);
      else await this.current.fh.datasync();
      this.unsynced = false;
      this.stats.fsyncs++;
      this.cfg.onFsync?.(Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  private async cut(state: CutState): Promise<void> {
    const old = this.current;
    if (old.size > this.offset) await old.fh.truncate(this.offset);
    await old.fh.sync();
    this.unsynced = false;
    await old.fh.close();
    await old.dsync?.close();
    const prepared = await (this.prepared ?? prepareSegmentFile(this.cfg));
    this.prepared = undefined;
    const { segment, offset } = await installSegment(this.cfg, prepared, old.info.seq + 1, state);
    this.current = segment;
    this.offset = offset;
    this.segments.push(segment.info);
    this.stats.segments = this.segments.length;
  }

  private fail(err: unknown, batch: Pending[]): void {
    this.failure = new StorageFailedError(this.current.info.file, err);
    for (const p of batch) p.reject(this.failure);
    for (const p of this.queue) p.reject(this.failure);
    this.queue = [];
  }

  /**
   * releaseBefore deletes the oldest segments that hold nothing a replay from the
   * snapshot at `index` needs: segment k goes when the segment after it starts at
   * or below index + 1 and its header's marker is not newer than index (so the
   * marker of that snapshot survives). The last segment is never deleted.
   */
  async releaseBefore(index: number): Promise<string[]> {
    let n = 0;
    while (n + 1 < this.segments.length) {
      const next = this.segments[n + 1];
      if (next.firstIndex - 1 <= index && next.headerMarkerIndex <= index) n++;
      else break;
    }
    if (n === 0) return [];
    const gone = this.segments.splice(0, n);
    this.stats.segments = this.segments.length;
    for (const s of gone) await fsp.rm(s.file, { force: true });
    await fsyncDir(this.cfg.walDir);
    return gone.map((s) => s.file);
  }

  /** segmentFiles lists the retained segments, oldest first (for tests and tools). */
  segmentFiles(): string[] {
    return this.segments.map((s) => s.file);
  }

  /** close writes what is queued (unsynced buffers too), then closes files; pending preallocation is discarded. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.queue.length > 0) this.startRounds(true);
    clearTimeout(this.lazyTimer);
    while (this.active) await this.running;
    await this.current.fh.close().catch(() => {});
    await this.current.dsync?.close().catch(() => {});
    if (this.prepared) {
      const prepared = await this.prepared.catch(() => undefined);
      this.prepared = undefined;
      if (prepared) {
        await prepared.fh.close().catch(() => {});
        await fsp.rm(prepared.file, { force: true }).catch(() => {});
      }
    }
  }
}
