// Snapshots travel as chunked uploads on their own connection, are reassembled
// byte for byte, and the sender learns how each one ended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { callMetadata, raftServiceDefinition } from './service.ts';
import type { Chunk } from './snapshot-assembler.ts';
import { app, startMember, waitFor } from './testkit.ts';
import { RAFT_SERVICE } from './wire.ts';

function snap(from: number, to: number, bytes: number): Message {
  const data = new Uint8Array(randomBytes(bytes));
  return message({
    type: 'snap',
    from,
    to,
    term: 3,
    snapshot: { metadata: { index: 1000, term: 3, confState: { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data },
  });
}

test('a 20 MiB snapshot is chunked, reassembled byte for byte, and reported ok', async (t) => {
  const [a, b] = await Promise.all([startMember(1), startMember(2)]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  const m = snap(1, 2, 20 * 1024 * 1024);
  const started = performance.now();
  a.transport.send([m, app(1, 2, 7)]); // the append travels on the stream, not behind the snapshot
  await waitFor('sender told how it went', () => a.snapshotStatus.length === 1, 20_000);
  const ms = performance.now() - started;
  assert.deepEqual(a.snapshotStatus, [{ peer: 2, ok: true }]);

  assert.equal(b.received.length, 2);
  assert.equal(b.received[0].type, 'app', 'the stream is not blocked by the snapshot upload');
  const got = b.received[1];
  assert.equal(got.type, 'snap');
  assert.deepEqual(got.snapshot!.metadata, m.snapshot!.metadata);
  assert.equal(got.snapshot!.data.length, m.snapshot!.data.length);
  assert.equal(Buffer.compare(got.snapshot!.data, m.snapshot!.data), 0, 'bytes differ');
  assert.deepEqual({ ...got, snapshot: undefined }, { ...m, snapshot: undefined });
  assert.equal(b.transport.stats().snapshots.chunksReceived, 20); // 1 MiB chunks
  assert.equal(a.transport.stats().snapshots.sent, 1);
  t.diagnostic(`20 MiB snapshot delivered in ${ms.toFixed(0)} ms (${(20 / (ms / 1000)).toFixed(0)} MiB/s)`);
});

test('a snapshot above the receiver limit is refused and reported failed', async (t) => {
  const [a, b] = await Promise.all([startMember(1), startMember(2, { tuning: { maxSnapshotBytes: 1024 * 1024 } })]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  a.transport.send([snap(1, 2, 2 * 1024 * 1024)]);
  await waitFor('sender told it failed', () => a.snapshotStatus.length === 1, 10_000);
  assert.deepEqual(a.snapshotStatus, [{ peer: 2, ok: false }]);
  assert.equal(b.received.length, 0);
  assert.equal(b.transport.stats().snapshots.receiveFailed, 1);
  // The link itself is unaffected: messages still flow and the next snapshot that fits goes through.
  a.transport.send([app(1, 2, 1), snap(1, 2, 1000)]);
  await waitFor('later traffic delivered', () => b.received.length === 2 && a.snapshotStatus.length === 2, 10_000);
  assert.deepEqual(a.snapshotStatus[1], { peer: 2, ok: true });
});

test('a snapshot to an unreachable peer is reported failed', async (t) => {
  const a = await startMember(1, { tuning: { connectTimeoutMs: 500 } });
  const gone = await startMember(2);
  const url = gone.transport.listenUrl;
  await gone.transport.close();
  t.after(() => a.transport.close());
  a.transport.addPeer(2, url);
  a.transport.send([snap(1, 2, 4096)]);
  await waitFor('sender told it failed', () => a.snapshotStatus.length === 1, 5000);
  assert.deepEqual(a.snapshotStatus, [{ peer: 2, ok: false }]);
});

test('uploads for another member are refused; a newer upload from the same member supersedes the older', async (t) => {
  const b = await startMember(2);
  t.after(() => b.transport.close());
  const Client = grpc.makeGenericClientConstructor(raftServiceDefinition(), RAFT_SERVICE);
  const client = new Client(`127.0.0.1:${new URL(b.transport.listenUrl).port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    SendSnapshot(md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void): grpc.ClientWritableStream<Chunk>;
  };
  t.after(() => client.close());
  const upload = () => {
    let done!: (e: grpc.ServiceError | null) => void;
    const result = new Promise<grpc.ServiceError | null>((r) => (done = r));
    const call = client.SendSnapshot(callMetadata(1, 'test-cluster'), (err) => done(err));
    call.on('error', () => {});
    return { call, result };
  };
  const firstChunk = (m: Message): Chunk => ({ message: { ...m, snapshot: { ...m.snapshot!, data: new Uint8Array(0) } }, totalBytes: 10, crc32: 0, offset: 0, data: new Uint8Array(5) });

  const misaddressed = upload();
  misaddressed.call.write(firstChunk(snap(1, 3, 10)));
  const err = await misaddressed.result;
  assert.equal(err?.code, grpc.status.FAILED_PRECONDITION);
  assert.match(err!.details, /addressed to member 3, not to this member 2/);

  const older = upload();
  older.call.write(firstChunk(snap(1, 2, 10)));
  await waitFor('older upload under way', () => b.transport.stats().snapshots.chunksReceived === 2);
  const newer = upload();
  newer.call.write(firstChunk(snap(1, 2, 10)));
  const olderErr = await older.result;
  assert.equal(olderErr?.code, grpc.status.ABORTED);
  assert.match(olderErr!.details, /superseded by a newer snapshot upload from member 1/);
  newer.call.end(); // only 5 of 10 bytes: refused as incomplete, nothing delivered
  assert.match((await newer.result)!.details, /after 5 of 10 bytes/);
  assert.equal(b.received.length, 0);
});
