// DER (the distinguished encoding of ASN.1) as X.509 needs it: writers for the
// handful of types a certificate uses, and a bounds-checked reader of
// tag-length-value elements. Pure byte work on Buffers.
// It must never read past the element it was given, accept a length it cannot
// verify (indefinite or non-minimal lengths), or throw anything but DerError.

/** DerError is a malformed or unsupported DER encoding. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal and context tags used by X.509 (the whole identifier octet). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** contextTag is the identifier of [n], constructed (EXPLICIT or structured IMPLICIT) or primitive (IMPLICIT). */
export function contextTag(n: number, constructed: boolean): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new DerError(`context tag [${n}] is out of range`);
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

// ---- writing -----------------------------------------------------------------

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

/** tlv encodes one element with the given identifier octet and contents. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** set encodes a SET OF; DER orders the encoded members bytewise. */
export function set(...items: Uint8Array[]): Buffer {
  const sorted = [...items].map((i) => Buffer.from(i)).sort(Buffer.compare);
  return tlv(TAG.SET, Buffer.concat(sorted));
}

/** integer encodes a non-negative INTEGER from a bigint, a safe integer, or big-endian magnitude bytes. */
export function integer(value: bigint | number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
  } else {
    let v = BigInt(value);
    if (v < 0n) throw new DerError('negative INTEGERs are not supported');
    const out: number[] = [];
    do {
      out.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (v > 0n);
    bytes = Buffer.from(out);
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

export function boolean(v: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** bitString encodes whole bytes (no unused bits), as keys and signatures are carried. */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes]));
}

/**
 * namedBitString encodes a named-bit list (KeyUsage): bit 0 is the most
 * significant bit of the first byte; DER drops trailing zero bits.
 */
export function namedBitString(bits: number[]): Buffer {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Buffer.from([0]));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) throw new DerError(`invalid bit number ${b}`);
    bytes[Math.floor(b / 8)] |= 0x80 >> b % 8;
  }
  const unused = 7 - (highest % 8);
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unused]), bytes]));
}

function ascii(kind: string, s: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new DerError(`${kind} must be ASCII, got ${JSON.stringify(s)}`);
  return Buffer.from(s, 'latin1');
}

export function utf8String(s: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
}

export function ia5String(s: string): Buffer {
  return tlv(TAG.IA5_STRING, ascii('IA5String', s));
}

/** oid encodes an OBJECT IDENTIFIER given in dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map((p) => {
    if (!/^(0|[1-9][0-9]*)$/.test(p)) throw new DerError(`invalid OID ${JSON.stringify(dotted)}`);
    return BigInt(p);
  });
  if (parts.length < 2 || parts[0] > 2n || (parts[0] < 2n && parts[1] > 39n)) throw new DerError(`invalid OID ${JSON.stringify(dotted)}`);
  const arcs = [parts[0] * 40n + parts[1], ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const group: number[] = [];
    let v = arc;
    do {
      group.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < group.length - 1; i++) group[i] |= 0x80;
    out.push(...group);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

/** time encodes a validity time: UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5). */
export function time(d: Date): Buffer {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new DerError('invalid date');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new DerError(`year ${y} cannot be encoded in a certificate`);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${p(y % 100)}${rest}`, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${p(y, 4)}${rest}`, 'latin1'));
}

/** explicit wraps an encoded element in [n] EXPLICIT. */
export function explicit(n: number, inner: Uint8Array): Buffer {
  return tlv(contextTag(n, true), inner);
}

/** implicitPrimitive encodes contents under [n] IMPLICIT for a primitive type. */
export function implicitPrimitive(n: number, content: Uint8Array): Buffer {
  return tlv(contextTag(n, false), content);
}

// ---- reading -----------------------------------------------------------------

/** Element is one decoded TLV: its identifier, contents, and the whole encoding. */
export interface Element {
  tag: number;
  /** contents octets */
  value: Buffer;
  /** the full encoding, identifier to end (what signatures cover) */
  raw: Buffer;
}

/** readElement decodes the element at `offset` of `buf`; returns it and where the next one starts. */
export function readElement(buf: Buffer, offset = 0): { element: Element; next: number } {
  if (offset >= buf.length) throw new DerError('unexpected end of data: expected an element');
  const tag = buf[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tags are not supported (identifier 0x${tag.toString(16)})`);
  let pos = offset + 1;
  if (pos >= buf.length) throw new DerError('unexpected end of data: missing length');
  const first = buf[pos++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError('indefinite lengths are not DER');
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError(`length of ${n} bytes is too large`);
    if (pos + n > buf.length) throw new DerError('unexpected end of data: truncated length');
    if (buf[pos] === 0) throw new DerError('non-minimal length encoding');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos + i];
    if (length < 0x80) throw new DerError('non-minimal length encoding');
    pos += n;
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError(`element of ${length} bytes runs past the end of its container`);
  return { element: { tag, value: buf.subarray(pos, end), raw: buf.subarray(offset, end) }, next: end };
}

/** readAll decodes the consecutive elements filling `buf` (the contents of a SEQUENCE or SET). */
export function readAll(buf: Buffer): Element[] {
  const out: Element[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const { element, next } = readElement(buf, pos);
    out.push(element);
    pos = next;
  }
  return out;
}

/** readSingle decodes `buf` as exactly one element of the expected tag. */
export function readSingle(buf: Buffer, tag: number, what: string): Element {
  const { element, next } = readElement(buf, 0);
  if (next !== buf.length) throw new DerError(`${what}: ${buf.length - next} trailing bytes`);
  expectTag(element, tag, what);
  return element;
}

export function expectTag(e: Element | undefined, tag: number, what: string): Element {
  if (e === undefined) throw new DerError(`${what}: missing`);
  if (e.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${e.tag.toString(16)}`);
  return e;
}

