// Unsigned LEB128 varints for the non-negative safe integers (0 .. 2^53-1) that
// indices, terms and ids are. Arithmetic rather than 32-bit bitwise operators, so
// values above 2^32 survive. Must never accept a value it cannot round-trip:
// negative, fractional or unsafe numbers are rejected on encode, and encodings
// longer than 8 bytes or above 2^53-1 are rejected on decode.

/** MAX_VARINT_BYTES: 8 groups of 7 bits cover 56 bits, enough for 2^53-1. */
export const MAX_VARINT_BYTES = 8;

/** varintSize is the number of bytes putVarint writes for v. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** checkUint throws unless v is a non-negative safe integer; `what` names the field for the message. */
export function checkUint(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
}

/** putVarint writes v at off and returns the offset after it. The caller has checked v and sized buf. */
export function putVarint(buf: Uint8Array, off: number, v: number): number {
  while (v >= 128) {
    buf[off++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  buf[off++] = v;
  return off;
}

/** VarintReader decodes consecutive fields from one record body; any malformation throws RangeError. */
export class VarintReader {
  private readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  uint(what: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.buf.length) throw new RangeError(`${what}: varint runs past the end of the record`);
      const b = this.buf[this.pos++];
      v += (b & 127) * scale;
      if (b < 128) {
        if (i > 0 && b === 0) throw new RangeError(`${what}: varint has a redundant zero byte`);
        if (!Number.isSafeInteger(v)) throw new RangeError(`${what}: varint exceeds 2^53-1`);
        return v;
      }
      scale *= 128;
    }
    throw new RangeError(`${what}: varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  byte(what: string): number {
    if (this.pos >= this.buf.length) throw new RangeError(`${what}: missing byte at the end of the record`);
    return this.buf[this.pos++];
  }

  bytes(n: number, what: string): Uint8Array {
    if (this.pos + n > this.buf.length) throw new RangeError(`${what}: ${n} bytes run past the end of the record`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** end throws if bytes are left over: a record with trailing bytes is not one we wrote. */
  end(what: string): void {
    if (this.pos !== this.buf.length) throw new RangeError(`${what}: ${this.buf.length - this.pos} unexpected trailing bytes`);
  }
}
