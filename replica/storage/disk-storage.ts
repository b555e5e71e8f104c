// DiskStorage: the replica's durable storage as the server loop uses it. openStorage
// locks the data dir, recovers (recovery.ts), makes the safe repairs (truncating a
// torn tail, removing snapshot files the WAL never recorded) and hands back the
// state raft restarts from. save() validates what raft hands over against the log
// it extends, encodes it into one buffer and queues it on the group-commit writer;
// saveSnapshot() writes the snapshot file atomically (or beginSnapshotFile +
// commitSnapshotFile, for one streamed into its file, whole or a delta of the
// newest: snapshot-chain.ts), records its marker in the WAL, then deletes what
// the retained snapshots and their chains make redundant.
// Must never acknowledge (resolve a sync save) before the bytes are fsynced, never
// write a record that a replay would reject, and never delete a segment or
// snapshot file a replay from a retained snapshot still needs.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Entry, HardState, Snapshot, SnapshotMetadata } from '../raft/types.ts';
import { StorageMisuseError } from './errors.ts';
import { MAX_RECORD_BODY } from './frame.ts';
import { fsyncDir, fsyncDirSync, renameDurable } from './fs-util.ts';
import type { DataDirLayout } from './layout.ts';
import { layoutOf, snapshotFileName } from './layout.ts';
import type { DirLock } from './lock.ts';
import { acquireDirLock } from './lock.ts';
import { LogShape } from './log-shape.ts';
import type { SnapshotMarker } from './records.ts';
import { encodeBatch, encodeMarker } from './records.ts';
import { BROKEN_SUFFIX, listSegments, recover } from './recovery.ts';
import { chainOf, readSnapshotChain, readSnapshotChainAsync, type SnapshotLink } from './snapshot-chain.ts';
import { StreamedSnapshotFile, checkMetadata, checkSnapshot, writeSnapshotFile } from './snapshot-file.ts';
import type { SnapshotRef } from './snapshot-file.ts';
import type { RecoveredState, StorageIds, StorageOptions, WalStats } from './types.ts';
import { checkUint } from './varint.ts';
import type { CutState } from './wal-writer.ts';
import { WalWriter } from './wal-writer.ts';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_KEEP_SNAPSHOTS = 2;
/** The smallest segment limit accepted (tests use tiny segments to exercise rollover). */
export const MIN_SEGMENT_BYTES = 1024;
/** The largest entry payload a record can carry. */
export const MAX_ENTRY_DATA = MAX_RECORD_BODY - 64;

export interface OpenedStorage {
  storage: DiskStorage;
  state: RecoveredState;
  /** one line each, for the log: torn tails truncated, files removed, snapshot fallbacks */
  warnings: string[];
}

/** isInitialized tells whether dataDir already holds a WAL (so the server must not bootstrap). */
export function isInitialized(dataDir: string): boolean {
  return listSegments(layoutOf(dataDir).walDir).segments.length > 0;
}

function mkdirDurable(dir: string): void {
  const parent = path.dirname(dir);
  if (fs.existsSync(dir)) return;
  if (parent !== dir) mkdirDurable(parent);
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return; // another opener won the race
    throw err;
  }
  fsyncDirSync(parent);
}

type OptionalHooks = 'onFsync' | 'mergeSnapshotData' | 'mergeSnapshotDataInSlices';

