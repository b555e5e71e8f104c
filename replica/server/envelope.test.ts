// The snapshot envelope built around a KV image written with headroom is the
// same bytes as the one built by copying, and decodes to the same parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Driver } from '../kv/testing.ts';
import { decodeSnapshot, encodeSnapshot, encodeSnapshotAround, snapshotHeadroom } from './envelope.ts';

test('encodeSnapshotAround writes the envelope into the headroom: same bytes as encodeSnapshot, no copy of the image', () => {
  const d = new Driver();
  for (let i = 0; i < 50; i++) d.put(`k/${i % 9}`, 'v'.repeat(i));
  for (const members of [new Uint8Array(0), Uint8Array.from([1, 2, 3, 4, 5])]) {
    const copied = encodeSnapshot(members, d.store.snapshot());
    const wide = d.store.snapshot(snapshotHeadroom(members));
    const around = encodeSnapshotAround(members, wide);
    assert.equal(around, wide, 'the KV buffer itself is the envelope');
    assert.deepEqual(Uint8Array.from(around), copied);
    const parts = decodeSnapshot(around);
    assert.deepEqual(Uint8Array.from(parts.members), members);
    assert.deepEqual(Buffer.from(parts.kv), d.store.snapshot());
  }
  assert.throws(() => encodeSnapshotAround(Uint8Array.from([1, 2, 3]), new Uint8Array(4)), /no room for the envelope header/);
});
