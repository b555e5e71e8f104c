// Protobuf wire primitives for the hand-written codecs of the few hot
// messages (the put path on the members, kv/put-codec.ts; the benchmark's
// load generator, test/bench/etcd-wire.ts): a writer into one exact-size
// buffer and a reader of varints that are non-negative safe integers.
// It must never guess: the reader answers -1 for a varint it does not handle
// (truncated, longer than 8 bytes, above 2^53 - 1), so its callers can leave
// such input to the general codec (protobufjs).
import { putVarint, varintSize } from '../replica/storage/varint.ts';

/** WIRE_VARINT and WIRE_BYTES are the wire types a tag carries in its low 3 bits. */
export const WIRE_VARINT = 0;
export const WIRE_BYTES = 2;

/** varintLength is the encoded size of a non-negative safe integer (protobuf's varint is the WAL's LEB128). */
export const varintLength = varintSize;

/** bytesFieldLength is the encoded size of a length-delimited field of `len` bytes with a one-byte tag. */
export function bytesFieldLength(len: number): number {
  return 1 + varintLength(len) + len;
}

/** WireWriter writes fields into a buffer sized beforehand; done() checks the size was right. */
export class WireWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(n: number): void {
    this.pos = putVarint(this.buf, this.pos, n);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, WIRE_BYTES);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  uint(field: number, n: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`protobuf wire: sized ${this.buf.length} bytes, wrote ${this.pos}`);
    return this.buf;
  }
}

/** WireReader walks the bytes [pos, end) of a buffer. */
export class WireReader {
  readonly buf: Uint8Array;
  pos: number;
  end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** varint reads a varint holding a non-negative safe integer, or answers -1 (the position is then undefined). */
  varint(): number {
    const buf = this.buf;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) return -1;
      const b = buf[this.pos++];
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value <= Number.MAX_SAFE_INTEGER ? value : -1;
      scale *= 128;
    }
    return -1;
  }
}