function resolveOptions(opts: StorageOptions | undefined): Required<Omit<StorageOptions, OptionalHooks>> & Pick<StorageOptions, OptionalHooks> {
  const segmentBytes = opts?.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const keepSnapshots = opts?.keepSnapshots ?? DEFAULT_KEEP_SNAPSHOTS;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES) {
    throw new RangeError(`segmentBytes must be an integer >= ${MIN_SEGMENT_BYTES}, got ${segmentBytes}`);
  }
  if (!Number.isSafeInteger(keepSnapshots) || keepSnapshots < 1) {
    throw new RangeError(`keepSnapshots must be an integer >= 1, got ${keepSnapshots}`);
  }
  const durableWrites = opts?.durableWrites ?? 'fdatasync';
  if (durableWrites !== 'fdatasync' && durableWrites !== 'o_dsync') throw new RangeError(`durableWrites must be 'fdatasync' or 'o_dsync', got ${String(durableWrites)}`);
  return { segmentBytes, keepSnapshots, preallocate: opts?.preallocate ?? true, durableWrites, onFsync: opts?.onFsync, mergeSnapshotData: opts?.mergeSnapshotData, mergeSnapshotDataInSlices: opts?.mergeSnapshotDataInSlices };
}

/**
 * openStorage opens (creating if needed) the data dir for this cluster member and
 * recovers its state. Throws a one-line error (WalCorruptError,
 * SnapshotCorruptError, DataDirMismatchError, DataDirLockedError) when the dir
 * cannot be used; the dir is then left exactly as it was.
 */
