// crc32Combine against zlib.crc32 over whole strings, at every kind of split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { crc32Combine } from './crc32-combine.ts';

test('crc32Combine(crc(A), crc(B), |B|) is crc(A ++ B) for random strings and splits', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), (bytes, cut) => {
      const at = bytes.length === 0 ? 0 : cut % (bytes.length + 1);
      const a = bytes.subarray(0, at);
      const b = bytes.subarray(at);
      assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(bytes));
    }),
    { numRuns: 500 },
  );
});

test('crc32Combine: long second parts (lengths with many bits), an empty part, bad lengths', () => {
  const head = randomBytes(37);
  for (const n of [1, 255, 4096, 65_537, 1_048_575, 3_000_001]) {
    const data = randomBytes(n);
    assert.equal(crc32Combine(crc32(head), crc32(data), n), crc32(Buffer.concat([head, data])), `length ${n}`);
  }
  assert.equal(crc32Combine(crc32(head), crc32(new Uint8Array()), 0), crc32(head));
  assert.equal(crc32Combine(0, crc32(head), head.length), crc32(head), 'an empty first part');
  assert.throws(() => crc32Combine(1, 2, -1), RangeError);
  assert.throws(() => crc32Combine(1, 2, 1.5), RangeError);
});
