// Snapshot files: the state machine's data at (index, term) plus the configuration,
// stamped with the cluster and member they belong to and checksummed as a whole.
//   "replsnap" (8 bytes) | body | u32le crc32(body)
//   body = varints version, clusterId, memberId, index, term,
//          [version 2: baseIndex, baseTerm, baseCrc]
//          4 id lists (voters, learners, votersOutgoing, learnersNext: count then ids),
//          autoLeave byte, data length, data
// Version 1 holds the whole data; version 2 (a delta file) holds data that
// extends the data of the file it names (its index, term and checksum): the
// snapshot is that file's data with this one laid onto it by the caller's
// merge (snapshot-chain.ts). Written atomically (temp file, fsync, rename,
// fsync dir), whole from memory or streamed (StreamedSnapshotFile: the data
// in parts, the head last). Must never return a snapshot it has not fully
// verified, and never write over a file in place.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import type { ConfState, NodeId, Snapshot, SnapshotMetadata } from '../raft/types.ts';
import { crc32Combine } from './crc32-combine.ts';
import { DataDirMismatchError, SnapshotCorruptError, hexId } from './errors.ts';
import { PACED_SYNC_BYTES, writeAll, writeFileAtomic } from './fs-util.ts';
import { snapshotFileName } from './layout.ts';
import type { StorageIds } from './types.ts';
import { VarintReader, checkUint, putVarint, varintSize } from './varint.ts';

const MAGIC = Buffer.from('replsnap', 'latin1');
export const SNAPSHOT_FORMAT_VERSION = 1;
/** the version of a delta file: its data extends another file's */
export const DELTA_SNAPSHOT_FORMAT_VERSION = 2;

/** SnapshotRef names the snapshot file a delta file extends: its position and its checksum (the body CRC-32 its trailer holds). */
export interface SnapshotRef {
  index: number;
  term: number;
  crc: number;
}

/** SnapshotFileParts is one file as read: its snapshot's metadata and data (a delta's only extends `extends`), and its checksum. */
export interface SnapshotFileParts {
  metadata: SnapshotMetadata;
  data: Uint8Array;
  extends: SnapshotRef | undefined;
  crc: number;
}

