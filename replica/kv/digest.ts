// The state digest: a 64-bit fingerprint of the live key-value state (every
// existing key with its value, create revision, mod revision and version)
// that members compare at checkpoints to catch a member whose state diverged.
//
// Choice: a multiset hash (AdHash-style). Each live key contributes
// h(key, value, createRevision, modRevision, version), the first 64 bits of
// SHA-256 over an unambiguous encoding of those fields; the digest is the sum
// of the contributions modulo 2^64. Adding or removing a key is one add or
// subtract, so the digest is maintained in O(1) per write and reading it at a
// checkpoint is O(1). The sum does not depend on the order keys were written
// in, only on the resulting state, and it covers nothing about timing.
//
// Collision properties: for two different states the difference of their
// digests is a sum of per-key SHA-256 prefixes that do not cancel except by
// chance, so an accidental divergence (a bit flip, a lost or extra write, a
// wrong revision) goes unnoticed with probability about 2^-64. It is a
// fault detector, not a defence against an adversary who picks values to
// forge a collision (64 bits and additive combination allow that with effort).
//
// This module must never look at anything but the key's own fields.
import crypto from 'node:crypto';
import { Buffer } from 'node:buffer';

const TWO_32 = 0x1_0000_0000;

/** KeyHash is one key's 64-bit contribution, as two unsigned 32-bit halves. */
export interface KeyHash {
  hi: number;
  lo: number;
}

/**
 * keyHash hashes one live key. `key` and `value` are latin1 strings (one char
 * per byte). The numeric fields and the key length come first, comma
 * separated, so no two different inputs share an encoding.
 */
export function keyHash(key: string, value: string, createRevision: number, modRevision: number, version: number): KeyHash {
  const prefix = `${key.length},${createRevision},${modRevision},${version},`;
  let sum: string;
  // The encoding is hashed as UTF-8 (what hashing the JS string always did:
  // digests must not change between versions), written into one reused
  // buffer and hashed through a view of its exact length: no flattened copy
  // of key and value per hash (two per put).
  if (prefix.length + 2 * (key.length + value.length) <= SCRATCH_BYTES) {
    let at = scratch.write(prefix, 0, 'utf8');
    at += scratch.write(key, at, 'utf8');
    at += scratch.write(value, at, 'utf8');
    sum = crypto.hash('sha256', viewOf(at), 'binary');
  } else {
    sum = crypto.hash('sha256', prefix + key + value, 'binary');
  }
  // The digest as latin1: one char per byte, read without a Buffer.
  const b = (i: number) => sum.charCodeAt(i);
  return { hi: ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0, lo: ((b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7)) >>> 0 };
}

/** the buffer keyHash encodes into, and views of it by length (the lengths a store sees are few) */
const SCRATCH_BYTES = 64 << 10;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
const views = new Map<number, Uint8Array>();

function viewOf(length: number): Uint8Array {
  let v = views.get(length);
  if (v === undefined) {
    if (views.size >= 1024) views.clear();
    v = new Uint8Array(scratch.buffer, scratch.byteOffset, length);
    views.set(length, v);
  }
  return v;
}

/** Digest64 is the running sum modulo 2^64 of key hashes. */
export class Digest64 {
  private hi = 0;
  private lo = 0;

  add(h: KeyHash): void {
    const lo = this.lo + h.lo;
    const carry = lo >= TWO_32 ? 1 : 0;
    this.lo = lo - carry * TWO_32;
    this.hi = (this.hi + h.hi + carry) % TWO_32;
  }

  subtract(h: KeyHash): void {
    let lo = this.lo - h.lo;
    let borrow = 0;
    if (lo < 0) {
      lo += TWO_32;
      borrow = 1;
    }
    this.lo = lo;
    this.hi = (this.hi - h.hi - borrow + 2 * TWO_32) % TWO_32;
  }

  reset(): void {
    this.hi = 0;
    this.lo = 0;
  }

  /** hex renders the digest as 16 lowercase hex digits. */
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
