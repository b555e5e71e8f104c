// SnapshotImageReader: reads back the KV image inside this member's last own
// snapshot file, for the next own snapshot to copy the revisions it holds
// instead of encoding them again (the kv ImageReader). It reads the image in
// order a block at a time, folding every byte into a CRC-32 that verify
// checks against the image's own, so a file damaged since it was written is
// found out before the new image is complete (the encoder then starts over
// without it). It only reads: it must never write, rename or remove the file.
// A member keeps its file open from the start of an encode to its end, so
// the file being purged meanwhile changes nothing.
import fs from 'node:fs';
import { Buffer } from 'node:buffer';
import { crc32 } from 'node:zlib';
import type { ImageReader } from '../kv/index.ts';

/** IMAGE_READ_BYTES is one read of the image: the block copies are served from. */
export const IMAGE_READ_BYTES = 1 << 20;

export class SnapshotImageReader implements ImageReader {
  private readonly file: string;
  private fd: number | undefined;
  /** where the image starts in the file */
  private readonly offset: number;
  /** the image's bytes before its checksum */
  private readonly bodyBytes: number;
  private readonly block: Buffer;
  /** the image bytes the block holds: [blockStart, blockStart + blockLength) */
  private blockStart = 0;
  private blockLength = 0;
  /** CRC-32 of the image's bytes before blockStart + blockLength */
  private crc = 0;

  /**
   * open opens the image of `length` bytes (checksum included) at `offset`
   * in `file`; throws (the file is gone or shorter than that) when it cannot.
   */
  static open(file: string, offset: number, length: number, blockBytes = IMAGE_READ_BYTES): SnapshotImageReader {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 5) {
      throw new RangeError(`snapshot image: offset ${offset} and length ${length} do not describe an image`);
    }
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      if (size < offset + length) throw new Error(`snapshot image: ${file} holds ${size} bytes, short of the image's end at ${offset + length}`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return new SnapshotImageReader(file, fd, offset, length - 4, blockBytes);
  }

  private constructor(file: string, fd: number, offset: number, bodyBytes: number, blockBytes: number) {
    this.file = file;
    this.fd = fd;
    this.offset = offset;
    this.bodyBytes = bodyBytes;
    this.block = Buffer.allocUnsafeSlow(blockBytes);
  }

  rewind(): void {
    this.blockStart = 0;
    this.blockLength = 0;
    this.crc = 0;
  }

  copy(offset: number, length: number, into: Uint8Array, at: number): void {
    if (offset < 0 || offset + length > this.bodyBytes) throw new RangeError(`snapshot image: ${length} bytes at ${offset} reach past the image (${this.bodyBytes} bytes)`);
    if (offset < this.blockStart) {
      // Back before the block (a key written again into a fresh chunk): these bytes were folded in
      // already, read then from the same file, which nothing writes once committed.
      this.readFully(into, at, length, offset);
      return;
    }
    while (length > 0) {
      while (offset >= this.blockStart + this.blockLength) this.nextBlock();
      const from = offset - this.blockStart;
      const n = Math.min(length, this.blockLength - from);
      this.block.copy(into, at, from, from + n);
      offset += n;
      at += n;
      length -= n;
    }
  }

  verify(): void {
    while (this.blockStart + this.blockLength < this.bodyBytes) this.nextBlock();
    const stored = Buffer.allocUnsafe(4);
    this.readFully(stored, 0, 4, this.bodyBytes);
    if (stored.readUInt32BE(0) !== this.crc >>> 0) {
      throw new Error(`snapshot image: ${this.file} does not hold the image it was written with (checksum ${(this.crc >>> 0).toString(16)}, stored ${stored.readUInt32BE(0).toString(16)})`);
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }

  /** nextBlock reads the image's next block (the one right after the current), folding it into the checksum. */
  private nextBlock(): void {
    const start = this.blockStart + this.blockLength;
    const length = Math.min(this.block.length, this.bodyBytes - start);
    if (length <= 0) throw new RangeError('snapshot image: read past the image');
    this.readFully(this.block, 0, length, start);
    this.crc = crc32(this.block.subarray(0, length), this.crc);
    this.blockStart = start;
    this.blockLength = length;
  }

  /** readFully reads `length` image bytes from `from` into `into` at `at`. */
  private readFully(into: Uint8Array, at: number, length: number, from: number): void {
    if (this.fd === undefined) throw new Error('snapshot image: read after close');
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, into, at + done, length - done, this.offset + from + done);
      if (n === 0) throw new Error(`snapshot image: ${this.file} ended ${length - done} bytes short of the image`);
      done += n;
    }
  }
}
