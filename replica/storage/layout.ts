// Where things live inside a data dir and how their file names are spelled:
//   <data-dir>/member/lock                     lock file (pid of the holder)
//   <data-dir>/member/wal/<seq>-<first>.wal   WAL segments, 16 hex digits each
//   <data-dir>/member/snap/<index>-<term>.snap snapshot files, 16 hex digits each
//   <data-dir>/member/spill/<slot>.spill      old KV values moved out of the heap
//                                              (a cache, wiped at start: value-spill.ts)
// Names sort in the order that matters (segment sequence, snapshot index).
// Pure path arithmetic: must never touch the file system.
import path from 'node:path';

export interface DataDirLayout {
  dataDir: string;
  memberDir: string;
  walDir: string;
  snapDir: string;
  spillDir: string;
  lockFile: string;
}

export function layoutOf(dataDir: string): DataDirLayout {
  const memberDir = path.join(dataDir, 'member');
  return {
    dataDir,
    memberDir,
    walDir: path.join(memberDir, 'wal'),
    snapDir: path.join(memberDir, 'snap'),
    spillDir: path.join(memberDir, 'spill'),
    lockFile: path.join(memberDir, 'lock'),
  };
}

const HEX16 = /^[0-9a-f]{16}$/;

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** SegmentName: a segment's sequence number and the index its first new entry gets (last index at cut + 1). */
export interface SegmentName {
  seq: number;
  firstIndex: number;
}

export function segmentFileName(s: SegmentName): string {
  return `${hex16(s.seq)}-${hex16(s.firstIndex)}.wal`;
}

/** parseSegmentFileName returns undefined for any name that is not a segment. */
export function parseSegmentFileName(name: string): SegmentName | undefined {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/.exec(name);
  if (!m || !HEX16.test(m[1]) || !HEX16.test(m[2])) return undefined;
  const seq = parseInt(m[1], 16);
  const firstIndex = parseInt(m[2], 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex };
}

/** SnapshotName: the log position a snapshot file covers. */
export interface SnapshotName {
  index: number;
  term: number;
}

export function snapshotFileName(s: SnapshotName): string {
  return `${hex16(s.index)}-${hex16(s.term)}.snap`;
}

export function parseSnapshotFileName(name: string): SnapshotName | undefined {
  const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/.exec(name);
  if (!m) return undefined;
  const index = parseInt(m[1], 16);
  const term = parseInt(m[2], 16);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) return undefined;
  return { index, term };
}

/** Temporary files end in `.tmp`; whatever is left of them after a crash is never acknowledged data. */
export function isTempFileName(name: string): boolean {
  return name.endsWith('.tmp');
}