function confLists(cs: ConfState): NodeId[][] {
  return [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
}

/** checkMetadata throws RangeError if snapshot metadata has fields this format cannot store. */
export function checkMetadata(m: SnapshotMetadata): void {
  checkUint(m.index, 'snapshot index');
  checkUint(m.term, 'snapshot term');
  if (m.index === 0) throw new RangeError('snapshot index must be positive');
  for (const list of confLists(m.confState)) for (const id of list) checkUint(id, 'configuration member id');
}

/** checkSnapshot throws RangeError if a snapshot has fields this format cannot store. */
export function checkSnapshot(s: Snapshot): void {
  checkMetadata(s.metadata);
  if (!(s.data instanceof Uint8Array)) throw new RangeError('snapshot data must be a Uint8Array');
}

/** encodeHead returns the magic and the body up to and including the data's length (the bytes before the data). */
function encodeHead(ids: StorageIds, m: SnapshotMetadata, dataLength: number, base?: SnapshotRef): Buffer {
  const lists = confLists(m.confState);
  const fields = base
    ? [DELTA_SNAPSHOT_FORMAT_VERSION, ids.clusterId, ids.memberId, m.index, m.term, base.index, base.term, base.crc]
    : [SNAPSHOT_FORMAT_VERSION, ids.clusterId, ids.memberId, m.index, m.term];
  let size = MAGIC.length + 1 + varintSize(dataLength);
  for (const v of fields) size += varintSize(v);
  for (const list of lists) {
    size += varintSize(list.length);
    for (const id of list) size += varintSize(id);
  }
  const head = Buffer.allocUnsafe(size);
  MAGIC.copy(head, 0);
  let p = MAGIC.length;
  for (const v of fields) p = putVarint(head, p, v);
  for (const list of lists) {
    p = putVarint(head, p, list.length);
    for (const id of list) p = putVarint(head, p, id);
  }
  head[p++] = m.confState.autoLeave ? 1 : 0;
  p = putVarint(head, p, dataLength);
  return head.subarray(0, p);
}

/** trailer is the file's last 4 bytes: the CRC-32 of the body (head after the magic, then data), little-endian. */
function trailer(head: Buffer, dataCrc: number, dataLength: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(crc32Combine(crc32(head.subarray(MAGIC.length)), dataCrc, dataLength), 0);
  return out;
}

/** encodeSnapshotFile returns the file's bytes as [head, data, trailer] (data is not copied). */
export function encodeSnapshotFile(ids: StorageIds, s: Snapshot): Uint8Array[] {
  const head = encodeHead(ids, s.metadata, s.data.length);
  return [head, s.data, trailer(head, crc32(s.data), s.data.length)];
}

/** readIdentity reads a body's fields up to the base reference: version, ids (checked), position, and what a delta extends. */
function readIdentity(file: string, r: VarintReader, ids: StorageIds): { index: number; term: number; extends: SnapshotRef | undefined } {
  const version = r.uint('format version');
  if (version !== SNAPSHOT_FORMAT_VERSION && version !== DELTA_SNAPSHOT_FORMAT_VERSION) {
    throw new DataDirMismatchError(file, `snapshot format version ${version} is not supported (this build reads ${SNAPSHOT_FORMAT_VERSION} and ${DELTA_SNAPSHOT_FORMAT_VERSION})`);
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
  if (version === SNAPSHOT_FORMAT_VERSION) return { index, term, extends: undefined };
  const base = { index: r.uint('base index'), term: r.uint('base term'), crc: r.uint('base checksum') };
  if (base.index >= index || base.crc > 0xffffffff) throw new RangeError(`extends the snapshot at index ${base.index}, which is not before its own ${index}`);
  return { index, term, extends: base };
}

/**
 * decodeSnapshotFile verifies and parses a snapshot file's bytes. Corruption
 * throws SnapshotCorruptError; a file of another cluster or member throws
 * DataDirMismatchError. A delta file's data extends another file's
 * (`extends`): only readSnapshotChain makes a snapshot of it.
 */
export function decodeSnapshotFile(file: string, buf: Buffer, ids: StorageIds): SnapshotFileParts {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotCorruptError(file, 'not a snapshot file (bad magic)');
  }
  const body = buf.subarray(MAGIC.length, buf.length - 4);
  const crc = buf.readUInt32LE(buf.length - 4);
  if (crc32(body) !== crc) throw new SnapshotCorruptError(file, 'checksum mismatch');
  try {
    const r = new VarintReader(body);
    const { index, term, extends: base } = readIdentity(file, r, ids);
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
    // A view of the file's bytes, not a copy: a snapshot read back may be as large as the whole state.
    const view = r.bytes(dataLength, 'data');
    const data = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    return {
      metadata: { index, term, confState: { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeaveByte === 1 } },
      data,
      extends: base,
      crc,
    };
  } catch (err) {
    if (err instanceof RangeError) throw new SnapshotCorruptError(file, `malformed (${err.message})`);
    throw err;
  }
}

/** writeSnapshotFile durably writes the (whole) snapshot under snapDir and returns its path and checksum. */
export async function writeSnapshotFile(snapDir: string, ids: StorageIds, s: Snapshot): Promise<{ file: string; crc: number }> {
  const file = path.join(snapDir, snapshotFileName(s.metadata));
  const parts = encodeSnapshotFile(ids, s);
  await writeFileAtomic(file, parts);
  return { file, crc: Buffer.from(parts[2]).readUInt32LE(0) };
}

/** decodeNamedSnapshotFile verifies and parses a file's bytes (decodeSnapshotFile), checking it is the one its name says. */
export function decodeNamedSnapshotFile(file: string, buf: Buffer, ids: StorageIds, expect: { index: number; term: number }): SnapshotFileParts {
  return checkNamed(file, decodeSnapshotFile(file, buf, ids), expect);
}

/** HEAD_READ_BYTES covers a head up to the base reference (magic and eight varints of at most 8 bytes). */
const HEAD_READ_BYTES = 128;

/**
 * readSnapshotFileHead reads what a file says it extends and its stored
 * checksum, without reading or verifying the rest (for deciding which files a
 * chain needs; readSnapshotFileSync verifies before any data is used). Throws
 * SnapshotCorruptError if the head cannot be parsed, DataDirMismatchError for
 * a file of another member or version.
 */
export function readSnapshotFileHead(file: string, ids: StorageIds): { extends: SnapshotRef | undefined; crc: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(HEAD_READ_BYTES, size));
    fs.readSync(fd, head, 0, head.length, 0);
    const tail = Buffer.alloc(4);
    if (size < MAGIC.length + 4 || fs.readSync(fd, tail, 0, 4, size - 4) !== 4 || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new SnapshotCorruptError(file, 'not a snapshot file (bad magic or too short)');
    }
    try {
      return { extends: readIdentity(file, new VarintReader(head.subarray(MAGIC.length)), ids).extends, crc: tail.readUInt32LE(0) };
    } catch (err) {
      if (err instanceof RangeError) throw new SnapshotCorruptError(file, `malformed head (${err.message})`);
      throw err;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function checkNamed(file: string, s: SnapshotFileParts, expect: { index: number; term: number }): SnapshotFileParts {
  if (s.metadata.index !== expect.index || s.metadata.term !== expect.term) {
    throw new SnapshotCorruptError(
      file,
      `holds index ${s.metadata.index} term ${s.metadata.term} but its name says index ${expect.index} term ${expect.term}`,
    );
  }
  return s;
}

/**
 * DataLengthMismatchError: a streamed snapshot's data did not end up with a
 * length of the varint size it was started with (StreamedSnapshotFile.create),
 * so its head cannot go in front of it; the file was removed. Start it over
 * with the exact length.
 */
export class DataLengthMismatchError extends Error {
  constructor(length: number, range: { min: number; max: number }) {
    super(`snapshot data of ${length} bytes needs a length field of another size than the range [${range.min}, ${range.max}] the file was started with`);
    this.name = 'DataLengthMismatchError';
  }
}

/** lengthRangeUsable tells whether a streamed snapshot can start with this data length range (both bounds of one varint size). */
export function lengthRangeUsable(range: { min: number; max: number }): boolean {
  return Number.isSafeInteger(range.min) && range.min >= 0 && range.min <= range.max && Number.isSafeInteger(range.max) && varintSize(range.min) === varintSize(range.max);
}

/**
 * StreamedSnapshotFile writes a snapshot file whose data arrives in parts
 * (this member's own snapshot, as its encoder produces it), so the data is
 * never whole in memory. The data goes at its final offset from the start;
 * the head, which holds the data's length, goes in front at the end, its
 * size fixed beforehand from the data length's range (whose bounds must
 * take as many varint bytes); the checksum is the data's, combined with the
 * head's (crc32Combine). The file is flushed every PACED_SYNC_BYTES, as
 * writeFileAtomic does, and fsynced by finish; it stays under its temporary
 * name (`tmp`) until the storage renames it into place.
 */
export class StreamedSnapshotFile {
  /** the snapshot's path once renamed into place */
  readonly file: string;
  /** where it is written meanwhile (a temp file recovery removes) */
  readonly tmp: string;
  readonly metadata: SnapshotMetadata;
  /** the file a delta file's data extends (undefined: the data is whole) */
  readonly extends: SnapshotRef | undefined;
  private readonly ids: StorageIds;
  private readonly range: { min: number; max: number };
  private readonly headSize: number;
  private fh: FileHandle | undefined;
  private dataLength = 0;
  private dataCrc = 0;
  private bodyCrc: number | undefined;
  private unsynced = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  private constructor(
    snapDir: string,
    ids: StorageIds,
    metadata: SnapshotMetadata,
    range: { min: number; max: number },
    fh: FileHandle,
    base: SnapshotRef | undefined,
  ) {
    this.file = path.join(snapDir, snapshotFileName(metadata));
    this.tmp = `${this.file}.tmp`;
    this.ids = ids;
    this.metadata = metadata;
    this.extends = base;
    this.range = range;
    this.headSize = encodeHead(ids, metadata, range.max, base).length;
    this.fh = fh;
  }

  /**
   * create starts the temp file of the snapshot with this metadata, whose
   * data will be between range.min and range.max bytes long (bounds of the
   * same varint size, else RangeError); with `base`, a delta file whose data
   * extends that file's.
   */
  static async create(
    snapDir: string,
    ids: StorageIds,
    metadata: SnapshotMetadata,
    range: { min: number; max: number },
    base?: SnapshotRef,
  ): Promise<StreamedSnapshotFile> {
    checkMetadata(metadata);
    if (base) {
      checkUint(base.index, 'base snapshot index');
      checkUint(base.term, 'base snapshot term');
      if (!(base.index < metadata.index) || !(base.crc >= 0 && base.crc <= 0xffffffff && Number.isInteger(base.crc))) {
        throw new RangeError(`a delta snapshot at index ${metadata.index} cannot extend the snapshot at index ${base.index} (checksum ${base.crc})`);
      }
    }
    checkUint(range.min, 'data length floor');
    checkUint(range.max, 'data length bound');
    if (!lengthRangeUsable(range)) {
      throw new RangeError(`snapshot data length range [${range.min}, ${range.max}] must be ordered and its bounds of one varint size`);
    }
    const tmp = `${path.join(snapDir, snapshotFileName(metadata))}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    return new StreamedSnapshotFile(snapDir, ids, metadata, range, fh, base);
  }

  /** append writes the next part of the data (it may be reused once this resolves). */
  async append(bytes: Uint8Array): Promise<void> {
    const fh = this.openHandle();
    try {
      await writeAll(fh, [bytes], this.headSize + this.dataLength);
      this.dataCrc = crc32(bytes, this.dataCrc);
      this.dataLength += bytes.length;
      this.unsynced += bytes.length;
      if (this.unsynced >= PACED_SYNC_BYTES) {
        this.unsynced = 0;
        await fh.datasync();
      }
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** dataOffset is where the data starts in the file (after the head). */
  get dataOffset(): number {
    return this.headSize;
  }

  /** bytes is how much data was appended so far. */
  get bytes(): number {
    return this.dataLength;
  }

  /**
   * finish writes the head and the checksum, fsyncs and closes the file:
   * complete under its temporary name. A data length outside the range
   * removes the file and throws DataLengthMismatchError.
   */
  async finish(): Promise<void> {
    const fh = this.openHandle();
    const head = encodeHead(this.ids, this.metadata, this.dataLength, this.extends);
    if (head.length !== this.headSize) {
      await this.abort();
      throw new DataLengthMismatchError(this.dataLength, this.range);
    }
    try {
      await writeAll(fh, [head], 0);
      const end = trailer(head, this.dataCrc, this.dataLength);
      await writeAll(fh, [end], this.headSize + this.dataLength);
      this.bodyCrc = end.readUInt32LE(0);
      await fh.sync();
      this.fh = undefined;
      await fh.close();
      this.state = 'finished';
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** abort closes and removes the temp file (also after finish, before the storage renamed it); never throws. */
  async abort(): Promise<void> {
    this.state = 'aborted';
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => {});
    await fsp.rm(this.tmp, { force: true }).catch(() => {});
  }

  /** finished: complete and fsynced under the temporary name. */
  get finished(): boolean {
    return this.state === 'finished';
  }

  /** crc is the file's checksum (what a delta file extending it names), once finished. */
  get crc(): number {
    if (this.bodyCrc === undefined || this.state !== 'finished') throw new Error(`snapshot file ${this.tmp} is not finished`);
    return this.bodyCrc;
  }

  private openHandle(): FileHandle {
    if (this.state !== 'open' || !this.fh) throw new Error(`snapshot file ${this.tmp} is ${this.state === 'open' ? 'closed' : this.state}`);
    return this.fh;
  }
}