export async function openStorage(dataDir: string, ids: StorageIds, opts?: StorageOptions): Promise<OpenedStorage> {
  checkUint(ids.clusterId, 'cluster id');
  checkUint(ids.memberId, 'member id');
  const o = resolveOptions(opts);
  const layout = layoutOf(path.resolve(dataDir));
  mkdirDurable(layout.walDir);
  mkdirDurable(layout.snapDir);
  const lock = acquireDirLock(layout.lockFile);
  try {
    const cfg = { walDir: layout.walDir, ids, segmentBytes: o.segmentBytes, preallocate: o.preallocate, oDsync: o.durableWrites === 'o_dsync', onFsync: o.onFsync };
    const rec = await recover(layout, ids, o.mergeSnapshotData);
    // Temp files are never acknowledged data (a segment being prepared, a snapshot
    // being written); removed only once recovery accepted the dir.
    for (const tmp of listSegments(layout.walDir).temps) fs.rmSync(tmp, { force: true });
    if (!rec) {
      const hardState: HardState = { term: 0, vote: 0, commit: 0 };
      const writer = await WalWriter.create(cfg, { lastIndex: 0, lastTerm: 0, hardState, marker: undefined });
      const shape = new LogShape({ index: 0, term: 0 }, false);
      const storage = new DiskStorage(layout, ids, o, lock, writer, shape, hardState, undefined, [], new Map());
      return { storage, state: { hardState: { ...hardState }, entries: [] }, warnings: [] };
    }
    // Repairs, now that recovery accepted the dir.
    if (rec.tail.kind === 'torn') {
      const fh = await fsp.open(rec.tail.file, fs.constants.O_RDWR);
      try {
        await fh.truncate(rec.tail.end);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (const file of rec.snapshotFilesToSetAside) {
      await fsp.rename(file, file + BROKEN_SUFFIX);
      rec.warnings.push(`set aside unusable snapshot ${file} as ${path.basename(file)}${BROKEN_SUFFIX}`);
    }
    for (const file of rec.snapshotFilesToDelete) await fsp.rm(file, { force: true });
    if (rec.snapshotFilesToSetAside.length + rec.snapshotFilesToDelete.length > 0) await fsyncDir(layout.snapDir);
    const writer = await WalWriter.resume(cfg, rec.segments, rec.tail.end);
    const storage = new DiskStorage(
      layout,
      ids,
      o,
      lock,
      writer,
      rec.shape,
      rec.hardState,
      rec.latestMarker,
      rec.retainedSnapshots,
      rec.snapshotLinks,
    );
    try {
      await storage.purge();
    } catch (err) {
      await storage.close().catch(() => {});
      throw err;
    }
    return { storage, state: rec.state, warnings: rec.warnings };
  } catch (err) {
    lock.release();
    throw err;
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** snapshotDue tells the server whether to snapshot now, given its "snapshot every N entries" flag (0 = never). */
export function snapshotDue(appliedIndex: number, lastSnapshotIndex: number, every: number): boolean {
  return every > 0 && appliedIndex - lastSnapshotIndex >= every;
}

export class DiskStorage {
  private readonly layout: DataDirLayout;
  private readonly ids: StorageIds;
  private readonly keepSnapshots: number;
  private readonly lock: DirLock;
  private readonly writer: WalWriter;
  /** the log as the records queued so far describe it */
  private readonly shape: LogShape;
  private hardState: HardState;
  private latestMarker: SnapshotMarker | undefined;
  /** snapshots recorded in the WAL whose files exist, oldest first (the ones a restart may start from) */
  private readonly snapshots: SnapshotMarker[];
  /** every snapshot file kept (those, and the files their chains need), by name */
  private readonly links: Map<string, SnapshotLink>;
  private readonly merge: StorageOptions['mergeSnapshotData'];
  private readonly mergeInSlices: StorageOptions['mergeSnapshotDataInSlices'];
  private snapshotChain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    layout: DataDirLayout,
    ids: StorageIds,
    opts: Pick<StorageOptions, 'mergeSnapshotData' | 'mergeSnapshotDataInSlices'> & { keepSnapshots: number },
    lock: DirLock,
    writer: WalWriter,
    shape: LogShape,
    hardState: HardState,
    latestMarker: SnapshotMarker | undefined,
    snapshots: SnapshotMarker[],
    links: Map<string, SnapshotLink>,
  ) {
    this.layout = layout;
    this.ids = ids;
    this.keepSnapshots = opts.keepSnapshots;
    this.merge = opts.mergeSnapshotData;
    this.mergeInSlices = opts.mergeSnapshotDataInSlices;
    this.links = new Map(links);
    this.lock = lock;
    this.writer = writer;
    this.shape = shape;
    this.hardState = { ...hardState };
    this.latestMarker = latestMarker;
    this.snapshots = snapshots.slice();
  }

  /** dataDir is the absolute data dir this storage holds locked. */
  get dataDir(): string {
    return this.layout.dataDir;
  }

  /**
   * setBlockingWrites makes later saves fdatasync synchronously on the
   * caller's thread (done when save returns; its promise still settles as
   * usual) or, off, through the thread pool; the write itself is synchronous
   * either way. The replica turns it on while the member follows and off
   * while it leads (WalWriter.blocking).
   */
  setBlockingWrites(on: boolean): void {
    this.writer.blocking = on;
  }

  /**
   * save appends entries, then the hard state (either may be empty), in one write.
   * Calls are written in call order; rapid or concurrent calls share a write and
   * an fdatasync (group commit). With sync, resolves only once everything queued
   * up to this call is on disk, and its write is submitted before save returns;
   * without, once it is written to the OS, which waits for the next synced save
   * (up to LAZY_WRITE_MS, or close): callers need not wait for it. Rejects
   * with StorageMisuseError (nothing written) if the call breaks raft's rules, and
   * with StorageFailedError (for this and every later call) if I/O failed.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new StorageMisuseError('save after close'));
    if (this.writer.failed) return Promise.reject(this.writer.failed);
    try {
      this.checkSave(hardState, entries);
    } catch (err) {
      return Promise.reject(err);
    }
    if (hardState && sameHardState(hardState, this.hardState)) hardState = undefined;
    const buf = encodeBatch(entries, hardState);
    for (const e of entries) this.shape.append(e.index, e.term);
    if (hardState) {
      this.hardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
      this.shape.raiseFloor(hardState.commit);
    }
    this.writer.stats.saves++;
    this.writer.stats.entriesWritten += entries.length;
    return this.writer.enqueue(buf, sync, this.cutState());
  }

  private cutState(): CutState {
    return {
      lastIndex: this.shape.lastIndex,
      lastTerm: this.shape.lastTerm(),
      hardState: this.hardState,
      marker: this.latestMarker,
    };
  }

  /** checkSave throws StorageMisuseError unless a replay would accept exactly what save would write. */
  private checkSave(hs: HardState | undefined, entries: readonly Entry[]): void {
    const misuse = (what: string): never => {
      throw new StorageMisuseError(what);
    };
    const uint = (v: number, what: string): void => {
      if (!Number.isSafeInteger(v) || v < 0) misuse(`${what} must be a non-negative safe integer, got ${v}`);
    };
    const termNow = hs ? hs.term : this.hardState.term;
    if (hs) {
      uint(hs.term, 'hard state term');
      uint(hs.vote, 'hard state vote');
      uint(hs.commit, 'hard state commit');
      const cur = this.hardState;
      if (hs.term < cur.term) misuse(`hard state term ${hs.term} is below the saved term ${cur.term}`);
      if (hs.commit < cur.commit) misuse(`hard state commit ${hs.commit} is below the saved commit ${cur.commit}`);
      if (hs.term === cur.term && cur.vote !== 0 && hs.vote !== cur.vote) {
        misuse(`hard state changes the vote in term ${hs.term} from ${cur.vote} to ${hs.vote}`);
      }
    }
    let prevTerm: number | undefined;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      uint(e.index, 'entry index');
      uint(e.term, 'entry term');
      if (e.type !== 'normal' && e.type !== 'confChange') misuse(`entry ${e.index} has unknown type ${String(e.type)}`);
      if (!(e.data instanceof Uint8Array)) misuse(`entry ${e.index} data is not a Uint8Array`);
      if (e.data.length > MAX_ENTRY_DATA) misuse(`entry ${e.index} data of ${e.data.length} bytes exceeds ${MAX_ENTRY_DATA}`);
      if (k === 0) {
        const problem = this.shape.appendProblem(e.index);
        if (problem) misuse(problem);
        prevTerm = this.shape.termAt(e.index - 1);
      } else if (e.index !== entries[k - 1].index + 1) {
        misuse(`entries are not contiguous: ${entries[k - 1].index} is followed by ${e.index}`);
      }
      if (e.term === 0) misuse(`entry ${e.index} has term 0`);
      if (prevTerm !== undefined && e.term < prevTerm) misuse(`entry ${e.index} has term ${e.term}, below the term ${prevTerm} before it`);
      if (e.term > termNow) misuse(`entry ${e.index} has term ${e.term}, above the hard state term ${termNow}`);
      prevTerm = e.term;
    }
    if (hs) {
      const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : this.shape.lastIndex;
      if (hs.commit > lastIndex) misuse(`hard state commit ${hs.commit} is beyond the last entry ${lastIndex}`);
    }
  }

  /**
   * saveSnapshot makes a snapshot durable: the file first (atomically), then its
   * marker in the WAL (fsynced). Then only the newest `keepSnapshots` snapshot files
   * are kept, and WAL segments wholly before the oldest kept one are deleted.
   * A snapshot the log contradicts or runs ahead of (one installed from the leader)
   * replaces the log, as raft's restore does. Call it before saving entries that
   * follow the snapshot. Calls are serialised.
   */
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    const run = this.snapshotChain.then(() => this.saveSnapshotNow(snapshot));
    this.snapshotChain = run.catch(() => {});
    return run;
  }

  private async saveSnapshotNow(snapshot: Snapshot): Promise<void> {
    this.checkUsable('saveSnapshot');
    try {
      checkSnapshot(snapshot);
    } catch (err) {
      throw new StorageMisuseError((err as Error).message);
    }
    const m: SnapshotMarker = { index: snapshot.metadata.index, term: snapshot.metadata.term };
    if (this.latestMarker && this.latestMarker.index === m.index && this.latestMarker.term === m.term) return;
    this.checkMarker(m);
    const { file, crc } = await writeSnapshotFile(this.layout.snapDir, this.ids, snapshot);
    // Saves may have moved the log while the file was written.
    try {
      this.checkMarker(m);
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
    await this.recordSnapshot(m, { extends: undefined, crc });
  }

  /**
   * beginSnapshotFile starts the file of a snapshot whose data the caller
   * streams into it (StreamedSnapshotFile: append, then finish), with a data
   * length in `range`; commitSnapshotFile then makes it this storage's
   * newest snapshot. With `extend` (the newest snapshot, see canExtend), a
   * delta file: its data only extends that snapshot's (the merge the
   * storage was opened with lays it on when it is read). Nothing changes
   * until the commit: the caller aborts a file it does not commit. Throws
   * StorageMisuseError for a snapshot that is not newer than the saved one
   * or contradicts the committed log, and for a delta of anything but the
   * newest snapshot or without a merge.
   */
  async beginSnapshotFile(metadata: SnapshotMetadata, range: { min: number; max: number }, extend?: { index: number; term: number }): Promise<StreamedSnapshotFile> {
    this.checkUsable('beginSnapshotFile');
    try {
      checkMetadata(metadata);
    } catch (err) {
      throw new StorageMisuseError((err as Error).message);
    }
    this.checkMarker({ index: metadata.index, term: metadata.term });
    let base: SnapshotRef | undefined;
    if (extend) {
      if (!this.canExtend(extend)) {
        throw new StorageMisuseError(`a delta snapshot can only extend the newest snapshot (${this.latestMarker?.index ?? 'none'}), of a storage opened with a merge; not index ${extend.index} term ${extend.term}`);
      }
      base = { index: extend.index, term: extend.term, crc: this.links.get(snapshotFileName(extend))!.crc };
    }
    return StreamedSnapshotFile.create(this.layout.snapDir, this.ids, metadata, range, base);
  }

  /** canExtend tells whether a delta snapshot file may extend the snapshot at `m` now: it is the newest, its file is kept, and this storage can merge. */
  canExtend(m: { index: number; term: number }): boolean {
    const latest = this.latestMarker;
    return this.merge !== undefined && latest !== undefined && latest.index === m.index && latest.term === m.term && this.links.has(snapshotFileName(m));
  }

  /**
   * commitSnapshotFile makes a finished streamed snapshot durable as
   * saveSnapshot does (after any saveSnapshot before it): renamed into place,
   * then its marker in the WAL (fsynced), then the purge. A snapshot the log
   * moved past meanwhile (not newer than one saved since) is removed and
   * rejected with StorageMisuseError.
   */
  commitSnapshotFile(f: StreamedSnapshotFile): Promise<void> {
    const run = this.snapshotChain.then(async () => {
      const m: SnapshotMarker = { index: f.metadata.index, term: f.metadata.term };
      try {
        this.checkUsable('commitSnapshotFile');
        if (!f.finished) throw new StorageMisuseError(`snapshot file ${f.tmp} is not finished`);
        this.checkMarker(m);
        const base = f.extends;
        if (base && this.links.get(snapshotFileName(base))?.crc !== base.crc) {
          throw new StorageMisuseError(`snapshot file ${f.tmp} extends the snapshot at index ${base.index}, which this storage no longer keeps`);
        }
      } catch (err) {
        await f.abort();
        throw err;
      }
      await renameDurable(f.tmp, f.file);
      await this.recordSnapshot(m, { extends: f.extends, crc: f.crc });
    });
    this.snapshotChain = run.catch(() => {});
    return run;
  }

  private checkUsable(what: string): void {
    if (this.closed) throw new StorageMisuseError(`${what} after close`);
    if (this.writer.failed) throw this.writer.failed;
  }

  /** recordSnapshot records a snapshot whose file is in place: its marker in the WAL, then the purge. */
  private async recordSnapshot(m: SnapshotMarker, link: SnapshotLink): Promise<void> {
    this.links.set(snapshotFileName(m), link);
    this.shape.applyMarker(m);
    this.latestMarker = m;
    await this.writer.enqueue(encodeMarker(m), true, this.cutState());
    this.snapshots.push(m);
    await this.purge();
  }

  private checkMarker(m: SnapshotMarker): void {
    const latest = this.latestMarker;
    if (latest && m.index <= latest.index) {
      throw new StorageMisuseError(`snapshot at index ${m.index} is not newer than the saved snapshot at index ${latest.index}`);
    }
    const t = this.shape.termAt(m.index);
    if (m.index <= this.shape.commitFloor && t !== undefined && t !== m.term) {
      throw new StorageMisuseError(`snapshot at index ${m.index} term ${m.term} contradicts the committed entry there (term ${t})`);
    }
  }

  /** purge keeps the newest snapshot files and the files their chains need, and deletes the segments none of them needs. */
  async purge(): Promise<void> {
    while (this.snapshots.length > this.keepSnapshots) this.snapshots.shift();
    const needed = new Set<string>();
    for (const s of this.snapshots) for (const name of chainOf(snapshotFileName(s), this.links)) needed.add(name);
    let deleted = false;
    for (const name of [...this.links.keys()]) {
      if (needed.has(name)) continue;
      this.links.delete(name);
      await fsp.rm(path.join(this.layout.snapDir, name), { force: true });
      deleted = true;
    }
    if (deleted) await fsyncDir(this.layout.snapDir);
    if (this.snapshots.length > 0) await this.writer.releaseBefore(this.snapshots[0].index);
  }

  /**
   * readSnapshot reads back the data of a durable snapshot this storage still
   * keeps (one of the newest `keepSnapshots`), verified as at recovery (a
   * delta file laid onto its chain: the whole data), so the
   * caller need not hold the image in memory meanwhile. Synchronous because
   * raft asks for a snapshot synchronously; it is asked only when a follower
   * is too far behind for entries. Throws SnapshotCorruptError (file + what is
   * wrong) or StorageMisuseError (a snapshot this storage does not keep).
   */
  readSnapshot(m: { index: number; term: number }): Snapshot {
    return readSnapshotChain(this.layout.snapDir, this.ids, this.checkKept('readSnapshot', m), this.merge);
  }

  /**
   * readSnapshotAsync is readSnapshot with the files read off the event
   * loop and a chain's merge run in slices when the storage was given
   * mergeSnapshotDataInSlices (each file's check still runs on it), for a caller
   * that can wait: raft's storage then answers "temporarily unavailable"
   * until the data is here (see the replica's snapshot loader).
   */
  readSnapshotAsync(m: { index: number; term: number }): Promise<Snapshot> {
    try {
      return readSnapshotChainAsync(this.layout.snapDir, this.ids, this.checkKept('readSnapshotAsync', m), this.merge, this.mergeInSlices);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** checkKept returns `m` if it is a durable snapshot this storage keeps, else throws StorageMisuseError. */
  private checkKept(what: string, m: { index: number; term: number }): { index: number; term: number } {
    if (this.closed) throw new StorageMisuseError(`${what} after close`);
    if (!this.snapshots.some((k) => k.index === m.index && k.term === m.term)) {
      throw new StorageMisuseError(`no durable snapshot at index ${m.index} term ${m.term} is kept (kept: ${this.snapshots.map((k) => k.index).join(', ') || 'none'})`);
    }
    return m;
  }

  /** lastSnapshotIndex is the index of the newest durable snapshot (0 if none). */
  lastSnapshotIndex(): number {
    return this.latestMarker?.index ?? 0;
  }

  /** stats are cumulative counters since open. */
  stats(): WalStats {
    return { ...this.writer.stats };
  }

  /** segmentFiles lists the WAL segment files in use, oldest first. */
  segmentFiles(): string[] {
    return this.writer.segmentFiles();
  }

  /** close waits for queued saves, closes the files and releases the data dir lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.snapshotChain;
      await this.writer.close();
    } finally {
      this.lock.release();
    }
  }
}
