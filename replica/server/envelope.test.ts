// A snapshot's data is its envelope then the KV image, and decodes to the
// same parts; a batch of KV entries is packed into one buffer of exactly their bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Driver } from '../kv/testing.ts';
import { decodeEntry, decodeSnapshot, encodeKvEntries, encodeKvEntry, encodeSnapshot, snapshotEnvelope } from './envelope.ts';

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
