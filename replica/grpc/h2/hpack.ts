// HPACK (RFC 7541) for our HTTP/2 server: a decoder of request header blocks
// (static and dynamic table, integers, literal and Huffman-coded strings,
// table size updates) and an encoder of response header blocks that never
// indexes and never Huffman-codes (both optional for an encoder, and our
// responses are a handful of short fields). It must never let a header block
// grow the decoded list past its bound (a few bytes of indexed references can
// name kilobytes), and never index a field the peer did not ask to index: the
// two tables must stay in step or every later block decodes wrong.
import { huffmanDecode, HuffmanError } from './huffman.ts';

/** HpackError is a header block that cannot be decoded; the connection cannot go on (COMPRESSION_ERROR). */
export class HpackError extends Error {}

/** HeaderListTooLarge is a header block whose decoded list passes the bound; the connection is closed. */
export class HeaderListTooLarge extends HpackError {}

export type HeaderField = [name: string, value: string];

/** STATIC_TABLE is RFC 7541 Appendix A: index i + 1 is STATIC_TABLE[i]. */
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
  [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
  [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''], ['accept-ranges', ''], ['accept', ''], ['access-control-allow-origin', ''],
  ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''],
  ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''],
  ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''],
  ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''],
  ['retry-after', ''], ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''],
  ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** ENTRY_OVERHEAD is what RFC 7541 (4.1) adds to a field's name and value octets when sizing the dynamic table. */
const ENTRY_OVERHEAD = 32;

/**
 * HpackDecoder decodes the header blocks of one connection, in order. Its
 * dynamic table may grow to `tableLimit` octets (the SETTINGS_HEADER_TABLE_SIZE
 * we advertise; 4096 is the protocol's default).
 */
export class HpackDecoder {
  /** the dynamic table, oldest first: dynamic index 1 (HPACK index 62) is the last element */
  readonly #table: HeaderField[] = [];
  #tableSize = 0;
  #maxTableSize: number;
  readonly #tableLimit: number;
  /** where decode() stands in the block it is decoding */
  #pos = 0;

  constructor(tableLimit = 4096) {
    this.#tableLimit = tableLimit;
    this.#maxTableSize = tableLimit;
  }

  /**
   * decode returns the fields of one complete header block. A decoded list
   * over `maxListSize` (names, values and 32 octets per field) or
   * `maxFields` fields throws HeaderListTooLarge; a malformed block throws
   * HpackError.
   */
  decode(block: Buffer, maxListSize: number, maxFields: number): HeaderField[] {
    const out: HeaderField[] = [];
    let listSize = 0;
    this.#pos = 0;
    const end = block.length;
    while (this.#pos < end) {
      const b = block[this.#pos];
      let field: HeaderField;
      if (b & 0x80) {
        // indexed field
        field = this.#lookup(this.#int(block, 7));
      } else if (b & 0x40) {
        // literal with incremental indexing
        const index = this.#int(block, 6);
        const name = index === 0 ? this.#string(block) : this.#lookup(index)[0];
        field = [name, this.#string(block)];
        this.#add(field);
      } else if (b & 0x20) {
        // dynamic table size update: only before the first field of a block
        if (out.length > 0) throw new HpackError('HPACK: a table size update after a header field');
        const size = this.#int(block, 5);
        if (size > this.#tableLimit) throw new HpackError(`HPACK: table size update to ${size}, over the ${this.#tableLimit} allowed`);
        this.#maxTableSize = size;
        this.#evict(0);
        continue;
      } else {
        // literal without indexing (0000) or never indexed (0001)
        const index = this.#int(block, 4);
        const name = index === 0 ? this.#string(block) : this.#lookup(index)[0];
        field = [name, this.#string(block)];
      }
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > maxListSize || out.length >= maxFields) {
        throw new HeaderListTooLarge(`HPACK: the header list is over ${maxListSize} octets or ${maxFields} fields`);
      }
      out.push(field);
    }
    return out;
  }

  /** int reads an integer with an n-bit prefix at the current position (RFC 7541, 5.1). */
  #int(block: Buffer, n: number): number {
    const mask = (1 << n) - 1;
    let value = block[this.#pos++] & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.#pos >= block.length) throw new HpackError('HPACK: an integer runs past the end of the block');
      const byte = block[this.#pos++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) break;
      if (shift > 28) throw new HpackError('HPACK: an integer over 2^35');
    }
    return value;
  }

  /** string reads a string literal (RFC 7541, 5.2) as latin1. */
  #string(block: Buffer): string {
    if (this.#pos >= block.length) throw new HpackError('HPACK: a string is missing at the end of the block');
    const huffman = (block[this.#pos] & 0x80) !== 0;
    const length = this.#int(block, 7);
    const start = this.#pos;
    const end = start + length;
    if (end > block.length) throw new HpackError('HPACK: a string runs past the end of the block');
    this.#pos = end;
    if (!huffman) return block.toString('latin1', start, end);
    try {
      return huffmanDecode(block, start, end);
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }

  #lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError('HPACK: index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const d = index - STATIC_TABLE.length;
    if (d > this.#table.length) throw new HpackError(`HPACK: index ${index} is past the dynamic table (${this.#table.length} entries)`);
    return this.#table[this.#table.length - d];
  }

  #add(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    if (size > this.#maxTableSize) {
      // RFC 7541, 4.4: an entry larger than the table empties it and is not added
      this.#evict(this.#maxTableSize);
      return;
    }
    this.#evict(size);
    this.#table.push(field);
    this.#tableSize += size;
  }

  /** evict drops the oldest entries until `room` more octets fit. */
  #evict(room: number): void {
    let drop = 0;
    while (this.#tableSize + room > this.#maxTableSize && drop < this.#table.length) {
      const [name, value] = this.#table[drop++];
      this.#tableSize -= name.length + value.length + ENTRY_OVERHEAD;
    }
    if (drop > 0) this.#table.splice(0, drop);
  }
}

/** encodeInt writes an integer with an n-bit prefix whose other bits are `flags` (RFC 7541, 5.1). */
function encodeInt(out: number[], value: number, n: number, flags: number): void {
  const mask = (1 << n) - 1;
  if (value < mask) {
    out.push(flags | value);
    return;
  }
  out.push(flags | mask);
  value -= mask;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/**
 * encodeHeaderBlock encodes response fields, each as a literal without
 * indexing with a literal name and a plain (not Huffman-coded) latin1 value,
 * except ":status: 200", which is static index 8. Names must be lowercase.
 */
export function encodeHeaderBlock(fields: Iterable<HeaderField>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    if (name === ':status' && value === '200') {
      parts.push(STATUS_200);
      continue;
    }
    const prefix: number[] = [];
    encodeInt(prefix, 0, 4, 0x00);
    encodeInt(prefix, name.length, 7, 0x00);
    const mid: number[] = [];
    encodeInt(mid, value.length, 7, 0x00);
    parts.push(Buffer.from(prefix), Buffer.from(name, 'latin1'), Buffer.from(mid), Buffer.from(value, 'latin1'));
  }
  return Buffer.concat(parts);
}

const STATUS_200 = Buffer.from([0x88]);
