// A snapshot's data is its envelope then the KV image, and decodes to the
// same parts; a batch of KV entries is packed into one buffer of exactly their bytes;
// delta snapshots' data merged in slices is the data merged at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Driver } from '../kv/testing.ts';
import type { DeltaBase } from '../kv/snapshot.ts';
import { decodeEntry, decodeSnapshot, encodeKvEntries, encodeKvEntry, encodeSnapshot, mergeSnapshotData, mergeSnapshotDataInSlices, snapshotEnvelope } from './envelope.ts';

test('a snapshot is the envelope then the KV image, and decodes to its parts', () => {
  const d = new Driver();
  for (let i = 0; i < 50; i++) d.put(`k/${i % 9}`, 'v'.repeat(i));
  for (const members of [new Uint8Array(0), Uint8Array.from([1, 2, 3, 4, 5])]) {
    const kv = d.store.snapshot();
    const data = encodeSnapshot(members, kv);
    assert.deepEqual(Buffer.from(data), Buffer.concat([snapshotEnvelope(members), kv]));
    const parts = decodeSnapshot(data);
    assert.deepEqual(Uint8Array.from(parts.members), members);
    assert.deepEqual(Buffer.from(parts.kv), Buffer.from(kv));
  }
  assert.throws(() => decodeSnapshot(snapshotEnvelope(Uint8Array.from([1, 2, 3])).subarray(0, 9)), /truncated/);
});

test('encodeKvEntries: the bytes of encodeKvEntry per command, in one exact-size buffer that holds nothing else', () => {
  // The commands are views into a larger shared buffer, as protobufjs's
  // output (a Buffer pool slab) or a request frame would be.
  const pool = Buffer.alloc(8192, 0xee);
  const commands = [pool.subarray(100, 360), pool.subarray(2000, 2001), pool.subarray(4000, 4000), pool.subarray(5000, 5300)];
  commands[0].fill(1);
  commands[3].fill(3);
  const entries = encodeKvEntries(0x1234_5678_9abc, commands);
  assert.equal(entries.length, commands.length);
  const shared = entries[0].buffer;
  assert.equal(shared.byteLength, commands.reduce((n, c) => n + 9 + c.length, 0), 'the buffer is exactly the entries');
  for (let i = 0; i < commands.length; i++) {
    assert.equal(entries[i].buffer, shared, 'one buffer for the batch');
    assert.notEqual(entries[i].buffer, pool.buffer, 'never a view of the command source');
    assert.deepEqual(Uint8Array.from(entries[i]), encodeKvEntry(0x1234_5678_9abc, commands[i]));
    const payload = decodeEntry(entries[i]);
    assert.equal(payload.kind, 'kv');
    if (payload.kind === 'kv') {
      assert.equal(payload.proposer, 0x1234_5678_9abc);
      assert.deepEqual(Uint8Array.from(payload.command), Uint8Array.from(commands[i]));
    }
  }
  pool.fill(0);
  const first = decodeEntry(entries[0]);
  assert.ok(first.kind === 'kv');
  assert.deepEqual(Uint8Array.from(first.command), new Uint8Array(260).fill(1), 'the commands were copied');
  assert.deepEqual(encodeKvEntries(1, []), []);
});

test('a publish entry whose JSON is not the shape a member writes is refused with an Error, never a TypeError', () => {
  const publish = (json: string) => Buffer.concat([Buffer.from([2]), Buffer.from(json)]);
  const good = decodeEntry(publish('{"id":3,"name":"m3","clientURLs":["https://127.0.0.1:2379"]}'));
  assert.deepEqual(good, { kind: 'publish', id: 3, name: 'm3', clientURLs: ['https://127.0.0.1:2379'] });
  assert.deepEqual(decodeEntry(publish('{"id":3,"name":"m3"}')), { kind: 'publish', id: 3, name: 'm3', clientURLs: [] });
  for (const [json, why] of [
    ['{"id":3,"name":"m3","clientURLs":3}', /clientURLs is not a list of strings/],
    ['{"id":3,"clientURLs":[1]}', /clientURLs is not a list of strings/],
    ['{"id":"3","clientURLs":[]}', /id is not a number/],
    ['null', /not a JSON object/],
    ['[1]', /id is not a number/],
  ] as const) {
    assert.throws(() => decodeEntry(publish(json)), (e: unknown) => e instanceof Error && !(e instanceof TypeError) && why.test(e.message), json);
  }
});

/** image runs a streaming encode of the store to its end (a delta of `since` when given) and returns it with what a next delta may extend. */
function image(d: Driver, since?: DeltaBase): { bytes: Uint8Array; base: DeltaBase | undefined } {
  const encoder = d.store.streamSnapshot(1 << 16, undefined, since);
  const chunks: Buffer[] = [];
  for (;;) {
    const complete = encoder.step(1000);
    const chunk = encoder.takeChunk();
    if (chunk) chunks.push(Buffer.from(chunk));
    if (complete && encoder.done) break;
  }
  encoder.close();
  return { bytes: Buffer.concat(chunks), base: encoder.deltaBase };
}

test('a chain merged in slices is the chain merged at once, and the loop runs between the slices', async () => {
  const d = new Driver();
  for (let i = 0; i < 3000; i++) d.put(`k/${i}`, `v${i}`);
  const whole = image(d);
  const root = encodeSnapshot(Uint8Array.from([1]), whole.bytes);
  const deltas: Uint8Array[] = [];
  let since = whole.base;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3000; i += 3) d.put(`k/${i}`, `w${round}/${i}`);
    const delta = image(d, since);
    since = delta.base;
    deltas.push(encodeSnapshot(Uint8Array.from([2, round]), delta.bytes));
  }
  const atOnce = Buffer.from(mergeSnapshotData(root, deltas));
  assert.deepEqual(Buffer.from(decodeSnapshot(atOnce).kv), Buffer.from(d.store.snapshot()));
  let turns = 0;
  let merging = true;
  const count = () => {
    turns++;
    if (merging) setImmediate(count);
  };
  setImmediate(count);
  const sliced = Buffer.from(await mergeSnapshotDataInSlices(root, deltas, 0));
  merging = false;
  assert.ok(sliced.equals(atOnce), 'merged in slices, the data differs');
  assert.ok(turns >= 3, `the loop turned ${turns} times during the merge`);
  await assert.rejects(mergeSnapshotDataInSlices(root, [deltas[1]], 0), /extends revision/);
});
