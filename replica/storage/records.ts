// The WAL's record kinds and their binary bodies (inside a frame, see frame.ts):
//   1 metadata   version, clusterId, memberId, seq, prevIndex, prevTerm  (first record of every segment)
//   2 entry      entryType byte, term, index, data (the rest of the body)
//   3 hardState  term, vote, commit
//   4 snapshot   index, term  (a snapshot marker: a durable snapshot file exists for this position)
// Numbers are LEB128 varints. Decoding is strict: unknown kinds, bad varints and
// trailing bytes throw RangeError. This module must never do I/O or decide what a
// record means for the log (that is log-shape.ts and recovery.ts).
import type { Entry, EntryType, HardState } from '../raft/types.ts';
import { FRAME_HEADER_BYTES, sealFrame } from './frame.ts';
import { VarintReader, putVarint, varintSize } from './varint.ts';

/** WAL_FORMAT_VERSION is written into every segment's metadata; other versions refuse to open. */
export const WAL_FORMAT_VERSION = 1;

const KIND_METADATA = 1;
const KIND_ENTRY = 2;
const KIND_HARD_STATE = 3;
const KIND_SNAPSHOT = 4;

const ENTRY_NORMAL = 0;
const ENTRY_CONF_CHANGE = 1;

/** SegmentMetadata opens every segment: whose log this is, and where the log stood when the segment began. */
export interface SegmentMetadata {
  version: number;
  clusterId: number;
  memberId: number;
  seq: number;
  /** index and term of the last entry of the log when this segment was started (0, 0 for an empty log) */
  prevIndex: number;
  prevTerm: number;
}

/** SnapshotMarker records that a snapshot of (index, term) was durably written. */
export interface SnapshotMarker {
  index: number;
  term: number;
}

export type WalRecord =
  | { kind: 'metadata'; metadata: SegmentMetadata }
  | { kind: 'entry'; entry: Entry }
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'snapshot'; marker: SnapshotMarker };

// ---- encoding ----------------------------------------------------------------------------

function entryBodySize(e: Entry): number {
  return 2 + varintSize(e.term) + varintSize(e.index) + e.data.length;
}

function hardStateBodySize(hs: HardState): number {
  return 1 + varintSize(hs.term) + varintSize(hs.vote) + varintSize(hs.commit);
}

function markerBodySize(m: SnapshotMarker): number {
  return 1 + varintSize(m.index) + varintSize(m.term);
}

function metadataBodySize(m: SegmentMetadata): number {
  return (
    1 +
    varintSize(m.version) +
    varintSize(m.clusterId) +
    varintSize(m.memberId) +
    varintSize(m.seq) +
    varintSize(m.prevIndex) +
    varintSize(m.prevTerm)
  );
}

function putEntry(buf: Buffer, off: number, e: Entry): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p++] = KIND_ENTRY;
  buf[p++] = e.type === 'confChange' ? ENTRY_CONF_CHANGE : ENTRY_NORMAL;
  p = putVarint(buf, p, e.term);
  p = putVarint(buf, p, e.index);
  buf.set(e.data, p);
  p += e.data.length;
  sealFrame(buf, off, p - off - FRAME_HEADER_BYTES);
  return p;
}

function putHardState(buf: Buffer, off: number, hs: HardState): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p++] = KIND_HARD_STATE;
  p = putVarint(buf, p, hs.term);
  p = putVarint(buf, p, hs.vote);
  p = putVarint(buf, p, hs.commit);
  sealFrame(buf, off, p - off - FRAME_HEADER_BYTES);
  return p;
}

function putMarker(buf: Buffer, off: number, m: SnapshotMarker): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p++] = KIND_SNAPSHOT;
  p = putVarint(buf, p, m.index);
  p = putVarint(buf, p, m.term);
  sealFrame(buf, off, p - off - FRAME_HEADER_BYTES);
  return p;
}

function putMetadata(buf: Buffer, off: number, m: SegmentMetadata): number {
  let p = off + FRAME_HEADER_BYTES;
  buf[p++] = KIND_METADATA;
  p = putVarint(buf, p, m.version);
  p = putVarint(buf, p, m.clusterId);
  p = putVarint(buf, p, m.memberId);
  p = putVarint(buf, p, m.seq);
  p = putVarint(buf, p, m.prevIndex);
  p = putVarint(buf, p, m.prevTerm);
  sealFrame(buf, off, p - off - FRAME_HEADER_BYTES);
  return p;
}

/**
 * encodeBatch frames a save() call into one buffer: entries first, then the hard
 * state, so a torn tail that keeps the hard state also kept the entries before it.
 * Fields must already be validated (non-negative safe integers).
 */
