// Key and value representation inside the store. Keys and values are kept as
// latin1 strings: one char per byte, so JavaScript's string order is exactly
// etcd's bytewise key order, and strings are far smaller in memory than
// Uint8Arrays. This module converts at the edges and decodes etcd's
// range-end conventions. It must never allocate more than the conversion needs.
import { Buffer } from 'node:buffer';

/** EMPTY is the zero-length byte string. */
const EMPTY = new Uint8Array(0);

/**
 * asBytes accepts what a caller or protobufjs hands us for a `bytes` field
 * (Uint8Array, or an absent field's default) and returns a Uint8Array.
 * protobufjs decodes an absent bytes field as an empty Array.
 */
export function asBytes(value: Uint8Array | ArrayLike<number> | null | undefined): Uint8Array {
  if (value == null) return EMPTY;
  if (value instanceof Uint8Array) return value;
  return Uint8Array.from(value);
}

/** toLatin1 turns bytes into the store's string form (one char per byte). */
export function toLatin1(value: Uint8Array | ArrayLike<number> | null | undefined): string {
  const bytes = asBytes(value);
  if (bytes.length === 0) return '';
  // a Buffer (what the codecs decode from) is read as it is; a plain Uint8Array through a Buffer view of it
  if (Buffer.isBuffer(bytes)) return bytes.toString('latin1');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** fromLatin1 turns the store's string form back into bytes (a fresh copy). */
export function fromLatin1(value: string): Uint8Array {
  return Buffer.from(value, 'latin1');
}

/**
 * KeyRange is a half-open interval [start, end) of latin1 keys; `end === null`
 * means unbounded. A single-key lookup has `single` set.
 */
export interface KeyRange {
  start: string;
  end: string | null;
  single: boolean;
}

/**
 * keyRange decodes etcd's (key, range_end) pair: an empty range_end means the
 * key alone; range_end "\0" means every key >= key; otherwise [key, range_end).
 */
export function keyRange(key: Uint8Array | ArrayLike<number> | null | undefined,
  rangeEnd: Uint8Array | ArrayLike<number> | null | undefined): KeyRange {
  const start = toLatin1(key);
  const endBytes = asBytes(rangeEnd);
  if (endBytes.length === 0) return { start, end: start + '\u0000', single: true };
  if (endBytes.length === 1 && endBytes[0] === 0) return { start, end: null, single: false };
  return { start, end: toLatin1(endBytes), single: false };
}

/** inRange tells whether latin1 `key` lies in `range`. */
export function inRange(key: string, range: KeyRange): boolean {
  return key >= range.start && (range.end === null || key < range.end);
}

/** prefixEnd returns the range end that selects every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff: no upper bound, which etcd spells "\0".
  return new Uint8Array([0]);
}
