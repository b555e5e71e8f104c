// Crash recovery: reads every WAL segment and the snapshot directory and works out
// the state raft restarts from (hard state, newest usable snapshot, entries after
// it), plus the repairs that are safe to make (truncating a torn tail, removing
// snapshot files the WAL never recorded and no kept snapshot's chain needs).
// It only reads: the caller performs the
// repairs after recovery succeeded, so a refusal leaves the data dir untouched.
// Must never drop an acknowledged record: anything that is neither a clean end nor
// a torn tail of the last segment is a refusal naming the file and offset.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Entry, HardState, Snapshot } from '../raft/types.ts';
import { DataDirMismatchError, SnapshotCorruptError, StorageMisuseError, WalCorruptError, hexId } from './errors.ts';
import type { DataDirLayout } from './layout.ts';
import { isTempFileName, parseSegmentFileName, parseSnapshotFileName, snapshotFileName } from './layout.ts';
import { LogShape } from './log-shape.ts';
import type { SnapshotMarker } from './records.ts';
import type { SegmentTail } from './segment-scan.ts';
import { scanSegment } from './segment-scan.ts';
import { chainOf, readSnapshotChain, type SnapshotLink } from './snapshot-chain.ts';
import { readSnapshotFileHead } from './snapshot-file.ts';
import type { MergeSnapshotData, RecoveredState, StorageIds } from './types.ts';

/** SegmentInfo is what the writer needs to know about each retained segment. */
export interface SegmentInfo {
  seq: number;
  /** from the name: last index at the cut + 1 */
  firstIndex: number;
  file: string;
  /** index of the snapshot marker in the segment's header, 0 if none */
  headerMarkerIndex: number;
}

