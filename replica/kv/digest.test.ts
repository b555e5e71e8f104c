// keyHash must give the same 64 bits as SHA-256 over its documented encoding,
// whatever path it takes (the reused buffer or, for a long key and value, a
// fresh one): members of different versions compare digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fc from 'fast-check';
import { keyHash } from './digest.ts';

function reference(key: string, value: string, create: number, mod: number, version: number): { hi: number; lo: number } {
  // What every earlier version computed: SHA-256 of the JS string (hashed as UTF-8).
  const sum = crypto.createHash('sha256').update(`${key.length},${create},${mod},${version},${key}${value}`).digest();
  return { hi: sum.readUInt32BE(0), lo: sum.readUInt32BE(4) };
}

const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }).map((codes) => String.fromCharCode(...codes));

test('keyHash is the first 64 bits of SHA-256 over the encoding', () => {
  fc.assert(
    fc.property(latin1, latin1, fc.nat(), fc.nat(), fc.nat(), (key, value, create, mod, version) => {
      assert.deepEqual(keyHash(key, value, create, mod, version), reference(key, value, create, mod, version));
    }),
    { numRuns: 500 },
  );
  // Chars at and above 0x80 (two UTF-8 bytes each), and past the reused buffer.
  assert.deepEqual(keyHash('\u00e9', '\u0080\u00ff', 2, 2, 1), reference('\u00e9', '\u0080\u00ff', 2, 2, 1));
  const big = 'v'.repeat(70_000);
  assert.deepEqual(keyHash('k', big, 1, 2, 3), reference('k', big, 1, 2, 3));
  assert.deepEqual(keyHash('a', 'b', 2, 2, 1), reference('a', 'b', 2, 2, 1));
});
