// Members of two versions in one group (a rolling upgrade): the peer wire is
// plain gRPC, so a member whose links and server are grpc-js (the transport
// before item 26) and one on our own gRPC code must understand each other in
// both directions, snapshots included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { Message } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { encodedMessageSize, type Frame } from './batch-codec.ts';
import { callMetadata, raftServiceDefinition, serverOptions } from './service.ts';
import { DEFAULT_TUNING } from './transport.ts';
import { RAFT_SERVICE } from './wire.ts';
import { app, startMember, waitFor } from './testkit.ts';

/** startGrpcJsMember serves the Raft service with grpc-js: it acknowledges streams as member `id` and records what arrives. */
async function startGrpcJsMember(id: number) {
  const received: Message[] = [];
  const snapshots: Message[] = [];
  const server = new grpc.Server(serverOptions(DEFAULT_TUNING));
  server.addService(raftServiceDefinition(), {
    Stream: (call: grpc.ServerDuplexStream<Message[], { memberId: number }>) => {
      call.write({ memberId: id });
      call.on('data', (msgs: Message[]) => received.push(...msgs));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
    SendSnapshot: (call: grpc.ServerReadableStream<{ message?: Message; data: Uint8Array }, unknown>, cb: grpc.sendUnaryData<{ receivedBytes: number }>) => {
      let bytes = 0;
      let first: Message | undefined;
      call.on('data', (c: { message?: Message; data: Uint8Array }) => {
        first ??= c.message;
        bytes += c.data.length;
      });
      call.on('end', () => {
        if (first) snapshots.push(first);
        cb(null, { receivedBytes: bytes });
      });
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { url: `http://127.0.0.1:${port}`, received, snapshots, close: () => server.forceShutdown() };
}

test('our links deliver to a grpc-js member: raft frames in order and a chunked snapshot', async (t) => {
  const old = await startGrpcJsMember(2);
  t.after(() => old.close());
  const a = await startMember(1, { tuning: { snapshotChunkBytes: 1000 } });
  t.after(() => a.transport.close());
  a.transport.addPeer(2, old.url);
  for (let i = 0; i < 50; i++) a.transport.send([app(1, 2, i, 300)]);
  await waitFor('the grpc-js member received all 50', () => old.received.length === 50);
  assert.deepEqual(
    old.received.map((m) => m.index),
    Array.from({ length: 50 }, (_, i) => i),
  );
  const data = new Uint8Array(4500).map((_, i) => i % 251);
  a.transport.send([message({ type: 'snap', from: 1, to: 2, term: 3, snapshot: { metadata: { index: 9, term: 3, confState: { voters: [1, 2], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }, data } })]);
  await waitFor('the snapshot upload reported done', () => a.snapshotStatus.length === 1);
  assert.deepEqual(a.snapshotStatus, [{ peer: 2, ok: true }]);
  assert.equal(old.snapshots.length, 1);
  assert.equal(old.snapshots[0].snapshot?.metadata.index, 9);
});

test('a grpc-js member\'s stream reaches our server: acknowledged as this member, its frames delivered', async (t) => {
  const b = await startMember(2);
  t.after(() => b.transport.close());
  const Client = grpc.makeGenericClientConstructor(raftServiceDefinition(), RAFT_SERVICE);
  const client = new Client(new URL(b.transport.listenUrl).host, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Stream(md: grpc.Metadata): grpc.ClientDuplexStream<Frame, { memberId: number }>;
  };
  t.after(() => client.close());
  const call = client.Stream(callMetadata(1, 'test-cluster'));
  call.on('error', () => {});
  const acks: number[] = [];
  call.on('data', (ack) => acks.push(ack.memberId));
  await waitFor('the acknowledgement', () => acks.length === 1);
  assert.deepEqual(acks, [2]);
  for (let i = 0; i < 20; i++) {
    const messages = [app(1, 2, 2 * i, 100), app(1, 2, 2 * i + 1, 100)];
    call.write({ messages, sizes: messages.map(encodedMessageSize) });
  }
  await waitFor('all 40 delivered', () => b.received.length === 40);
  assert.deepEqual(
    b.received.map((m) => m.index),
    Array.from({ length: 40 }, (_, i) => i),
  );
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.end();
  assert.equal((await status).code, grpc.status.OK);
});