/** children decodes a constructed element's contents. */
export function children(e: Element, what: string): Element[] {
  if ((e.tag & 0x20) === 0) throw new DerError(`${what}: expected a constructed element`);
  return readAll(e.value);
}

export function readOid(e: Element, what = 'OBJECT IDENTIFIER'): string {
  expectTag(e, TAG.OID, what);
  const b = e.value;
  if (b.length === 0) throw new DerError(`${what}: empty`);
  const arcs: bigint[] = [];
  let v = 0n;
  let started = false;
  for (let i = 0; i < b.length; i++) {
    if (!started && b[i] === 0x80) throw new DerError(`${what}: non-minimal arc`);
    started = true;
    v = (v << 7n) | BigInt(b[i] & 0x7f);
    if ((b[i] & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      started = false;
    } else if (i === b.length - 1) {
      throw new DerError(`${what}: truncated arc`);
    }
  }
  const first = arcs[0];
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** readInteger returns a non-negative INTEGER as a bigint (negative ones are refused). */
export function readInteger(e: Element, what = 'INTEGER'): bigint {
  expectTag(e, TAG.INTEGER, what);
  const b = e.value;
  if (b.length === 0) throw new DerError(`${what}: empty`);
  if (b.length > 1 && ((b[0] === 0 && (b[1] & 0x80) === 0) || (b[0] === 0xff && (b[1] & 0x80) !== 0))) {
    throw new DerError(`${what}: non-minimal encoding`);
  }
  if (b[0] & 0x80) throw new DerError(`${what}: negative values are not supported`);
  if (b.length > 64) throw new DerError(`${what}: ${b.length} bytes is too large`);
  return BigInt(`0x${b.toString('hex')}`);
}

export function readBoolean(e: Element, what = 'BOOLEAN'): boolean {
  expectTag(e, TAG.BOOLEAN, what);
  if (e.value.length !== 1) throw new DerError(`${what}: must be one byte`);
  if (e.value[0] !== 0 && e.value[0] !== 0xff) throw new DerError(`${what}: DER booleans are 0x00 or 0xff`);
  return e.value[0] === 0xff;
}

/** readBitString returns the bytes of a BIT STRING and how many trailing bits are unused. */
export function readBitString(e: Element, what = 'BIT STRING'): { bytes: Buffer; unusedBits: number } {
  expectTag(e, TAG.BIT_STRING, what);
  if (e.value.length === 0) throw new DerError(`${what}: empty`);
  const unusedBits = e.value[0];
  if (unusedBits > 7 || (unusedBits > 0 && e.value.length === 1)) throw new DerError(`${what}: invalid unused-bit count ${unusedBits}`);
  return { bytes: e.value.subarray(1), unusedBits };
}

/** readNamedBits lists the set bit numbers of a named-bit BIT STRING. */
export function readNamedBits(e: Element, what = 'BIT STRING'): number[] {
  const { bytes, unusedBits } = readBitString(e, what);
  const out: number[] = [];
  const total = bytes.length * 8 - unusedBits;
  for (let i = 0; i < total; i++) if (bytes[Math.floor(i / 8)] & (0x80 >> i % 8)) out.push(i);
  return out;
}

/** readString decodes the directory-string types a name attribute may use. */
export function readString(e: Element, what = 'string'): string {
  switch (e.tag) {
    case TAG.UTF8_STRING:
      return e.value.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
      return e.value.toString('latin1');
    case TAG.BMP_STRING: {
      if (e.value.length % 2) throw new DerError(`${what}: odd BMPString length`);
      const swapped = Buffer.from(e.value);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (e.value.length % 4) throw new DerError(`${what}: UniversalString length not a multiple of 4`);
      let s = '';
      for (let i = 0; i < e.value.length; i += 4) {
        const cp = e.value.readUInt32BE(i);
        if (cp > 0x10ffff) throw new DerError(`${what}: invalid code point`);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new DerError(`${what}: unsupported string type 0x${e.tag.toString(16)}`);
  }
}

/** readTime decodes UTCTime or GeneralizedTime (the RFC 5280 forms: seconds, Z). */
export function readTime(e: Element, what = 'time'): Date {
  const s = e.value.toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (e.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`${what}: invalid UTCTime ${JSON.stringify(s)}`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (e.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (!m) throw new DerError(`${what}: invalid GeneralizedTime ${JSON.stringify(s)}`);
    year = Number(m[1]);
  } else {
    throw new DerError(`${what}: expected UTCTime or GeneralizedTime, got tag 0x${e.tag.toString(16)}`);
  }
  const [mo, d, h, mi, se] = [2, 3, 4, 5, 6].map((i) => Number(m![i]));
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) throw new DerError(`${what}: out-of-range field in ${JSON.stringify(s)}`);
  const t = Date.UTC(year, mo - 1, d, h, mi, se);
  const date = new Date(t);
  if (date.getUTCDate() !== d) throw new DerError(`${what}: no such day in ${JSON.stringify(s)}`);
  if (year < 100) date.setUTCFullYear(year);
  return date;
}