export interface Recovery {
  state: RecoveredState;
  warnings: string[];
  /** shape of the log as replayed, for the writer to continue from */
  shape: LogShape;
  /** the last hard state record as written (the returned state floors its commit at the snapshot) */
  hardState: HardState;
  latestMarker: SnapshotMarker | undefined;
  segments: SegmentInfo[];
  /** where appending continues in the last segment, and what to repair there */
  tail: { file: string; end: number; size: number; kind: SegmentTail['kind'] };
  /** snapshots with a marker in the WAL and a file on disk (not known to be broken), oldest first */
  retainedSnapshots: SnapshotMarker[];
  /** every snapshot file kept (the retained ones and the files their chains need), by name: what it extends and its checksum */
  snapshotLinks: Map<string, SnapshotLink>;
  /** repairs to make once recovery is accepted */
  snapshotFilesToDelete: string[];
  snapshotFilesToSetAside: string[];
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** listSegments returns the segment files of a WAL dir, by sequence, and the names it does not know. */
export function listSegments(walDir: string): { segments: { seq: number; firstIndex: number; file: string }[]; temps: string[]; unknown: string[] } {
  const segments: { seq: number; firstIndex: number; file: string }[] = [];
  const temps: string[] = [];
  const unknown: string[] = [];
  for (const name of listDir(walDir)) {
    const parsed = parseSegmentFileName(name);
    if (parsed) segments.push({ ...parsed, file: path.join(walDir, name) });
    else if (isTempFileName(name)) temps.push(path.join(walDir, name));
    else unknown.push(name);
  }
  segments.sort((a, b) => a.seq - b.seq);
  return { segments, temps, unknown };
}

const BROKEN_SUFFIX = '.broken';

/**
 * recover replays the WAL under layout.walDir. Returns undefined if there is no
 * segment at all (a new data dir). Throws WalCorruptError, SnapshotCorruptError or
 * DataDirMismatchError with a one-line message when it refuses.
 */
export async function recover(layout: DataDirLayout, ids: StorageIds, merge?: MergeSnapshotData): Promise<Recovery | undefined> {
  const warnings: string[] = [];
  const { segments: found, unknown } = listSegments(layout.walDir);
  for (const name of unknown) warnings.push(`ignoring unexpected file ${path.join(layout.walDir, name)}`);
  const snapNames = listDir(layout.snapDir);
  if (found.length === 0) {
    const snaps = snapNames.filter((n) => parseSnapshotFileName(n));
    if (snaps.length > 0) {
      throw new WalCorruptError(layout.walDir, 0, `no WAL segment, but ${snaps.length} snapshot file(s) in ${layout.snapDir}: the WAL was lost`);
    }
    return undefined;
  }
  for (let k = 1; k < found.length; k++) {
    if (found[k].seq !== found[k - 1].seq + 1) {
      throw new WalCorruptError(found[k].file, 0, `segment sequence jumps from ${found[k - 1].seq} to ${found[k].seq}: a segment is missing`);
    }
  }

  let shape: LogShape | undefined;
  /** entries[k] is the entry at index entriesBase + 1 + k (data still views into segment buffers) */
  let entries: Entry[] = [];
  let entriesBase = 0;
  let hardState: HardState | undefined;
  let hardStateAt = { file: '', offset: 0 };
  const markers: SnapshotMarker[] = [];
  const segments: SegmentInfo[] = [];
  let tail: Recovery['tail'] | undefined;

  for (let k = 0; k < found.length; k++) {
    const seg = found[k];
    const isLast = k === found.length - 1;
    const buf = await fsp.readFile(seg.file);
    const info: SegmentInfo = { seq: seg.seq, firstIndex: seg.firstIndex, file: seg.file, headerMarkerIndex: 0 };
    let recordNo = 0;
    const scan = scanSegment(seg.file, buf, isLast, (rec, offset) => {
      const n = recordNo++;
      if (n === 0 && rec.kind !== 'metadata') throw new RangeError(`segment does not start with a metadata record (found ${rec.kind})`);
      switch (rec.kind) {
        case 'metadata': {
          if (n !== 0) throw new RangeError('metadata record in the middle of a segment');
          const m = rec.metadata;
          if (m.clusterId !== ids.clusterId || m.memberId !== ids.memberId) {
            throw new DataDirMismatchError(
              seg.file,
              `WAL belongs to cluster ${hexId(m.clusterId)} member ${hexId(m.memberId)}, not cluster ${hexId(ids.clusterId)} member ${hexId(ids.memberId)}`,
              offset,
            );
          }
          if (m.seq !== seg.seq) throw new RangeError(`metadata says segment ${m.seq} but the file name says ${seg.seq}`);
          if (m.prevIndex + 1 !== seg.firstIndex) {
            throw new RangeError(`metadata says the segment follows index ${m.prevIndex} but the file name says ${seg.firstIndex - 1}`);
          }
          // Term 0 never labels a real entry: a header written while the term was unknown.
          const prevTerm = m.prevIndex > 0 && m.prevTerm === 0 ? undefined : m.prevTerm;
          if (!shape) {
            shape = new LogShape({ index: m.prevIndex, term: prevTerm }, true);
            entriesBase = m.prevIndex;
          } else {
            const lastTerm = shape.lastTerm();
            if (shape.lastIndex !== m.prevIndex || (lastTerm !== undefined && prevTerm !== undefined && lastTerm !== prevTerm)) {
              throw new RangeError(
                `segment says the log before it ends at index ${m.prevIndex} term ${m.prevTerm}, ` +
                  `but the previous segment ends at index ${shape.lastIndex} term ${lastTerm ?? 'unknown'}`,
              );
            }
          }
          return;
        }
        case 'entry': {
          const e = rec.entry;
          const s = shape!;
          const problem = s.appendProblem(e.index);
          if (problem) throw new RangeError(problem);
          s.append(e.index, e.term);
          if (s.baseIndex !== entriesBase) {
            entries = [];
            entriesBase = s.baseIndex;
          }
          entries.length = e.index - entriesBase - 1;
          entries.push(e);
          return;
        }
        case 'hardState':
          hardState = rec.hardState;
          hardStateAt = { file: seg.file, offset };
          shape!.raiseFloor(hardState.commit);
          return;
        case 'snapshot': {
          const m = rec.marker;
          if (n === 2) info.headerMarkerIndex = m.index;
          const last = markers[markers.length - 1];
          if (last && m.index < last.index) {
            throw new RangeError(`snapshot marker index ${m.index} is older than the previous marker ${last.index}`);
          }
          if (shape!.applyMarker(m)) {
            entries = [];
            entriesBase = shape!.baseIndex;
          }
          if (!last || last.index !== m.index || last.term !== m.term) markers.push(m);
          return;
        }
      }
    });
    if (recordNo === 0) throw new WalCorruptError(seg.file, 0, 'segment holds no complete record (no metadata)');
    segments.push(info);
    if (isLast) {
      tail = { file: seg.file, end: scan.end, size: buf.length, kind: scan.tail.kind };
      if (scan.tail.kind === 'torn') {
        warnings.push(
          `truncated torn record at ${seg.file} offset ${scan.end} (${buf.length - scan.end} bytes dropped: ${scan.tail.reason})`,
        );
      }
    }
  }
  const log = shape!;
  if (!hardState) throw new WalCorruptError(found[0].file, 0, 'no hard state record in the WAL');
  const lastSegment = segments[segments.length - 1];

  // ---- the snapshot to restart from ----
  const snapOnDisk = new Map<string, string>();
  const snapshotFilesToDelete: string[] = [];
  for (const name of snapNames) {
    const parsed = parseSnapshotFileName(name);
    if (parsed) snapOnDisk.set(name, path.join(layout.snapDir, name));
    else if (isTempFileName(name)) snapshotFilesToDelete.push(path.join(layout.snapDir, name));
    else if (!name.endsWith(BROKEN_SUFFIX)) warnings.push(`ignoring unexpected file ${path.join(layout.snapDir, name)}`);
  }
  const snapshotFilesToSetAside: string[] = [];
  let chosen: Snapshot | undefined;
  let newestProblem: { file: string; reason: string } | undefined;
  for (let k = markers.length - 1; k >= 0 && !chosen; k--) {
    const m = markers[k];
    const name = snapshotFileName(m);
    const file = path.join(layout.snapDir, name);
    let reason: string;
    if (!snapOnDisk.has(name)) {
      reason = 'file is missing';
    } else {
      try {
        chosen = readSnapshotChain(layout.snapDir, ids, m, merge);
        break;
      } catch (err) {
        if (!(err instanceof SnapshotCorruptError)) throw err;
        if (!merge && /without a way to merge/.test(err.message)) throw new StorageMisuseError(err.message);
        reason = err.message;
        // The file at fault: this one, or one down its chain (which older snapshots may need too).
        const bad = snapOnDisk.has(path.basename(err.file)) ? err.file : file;
        if (!snapshotFilesToSetAside.includes(bad)) snapshotFilesToSetAside.push(bad);
      }
    }
    newestProblem ??= { file, reason };
    // Only markers the log can fall back past are worth a warning; older ones were purged on purpose.
    if (log.baseIndex <= m.index) warnings.push(`snapshot ${file} recorded in the WAL is unusable (${reason}); trying an older one`);
  }
  const snapIndex = chosen ? chosen.metadata.index : 0;
  if (log.baseIndex > snapIndex) {
    const why = newestProblem
      ? `needed to cover the log up to index ${log.baseIndex}: ${newestProblem.reason}`
      : `the WAL starts after index ${log.baseIndex} but records no snapshot covering it`;
    throw new SnapshotCorruptError(newestProblem?.file ?? layout.snapDir, why);
  }
  if (chosen) {
    const t = log.termAt(snapIndex);
    if (t !== undefined && t !== chosen.metadata.term) {
      throw new WalCorruptError(lastSegment.file, 0, `snapshot at index ${snapIndex} has term ${chosen.metadata.term} but the log has term ${t} there`);
    }
    if (newestProblem) warnings.push(`recovered from older snapshot at index ${snapIndex} and the WAL after it`);
  }

  // ---- hard state ----
  const hs: HardState = { ...hardState! };
  const lastIndex = Math.max(log.lastIndex, snapIndex);
  // The commit index never goes backwards: not below any commit or snapshot recorded.
  if (log.commitFloor > hs.commit) hs.commit = log.commitFloor;
  if (hs.commit > lastIndex) {
    throw new WalCorruptError(
      hardStateAt.file,
      hardStateAt.offset,
      `hard state commit ${hs.commit} is beyond the last entry ${lastIndex}: committed entries are missing`,
    );
  }

  // ---- entries after the snapshot, as views of the segment buffers ----
  // A segment whose returned entries fill most of it is kept as it is (no copy);
  // otherwise the byte range they span is copied once, so the rest of the buffer
  // (older entries, preallocated zeros) can be freed. Never one copy per entry.
  const first = Math.max(snapIndex, entriesBase) + 1;
  const spans = new Map<ArrayBufferLike, { lo: number; hi: number; copy?: ArrayBufferLike }>();
  for (let i = first; i <= log.lastIndex; i++) {
    const d = entries[i - entriesBase - 1].data;
    const span = spans.get(d.buffer);
    if (!span) spans.set(d.buffer, { lo: d.byteOffset, hi: d.byteOffset + d.length });
    else {
      if (d.byteOffset < span.lo) span.lo = d.byteOffset;
      if (d.byteOffset + d.length > span.hi) span.hi = d.byteOffset + d.length;
    }
  }
  for (const [buffer, span] of spans) {
    if ((span.hi - span.lo) * 2 >= buffer.byteLength) {
      span.copy = buffer;
      span.lo = 0;
    } else span.copy = (buffer as ArrayBuffer).slice(span.lo, span.hi);
  }
  const out: Entry[] = [];
  for (let i = first; i <= log.lastIndex; i++) {
    const e = entries[i - entriesBase - 1];
    const span = spans.get(e.data.buffer)!;
    out.push({ term: e.term, index: e.index, type: e.type, data: new Uint8Array(span.copy!, e.data.byteOffset - span.lo, e.data.length) });
  }

  // ---- snapshot files: keep the recorded ones and what their chains need, drop the ones the WAL never recorded ----
  const newestMarker = markers[markers.length - 1];
  const marked = new Set(markers.map((m) => snapshotFileName(m)));
  const setAside = new Set(snapshotFilesToSetAside);
  const retainedSnapshots: SnapshotMarker[] = [];
  const links = new Map<string, SnapshotLink>();
  for (const [name, file] of snapOnDisk) {
    if (setAside.has(file)) continue;
    try {
      links.set(name, readSnapshotFileHead(file, ids));
    } catch {
      // Unreadable: nothing is known to depend on it; read in full (and refused) only if it is ever needed.
    }
    const pos = parseSnapshotFileName(name)!;
    if (marked.has(name) && pos.index <= snapIndex) retainedSnapshots.push(pos);
  }
  const needed = new Set<string>();
  for (const s of retainedSnapshots) for (const n of chainOf(snapshotFileName(s), links)) needed.add(n);
  for (const [name, file] of snapOnDisk) {
    if (setAside.has(file)) continue;
    if (needed.has(name)) continue;
    links.delete(name);
    if (marked.has(name)) continue; // recorded, but newer than the snapshot recovered from: left as it is
    snapshotFilesToDelete.push(file);
    if (!newestMarker || parseSnapshotFileName(name)!.index > newestMarker.index) {
      warnings.push(`removing snapshot ${file}: the WAL never recorded it (a crash interrupted saving it)`);
    }
  }
  retainedSnapshots.sort((a, b) => a.index - b.index);

  return {
    state: { hardState: hs, snapshot: chosen, entries: out },
    warnings,
    shape: log,
    hardState: hardState!,
    latestMarker: newestMarker,
    segments,
    tail: tail!,
    retainedSnapshots,
    snapshotLinks: links,
    snapshotFilesToDelete,
    snapshotFilesToSetAside,
  };
}

export { BROKEN_SUFFIX };
