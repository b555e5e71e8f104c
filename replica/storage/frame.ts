// Record framing for WAL segments. Every record on disk is
//   u32le bodyLength | u32le crc32(body) | u32le crc32(first 8 header bytes) | body
// The header checksum lets recovery trust a length before reading the body, so a
// damaged length field is reported as corruption instead of being mistaken for a
// torn tail. An all-zero header never checks out (crc32 of zeros is not zero),
// which is how preallocated, never-written space is recognised.
// This module only frames bytes: it must never interpret bodies or do I/O.
import { crc32 } from 'node:zlib';

export const FRAME_HEADER_BYTES = 12;

/** CRC32_TABLE is the IEEE CRC-32 table (the polynomial zlib.crc32 uses). */
const CRC32_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * headerCrc is zlib.crc32 of the 8 header bytes at off, computed in place: the
 * header check runs once per record on both paths, and a view plus a native call
 * cost more than these eight table steps.
 */
export function headerCrc(buf: Uint8Array, off: number): number {
  let c = -1;
  for (let i = off; i < off + 8; i++) c = CRC32_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** MAX_RECORD_BODY bounds a single record (one log entry plus a few bytes); larger lengths are corruption. */
export const MAX_RECORD_BODY = 1 << 30;

/**
 * sealFrame fills in the header of a frame whose body of `bodyLength` bytes is
 * already at `off + FRAME_HEADER_BYTES` in buf.
 */
export function sealFrame(buf: Buffer, off: number, bodyLength: number): void {
  const bodyStart = off + FRAME_HEADER_BYTES;
  buf.writeUInt32LE(bodyLength, off);
  buf.writeUInt32LE(crc32(buf.subarray(bodyStart, bodyStart + bodyLength)), off + 4);
  buf.writeUInt32LE(headerCrc(buf, off), off + 8);
}

/** FrameRead is what readFrame finds at an offset. */
export type FrameRead =
  | { kind: 'record'; body: Buffer; next: number }
  /** exactly at the end of the data */
  | { kind: 'end' }
  /** fewer bytes than a header remain */
  | { kind: 'shortHeader' }
  /** the header checksum does not match */
  | { kind: 'badHeader' }
  /** the header checks out but its length is zero or absurd (a bug, never a crash effect) */
  | { kind: 'badLength'; length: number }
  /** the header checks out but the body runs past the end of the data */
  | { kind: 'shortBody'; length: number }
  /** the header checks out, the body is complete, but its checksum does not match */
  | { kind: 'badBody'; length: number };

/** readFrame decodes the frame at off without throwing; the caller decides what each failure means. */
export function readFrame(buf: Buffer, off: number): FrameRead {
  const n = buf.length;
  if (off === n) return { kind: 'end' };
  if (n - off < FRAME_HEADER_BYTES) return { kind: 'shortHeader' };
  if (headerCrc(buf, off) !== buf.readUInt32LE(off + 8)) return { kind: 'badHeader' };
  const length = buf.readUInt32LE(off);
  if (length === 0 || length > MAX_RECORD_BODY) return { kind: 'badLength', length };
  const bodyStart = off + FRAME_HEADER_BYTES;
  if (bodyStart + length > n) return { kind: 'shortBody', length };
  const body = buf.subarray(bodyStart, bodyStart + length);
  if (crc32(body) !== buf.readUInt32LE(off + 4)) return { kind: 'badBody', length };
  return { kind: 'record', body, next: bodyStart + length };
}

/** SECTOR_BYTES is the unit a disk writes atomically; a torn write leaves whole sectors unwritten. */
export const SECTOR_BYTES = 512;

/**
 * hasUnwrittenSector tells whether [start, end) (clipped to the data) contains a
 * run of zero bytes that starts at `start` or at a sector boundary and reaches the
 * next sector boundary or `end`: what a write torn at sector granularity leaves
 * behind in zero-filled (preallocated or freshly extended) space.
 */
export function hasUnwrittenSector(buf: Buffer, start: number, end: number): boolean {
  end = Math.min(end, buf.length);
  let chunkStart = start;
  while (chunkStart < end) {
    const chunkEnd = Math.min(end, (Math.floor(chunkStart / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (isZero(buf, chunkStart, chunkEnd)) return true;
    chunkStart = chunkEnd;
  }
  return false;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** isZero tells whether buf[start, end) holds only zero bytes (fast: a preallocated tail is megabytes). */
export function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p += ZEROS.length) {
    const n = Math.min(ZEROS.length, end - p);
    if (buf.compare(ZEROS, 0, n, p, p + n) !== 0) return false;
  }
  return true;
}
