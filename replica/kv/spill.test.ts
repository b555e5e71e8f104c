// Spilling old values out of the heap (spill.ts): which values the keyspace
// hands to its spill and when (as an encode walks the keys), that reads at
// old revisions, compaction, restore and a snapshot encoder running across
// both see the same data as a store that keeps everything in memory, and that
// a spill is told exactly when a value is no longer referred to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { MAX_SPILLED_LENGTH, MemorySpill, spillRef, spilledLength, spilledPosition } from './spill.ts';
import { Driver, ok } from './testing.ts';

function pair(): { spill: MemorySpill; spilled: Driver; plain: Driver; both: (f: (d: Driver) => void) => void } {
  const spill = new MemorySpill();
  const spilled = new Driver({ spill });
  const plain = new Driver();
  return { spill, spilled, plain, both: (f) => { f(spilled); f(plain); } };
}

test('an encode spills the values that are no longer their key\'s head; old revisions read them back', () => {
  const { spill, spilled, plain, both } = pair();
  both((d) => {
    d.put('k', 'one');
    d.put('k', 'two');
    d.put('other', 'x');
    d.put('k', 'three');
  });
  assert.equal(spill.puts, 0, 'nothing is spilled when it is overwritten');
  both((d) => d.store.snapshot());
  assert.equal(spill.puts, 2, '"one" and "two" were superseded; "three" and "x" are heads');
  both((d) => d.del('k'));
  both((d) => d.store.snapshot());
  assert.equal(spill.puts, 3, 'a delete supersedes the head too');
  both((d) => d.store.snapshot());
  assert.equal(spill.puts, 3, 'each value is spilled once');
  for (let rev = 1; rev <= spilled.store.revision; rev++) {
    assert.deepEqual(spilled.keys('\u0000', '\u0000', { revision: rev }), plain.keys('\u0000', '\u0000', { revision: rev }), `at revision ${rev}`);
  }
  assert.deepEqual(spilled.keys('\u0000', '\u0000', { revision: 3 }), ['k=two@2/3/v2']);
  const prevKvs = [spilled, plain].map((d) => ok(d.put('other', 'y', { prevKv: true }), 'put').prevKv);
  assert.equal(Buffer.from(prevKvs[0]!.value).toString(), 'x');
  assert.deepEqual(prevKvs[0], prevKvs[1]);
  assert.equal(spilled.store.digest(), plain.store.digest());
  assert.ok(spilled.store.verifyDigest());
  assert.equal(spilled.store.hashKV(0).hash, plain.store.hashKV(0).hash);
  assert.ok(Buffer.from(spilled.store.snapshot()).equals(Buffer.from(plain.store.snapshot())));
});

test('what one encode spills lies in key order, oldest revision first', () => {
  const spill = new MemorySpill();
  const d = new Driver({ spill });
  for (let i = 0; i < 30; i++) d.put(`k${(i * 7) % 10}`, `v${i}`);
  const order: string[] = [];
  const put = spill.put.bind(spill);
  spill.put = (v) => {
    order.push(v);
    return put(v);
  };
  d.store.snapshot();
  const expected = Array.from({ length: 30 }, (_, i) => ({ key: `k${(i * 7) % 10}`, i }))
    .filter(({ i }) => i < 20) // the last write of each key is its head
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
    .map(({ i }) => `v${i}`);
  assert.deepEqual(order, expected);
});

test('compaction lets go of exactly the spilled values it drops', () => {
  const { spill, spilled, both } = pair();
  both((d) => {
    for (let i = 0; i < 10; i++) d.put(`k${i % 3}`, `v${i}`);
    d.store.snapshot();
  });
  assert.equal(spill.referenced, 7);
  const at = spilled.store.revision - 2;
  both((d) => d.compact(at));
  // Each key keeps its revision in force at `at`; what came before it is gone.
  assert.equal(spill.referenced, 2, 'k0 and k1 each keep the value in force at the compaction, now superseded');
  assert.equal(spill.size, 2, 'no hold: the dropped values are freed at once');
  both((d) => d.compact(d.store.revision));
  assert.equal(spill.referenced, 0);
  assert.equal(spill.size, 0);
});