export function encodeBatch(entries: readonly Entry[], hardState: HardState | undefined): Buffer {
  let size = 0;
  for (const e of entries) size += FRAME_HEADER_BYTES + entryBodySize(e);
  if (hardState) size += FRAME_HEADER_BYTES + hardStateBodySize(hardState);
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  for (const e of entries) off = putEntry(buf, off, e);
  if (hardState) off = putHardState(buf, off, hardState);
  return buf;
}

/** encodeMarker frames one snapshot marker. */
export function encodeMarker(m: SnapshotMarker): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + markerBodySize(m));
  putMarker(buf, 0, m);
  return buf;
}

/**
 * encodeSegmentHeader frames what opens every segment: metadata, the hard state
 * at the cut, and the newest snapshot marker (if any), so that deleting older
 * segments never loses the hard state or the marker of a retained snapshot.
 */
export function encodeSegmentHeader(m: SegmentMetadata, hs: HardState, marker: SnapshotMarker | undefined): Buffer {
  let size = FRAME_HEADER_BYTES + metadataBodySize(m) + FRAME_HEADER_BYTES + hardStateBodySize(hs);
  if (marker) size += FRAME_HEADER_BYTES + markerBodySize(marker);
  const buf = Buffer.allocUnsafe(size);
  let off = putMetadata(buf, 0, m);
  off = putHardState(buf, off, hs);
  if (marker) putMarker(buf, off, marker);
  return buf;
}

/** encodeRecord frames any single record (tests and tools; the hot path uses encodeBatch). */
export function encodeRecord(r: WalRecord): Buffer {
  switch (r.kind) {
    case 'entry':
      return encodeBatch([r.entry], undefined);
    case 'hardState': {
      const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + hardStateBodySize(r.hardState));
      putHardState(buf, 0, r.hardState);
      return buf;
    }
    case 'snapshot':
      return encodeMarker(r.marker);
    case 'metadata': {
      const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + metadataBodySize(r.metadata));
      putMetadata(buf, 0, r.metadata);
      return buf;
    }
  }
}

// ---- decoding ----------------------------------------------------------------------------

/** UnknownFormatVersion: a metadata record of a format this code does not read (the rest is not parsed). */
export class UnknownFormatVersion extends RangeError {
  readonly version: number;
  constructor(version: number) {
    super(`format version ${version} is not supported (this build reads version ${WAL_FORMAT_VERSION})`);
    this.name = 'UnknownFormatVersion';
    this.version = version;
  }
}

/**
 * decodeRecord parses one checksum-verified body. Entry data is a view into
 * `body` (copy it before keeping it past the buffer's life). Throws RangeError on
 * anything this version did not write.
 */
export function decodeRecord(body: Buffer): WalRecord {
  const r = new VarintReader(body);
  const kind = r.byte('record kind');
  switch (kind) {
    case KIND_ENTRY: {
      const t = r.byte('entry type');
      let type: EntryType;
      if (t === ENTRY_NORMAL) type = 'normal';
      else if (t === ENTRY_CONF_CHANGE) type = 'confChange';
      else throw new RangeError(`entry type ${t} is unknown`);
      const term = r.uint('entry term');
      const index = r.uint('entry index');
      if (index === 0) throw new RangeError('entry index 0 is not a log position');
      const data = r.bytes(r.remaining, 'entry data');
      return { kind: 'entry', entry: { term, index, type, data } };
    }
    case KIND_HARD_STATE: {
      const hardState = { term: r.uint('hard state term'), vote: r.uint('hard state vote'), commit: r.uint('hard state commit') };
      r.end('hard state');
      return { kind: 'hardState', hardState };
    }
    case KIND_SNAPSHOT: {
      const marker = { index: r.uint('snapshot index'), term: r.uint('snapshot term') };
      r.end('snapshot marker');
      return { kind: 'snapshot', marker };
    }
    case KIND_METADATA: {
      const version = r.uint('format version');
      if (version !== WAL_FORMAT_VERSION) throw new UnknownFormatVersion(version);
      const metadata: SegmentMetadata = {
        version,
        clusterId: r.uint('cluster id'),
        memberId: r.uint('member id'),
        seq: r.uint('segment sequence'),
        prevIndex: r.uint('previous index'),
        prevTerm: r.uint('previous term'),
      };
      r.end('metadata');
      return { kind: 'metadata', metadata };
    }
    default:
      throw new RangeError(`record kind ${kind} is unknown`);
  }
}
