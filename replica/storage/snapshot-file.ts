// Snapshot files: the state machine's data at (index, term) plus the configuration,
// stamped with the cluster and member they belong to and checksummed as a whole.
//   "replsnap" (8 bytes) | body | u32le crc32(body)
//   body = varints version, clusterId, memberId, index, term,
//          4 id lists (voters, learners, votersOutgoing, learnersNext: count then ids),
//          autoLeave byte, data length, data
// Written atomically (temp file, fsync, rename, fsync dir). Must never return a
// snapshot it has not fully verified, and never write over a file in place.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConfState, NodeId, Snapshot } from '../raft/types.ts';
import { DataDirMismatchError, SnapshotCorruptError, hexId } from './errors.ts';
import { writeFileAtomic } from './fs-util.ts';
import { snapshotFileName } from './layout.ts';
import type { StorageIds } from './types.ts';
import { VarintReader, checkUint, putVarint, varintSize } from './varint.ts';

const MAGIC = Buffer.from('replsnap', 'latin1');
export const SNAPSHOT_FORMAT_VERSION = 1;

function confLists(cs: ConfState): NodeId[][] {
  return [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
}

/** checkSnapshot throws RangeError if a snapshot has fields this format cannot store. */
export function checkSnapshot(s: Snapshot): void {
  checkUint(s.metadata.index, 'snapshot index');
  checkUint(s.metadata.term, 'snapshot term');
  if (s.metadata.index === 0) throw new RangeError('snapshot index must be positive');
  for (const list of confLists(s.metadata.confState)) for (const id of list) checkUint(id, 'configuration member id');
  if (!(s.data instanceof Uint8Array)) throw new RangeError('snapshot data must be a Uint8Array');
}

/** encodeSnapshotFile returns the file's bytes as [head, data, trailer] (data is not copied). */
export function encodeSnapshotFile(ids: StorageIds, s: Snapshot): Uint8Array[] {
  const m = s.metadata;
  const lists = confLists(m.confState);
  const fields = [SNAPSHOT_FORMAT_VERSION, ids.clusterId, ids.memberId, m.index, m.term];
  let size = MAGIC.length + 1;
  for (const v of fields) size += varintSize(v);
  for (const list of lists) {
    size += varintSize(list.length);
    for (const id of list) size += varintSize(id);
  }
  size += varintSize(s.data.length);
  const head = Buffer.allocUnsafe(size);
  MAGIC.copy(head, 0);
  let p = MAGIC.length;
  for (const v of fields) p = putVarint(head, p, v);
  for (const list of lists) {
    p = putVarint(head, p, list.length);
    for (const id of list) p = putVarint(head, p, id);
  }
  head[p++] = m.confState.autoLeave ? 1 : 0;
  p = putVarint(head, p, s.data.length);
  const trailer = Buffer.allocUnsafe(4);
  trailer.writeUInt32LE(crc32(s.data, crc32(head.subarray(MAGIC.length, p))), 0);
  return [head.subarray(0, p), s.data, trailer];
}

/**
 * decodeSnapshotFile verifies and parses a snapshot file's bytes. Corruption
 * throws SnapshotCorruptError; a file of another cluster or member throws
 * DataDirMismatchError.
 */
export function decodeSnapshotFile(file: string, buf: Buffer, ids: StorageIds): Snapshot {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotCorruptError(file, 'not a snapshot file (bad magic)');
  }
  const body = buf.subarray(MAGIC.length, buf.length - 4);
  if (crc32(body) !== buf.readUInt32LE(buf.length - 4)) throw new SnapshotCorruptError(file, 'checksum mismatch');
  try {
    const r = new VarintReader(body);
    const version = r.uint('format version');
    if (version !== SNAPSHOT_FORMAT_VERSION) {
      throw new DataDirMismatchError(file, `snapshot format version ${version} is not supported (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
    }
    const clusterId = r.uint('cluster id');
    const memberId = r.uint('member id');
    if (clusterId !== ids.clusterId || memberId !== ids.memberId) {
      throw new DataDirMismatchError(
        file,
        `snapshot belongs to cluster ${hexId(clusterId)} member ${hexId(memberId)}, not cluster ${hexId(ids.clusterId)} member ${hexId(ids.memberId)}`,
      );
    }
    const index = r.uint('index');
    const term = r.uint('term');
    const readList = (what: string): NodeId[] => {
      const n = r.uint(`${what} count`);
      if (n > r.remaining) throw new RangeError(`${what} count ${n} exceeds the file`);
      const out: NodeId[] = [];
      for (let i = 0; i < n; i++) out.push(r.uint(what));
      return out;
    };
    const voters = readList('voters');
    const learners = readList('learners');
    const votersOutgoing = readList('outgoing voters');
    const learnersNext = readList('next learners');
    const autoLeaveByte = r.byte('auto leave');
    if (autoLeaveByte > 1) throw new RangeError(`auto leave flag ${autoLeaveByte} is invalid`);
    const dataLength = r.uint('data length');
    if (dataLength !== r.remaining) throw new RangeError(`data length ${dataLength} does not match the ${r.remaining} bytes present`);
    const data = new Uint8Array(r.bytes(dataLength, 'data'));
    return {
      metadata: { index, term, confState: { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeaveByte === 1 } },
      data,
    };
  } catch (err) {
    if (err instanceof RangeError) throw new SnapshotCorruptError(file, `malformed (${err.message})`);
    throw err;
  }
}

/** writeSnapshotFile durably writes the snapshot under snapDir and returns its path. */
export async function writeSnapshotFile(snapDir: string, ids: StorageIds, s: Snapshot): Promise<string> {
  const file = path.join(snapDir, snapshotFileName(s.metadata));
  await writeFileAtomic(file, encodeSnapshotFile(ids, s));
  return file;
}

/** readSnapshotFile loads and verifies one snapshot file, checking it is the one its name says. */
export async function readSnapshotFile(file: string, ids: StorageIds, expect: { index: number; term: number }): Promise<Snapshot> {
  return checkNamed(file, decodeSnapshotFile(file, await fsp.readFile(file), ids), expect);
}

/** readSnapshotFileSync is readSnapshotFile for a caller that cannot wait (raft reading back a released snapshot image). */
export function readSnapshotFileSync(file: string, ids: StorageIds, expect: { index: number; term: number }): Snapshot {
  return checkNamed(file, decodeSnapshotFile(file, fs.readFileSync(file), ids), expect);
}

function checkNamed(file: string, s: Snapshot, expect: { index: number; term: number }): Snapshot {
  if (s.metadata.index !== expect.index || s.metadata.term !== expect.term) {
    throw new SnapshotCorruptError(
      file,
      `holds index ${s.metadata.index} term ${s.metadata.term} but its name says index ${expect.index} term ${expect.term}`,
    );
  }
  return s;
}