test('a snapshot encoder keeps what it captured readable through compaction and restore, until it is closed', () => {
  const spill = new MemorySpill();
  const d = new Driver({ spill });
  for (let i = 0; i < 40; i++) d.put(`k${i % 4}`, `value-${i}`);
  const expected = Buffer.from(d.store.snapshot());
  assert.equal(spill.size, 36);
  const encoder = d.store.streamSnapshot(64);
  d.compact(d.store.revision);
  assert.equal(spill.referenced, 0, 'the store no longer refers to any old value');
  assert.equal(spill.size, 36, 'the encoder\'s hold keeps them');
  const other = new Driver();
  other.put('z', 'zz');
  d.store.restore(other.store.snapshot());
  const parts: Buffer[] = [];
  while (!encoder.done) {
    encoder.step(3);
    const c = encoder.takeChunk();
    if (c) parts.push(Buffer.from(c));
  }
  assert.ok(Buffer.concat(parts).equals(expected), 'the image is the state at the capture');
  assert.equal(spill.size, 36, 'still held: the host has not closed the encoder');
  assert.equal(spill.puts, 36, 'the encode of the replaced keyspace spilled nothing more');
  encoder.close();
  encoder.close();
  assert.equal(spill.size, 0, 'closed: freed');
  assert.throws(() => encoder.step(1), /closed/);
  // encodeAll closes by itself.
  d.put('z', 'zzz');
  d.store.snapshot();
  assert.equal(spill.size, 1);
  const whole = d.store.beginSnapshot();
  d.compact(d.store.revision);
  assert.equal(spill.size, 1);
  whole.encodeAll();
  assert.equal(spill.size, 0);
});

test('an encode leaves alone a history replaced since its capture', () => {
  const spill = new MemorySpill();
  const d = new Driver({ spill });
  for (let i = 0; i < 6; i++) d.put(i % 2 ? 'a' : 'b', `v${i}`);
  const encoder = d.store.beginSnapshot();
  d.compact(d.store.revision - 1); // replaces both histories
  d.put('a', 'later');
  encoder.encodeAll();
  assert.equal(spill.puts, 0, 'nothing spilled for arrays the keyspace no longer holds');
  d.store.snapshot();
  assert.equal(spill.referenced, 2, 'the next encode spills what the current history holds: a\'s v3 (in force at the compaction) and v5');
});

test('restore spills the old values of the image and retires everything before', () => {
  const source = new Driver();
  for (let i = 0; i < 12; i++) source.put(`k${i % 5}`, `v${i}`);
  source.del('k4');
  const spill = new MemorySpill();
  const d = new Driver({ spill });
  for (let i = 0; i < 6; i++) d.put('mine', `${i}`);
  d.store.snapshot();
  assert.equal(spill.referenced, 5);
  d.store.restore(source.store.snapshot());
  assert.equal(spill.referenced, 13 - 5, '13 revisions, of which 5 are heads (k4\'s a tombstone)');
  assert.equal(spill.size, 8, 'the old keyspace\'s values were freed (no hold)');
  for (let rev = 1; rev <= source.store.revision; rev++) assert.deepEqual(d.keys('\u0000', '\u0000', { revision: rev }), source.keys('\u0000', '\u0000', { revision: rev }));
  assert.ok(Buffer.from(d.store.snapshot()).equals(Buffer.from(source.store.snapshot())));
});

test('a value the spill refuses stays in memory and reads the same', () => {
  const spill = new MemorySpill();
  const d = new Driver({ spill });
  const big = 'b'.repeat(MAX_SPILLED_LENGTH + 1);
  d.put('k', big);
  d.put('k', 'small');
  d.store.snapshot();
  assert.equal(spill.puts, 0);
  assert.equal(d.keys('\u0000', '\u0000', { revision: 2 })[0].length, `k=${big}@2/2/v1`.length);
});

test('MemorySpill refuses reads of what was let go, but not while held', () => {
  const spill = new MemorySpill();
  const a = spill.put('a')!;
  const c = spill.put('c')!;
  const release = spill.hold();
  spill.drop(a);
  assert.equal(spill.get(a), 'a');
  assert.throws(() => spill.drop(a), /dropped twice/);
  release();
  release();
  assert.throws(() => spill.get(a), /not held/);
  spill.retireAll();
  assert.throws(() => spill.get(c), /not held/);
});

test('a reference packs position and length', () => {
  const ref = spillRef(2 ** 32 - 1, MAX_SPILLED_LENGTH);
  assert.ok(Number.isSafeInteger(ref));
  assert.equal(spilledPosition(ref), 2 ** 32 - 1);
  assert.equal(spilledLength(ref), MAX_SPILLED_LENGTH);
  assert.equal(spilledLength(spillRef(12345, 0)), 0);
  assert.throws(() => spillRef(2 ** 32, 1), /position/);
  assert.throws(() => spillRef(0, MAX_SPILLED_LENGTH + 1), /length/);
});
