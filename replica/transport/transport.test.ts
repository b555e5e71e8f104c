// PeerTransport over real gRPC on 127.0.0.1: ordered delivery between three
// members, coalescing under load, the direction rule (a one-way cut), and the
// receiver's checks (cluster id, addressee, sender, member behind a URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import type { Message } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { encodeBatch } from './batch-codec.ts';
import { PeerTransport } from './index.ts';
import { callMetadata, CLUSTER_ID_KEY, MEMBER_ID_KEY, raftServiceDefinition } from './service.ts';
import { app, LinkProxy, startMember, waitFor, type Recorder } from './testkit.ts';
import { RAFT_SERVICE } from './wire.ts';

function seqsFrom(r: Recorder, from: number): number[] {
  return r.received.filter((m) => m.from === from).map((m) => m.index);
}

test('three members deliver every message, in order per sender', async (t) => {
  const members = await Promise.all([1, 2, 3].map((id) => startMember(id)));
  t.after(() => Promise.all(members.map((m) => m.transport.close())));
  for (const a of members) for (const b of members) if (a !== b) a.transport.addPeer(b.transport.memberId, b.transport.listenUrl);

  const perPair = 600;
  let seq = 0;
  // Interleave sends of varying sizes from all three, as raft Ready batches would.
  while (seq < perPair) {
    for (const a of members) {
      const batch: Message[] = [];
      const n = Math.min(1 + ((seq * 7) % 13), perPair - seq);
      for (let i = 0; i < n; i++) for (const b of members) if (b !== a) batch.push(app(a.transport.memberId, b.transport.memberId, seq + i, 32));
      a.transport.send(batch);
    }
    seq += Math.min(1 + ((seq * 7) % 13), perPair - seq);
    if (seq % 50 < 13) await new Promise((r) => setImmediate(r));
  }
  const expected = Array.from({ length: perPair }, (_, i) => i);
  await waitFor('all messages delivered', () => members.every((m) => m.received.length === 2 * perPair), 10_000);
  for (const r of members) {
    for (const from of [1, 2, 3]) {
      if (from === r.transport.memberId) continue;
      assert.deepEqual(seqsFrom(r, from), expected, `member ${r.transport.memberId} from ${from}`);
    }
    assert.ok(r.received.every((m) => m.to === r.transport.memberId && m.entries[0].data.length === 32));
    assert.deepEqual(r.unreachable, []);
  }
});

test('many messages coalesce into few frames under load', async (t) => {
  const tuning = { queueMaxMessages: 50_000 };
  const [a, b] = await Promise.all([startMember(1, { tuning }), startMember(2, { tuning })]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  await waitFor('link up', () => a.transport.stats().peers['2'].state === 'connected');

  const n = 20_000;
  for (let i = 0; i < n; i++) a.transport.send([app(1, 2, i, 300)]); // one send() per message, as a busy leader might
  await waitFor('all delivered', () => b.received.length === n, 10_000);
  assert.deepEqual(seqsFrom(b, 1), Array.from({ length: n }, (_, i) => i));
  const sent = a.transport.stats().peers['2'];
  const got = b.transport.stats().receive;
  assert.equal(sent.messagesSent, n);
  assert.equal(got.frames, sent.framesSent);
  assert.ok(sent.framesSent <= n / 100, `expected few frames for ${n} messages, got ${sent.framesSent}`);
  assert.ok(sent.bytesSent > n * 300);
  assert.equal(sent.droppedOverflow, 0);
});

test('a full queue drops, counts, and reports the peer unreachable instead of growing', async (t) => {
  const tuning = { queueMaxMessages: 100 };
  const [a, b] = await Promise.all([startMember(1, { tuning }), startMember(2)]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  await waitFor('link up', () => a.transport.stats().peers['2'].state === 'connected');
  for (let i = 0; i < 1000; i++) a.transport.send([app(1, 2, i)]);
  const s = a.transport.stats().peers['2'];
  assert.ok(s.queuedMessages <= 100);
  assert.ok(s.droppedOverflow >= 1000 - 100 - 1, `dropped ${s.droppedOverflow}`);
  assert.deepEqual(a.unreachable, [2]); // rate limited: once, not per dropped message
  await waitFor('what was queued is delivered', () => b.received.length === 1000 - s.droppedOverflow);
  const seqs = seqsFrom(b, 1);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
});

test('direction rule: cutting the A->B link stops A->B only; B->A keeps flowing', async (t) => {
  const [a, b] = await Promise.all([startMember(1), startMember(2)]);
  const proxy = new LinkProxy(Number(new URL(b.transport.listenUrl).port));
  const viaProxy = await proxy.start();
  t.after(async () => {
    await Promise.all([a.transport.close(), b.transport.close()]);
    await proxy.close();
  });
  a.transport.addPeer(2, viaProxy); // A reaches B only through the proxy
  b.transport.addPeer(1, a.transport.listenUrl); // B reaches A directly
  a.transport.send([app(1, 2, 0)]);
  b.transport.send([app(2, 1, 0)]);
  await waitFor('both directions up', () => a.received.length === 1 && b.received.length === 1);

  proxy.cut();
  await waitFor('A notices B unreachable', () => a.unreachable.includes(2));
  for (let i = 1; i <= 20; i++) {
    a.transport.send([app(1, 2, i)]);
    b.transport.send([app(2, 1, i)]);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor('B->A delivered despite the cut', () => a.received.length === 21);
  assert.deepEqual(seqsFrom(a, 2), Array.from({ length: 21 }, (_, i) => i));
  assert.deepEqual(seqsFrom(b, 1), [0], 'nothing from A may reach B while A->B is cut');
  assert.deepEqual(b.unreachable, [], 'B->A never depended on A->B');

  proxy.forward();
  let i = 100;
  await waitFor('A->B resumes after the cut heals', () => {
    a.transport.send([app(1, 2, i++)]);
    return b.received.length > 1;
  }, 5000);
});

async function rawStream(port: number, md: grpc.Metadata) {
  const Client = grpc.makeGenericClientConstructor(raftServiceDefinition(), RAFT_SERVICE);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Stream(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, { memberId: number }>;
  };
  const call = client.Stream(md);
  const acks: number[] = [];
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('data', (ack) => acks.push(ack.memberId));
  call.on('error', () => {});
  return { client, call, acks, status };
}

test('a stream from another cluster is refused with FAILED_PRECONDITION', async (t) => {
  const b = await startMember(2, { clusterId: 'cluster-b' });
  t.after(() => b.transport.close());
  const port = Number(new URL(b.transport.listenUrl).port);

  const { client, status } = await rawStream(port, callMetadata(1, 'cluster-x'));
  t.after(() => client.close());
  const st = await status;
  assert.equal(st.code, grpc.status.FAILED_PRECONDITION);
  assert.match(st.details, /cluster id mismatch: caller belongs to cluster "cluster-x", this member to "cluster-b"/);

  // The same through a real transport: refused, reported unreachable, nothing delivered.
  const x = await startMember(1, { clusterId: 'cluster-x' });
  t.after(() => x.transport.close());
  x.transport.addPeer(2, b.transport.listenUrl);
  x.transport.send([app(1, 2, 0)]);
  await waitFor('refusal reported as unreachable', () => x.unreachable.includes(2));
  assert.equal(b.received.length, 0);
  assert.ok(b.transport.stats().receive.callsRefused >= 2);

  const noMd = await rawStream(port, new grpc.Metadata());
  t.after(() => noMd.client.close());
  assert.equal((await noMd.status).code, grpc.status.FAILED_PRECONDITION);
  const badId = new grpc.Metadata();
  badId.set(CLUSTER_ID_KEY, 'cluster-b');
  badId.set(MEMBER_ID_KEY, 'one');
  const bad = await rawStream(port, badId);
  t.after(() => bad.client.close());
  assert.equal((await bad.status).code, grpc.status.INVALID_ARGUMENT);
  // A member never dials itself: a call claiming to come from the receiving member is refused.
  const self = await rawStream(port, callMetadata(2, 'cluster-b'));
  t.after(() => self.client.close());
  const selfStatus = await self.status;
  assert.equal(selfStatus.code, grpc.status.FAILED_PRECONDITION);
  assert.match(selfStatus.details, /claims to come from this member \(2\) itself/);
});

test('the receiver drops messages for other members, with a forged sender, or of local types', async (t) => {
  const b = await startMember(2);
  t.after(() => b.transport.close());
  const { client, call, acks } = await rawStream(Number(new URL(b.transport.listenUrl).port), callMetadata(1, 'test-cluster'));
  t.after(() => client.close());
  await waitFor('acknowledged', () => acks.length === 1);
  assert.deepEqual(acks, [2]);
  const frame = [
    message({ type: 'heartbeat', from: 1, to: 3, term: 1 }), // for another member
    message({ type: 'heartbeat', from: 7, to: 2, term: 1 }), // sender is not the caller
    message({ type: 'hup', from: 1, to: 2 }), // local-only
    message({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 5 }), // fine
  ];
  call.write({ messages: frame, sizes: frame.map((m) => encodeBatch([m]).length - 2) });
  await waitFor('good message delivered', () => b.received.length === 1);
  assert.deepEqual(b.received, [frame[3]]);
  const r = b.transport.stats().receive;
  assert.deepEqual([r.droppedWrongTo, r.droppedWrongFrom, r.droppedLocal, r.messages], [1, 1, 1, 1]);
  call.end();
});

test('a URL served by a different member is not used', async (t) => {
  const [a, b] = await Promise.all([startMember(1), startMember(2)]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(5, b.transport.listenUrl); // member 5 is not who answers there
  a.transport.send([app(1, 5, 0)]);
  await waitFor('mismatch reported as unreachable', () => a.unreachable.includes(5));
  assert.equal(b.received.length, 0);
  assert.notEqual(a.transport.stats().peers['5'].state, 'connected');
});

test('bad configuration and bad calls get clear errors', async (t) => {
  grpc.setLogVerbosity(grpc.logVerbosity.NONE); // the port clash below makes grpc-js log to stderr
  const logger = pino({ level: 'silent' });
  const base = { memberId: 1, clusterId: 'c', listenUrl: 'http://127.0.0.1:0', logger, onMessages() {}, onUnreachable() {}, onSnapshotStatus() {} };
  assert.throws(() => new PeerTransport({ ...base, memberId: 0 }), /member id must be a positive integer/);
  assert.throws(() => new PeerTransport({ ...base, clusterId: '' }), /cluster id must be non-empty/);
  assert.throws(() => new PeerTransport({ ...base, listenUrl: 'https://127.0.0.1:1' }), /https:\/\/ but no TLS server credentials/);
  assert.throws(() => new PeerTransport(base).addPeer(2, 'https://127.0.0.1:1'), /no TLS credentials to dial with/);
  assert.throws(() => new PeerTransport({ ...base, tuning: { snapshotChunkBytes: 8 << 20 } }), /at most maxFrameBytes/);
  const tr = new PeerTransport(base);
  t.after(() => tr.close());
  assert.throws(() => tr.addPeer(1, 'http://127.0.0.1:1'), /cannot be its own peer/);
  assert.throws(() => tr.addPeer(2, 'http://127.0.0.1'), /must name a port/);
  assert.throws(() => tr.updatePeer(3, 'http://127.0.0.1:1'), /unknown peer 3/);
  tr.send([message({ type: 'heartbeat', to: 9, from: 1 }), message({ type: 'beat', to: 1, from: 1 })]);
  assert.equal(tr.stats().droppedUnknownPeer, 1);
  assert.equal(tr.stats().droppedInvalid, 1);
  tr.addPeer(2, 'http://127.0.0.1:1');
  assert.doesNotThrow(() => tr.send([message({ type: 'heartbeat', to: 2, from: 1, term: Number.NaN }), message({ type: 'nonsense' as never, to: 2, from: 1 })]));
  assert.equal(tr.stats().droppedInvalid, 3);
  const taken = new PeerTransport({ ...base, listenUrl: `http://127.0.0.1:${0}` });
  await taken.start();
  t.after(() => taken.close());
  const clash = new PeerTransport({ ...base, listenUrl: taken.listenUrl });
  await assert.rejects(clash.start(), /cannot listen for peers on http:\/\/127\.0\.0\.1:\d+/);
  await clash.close();
});

test('an append larger than the frame limit arrives as consecutive appends; oversized frames are refused', async (t) => {
  const tuning = { maxFrameBytes: 256 * 1024, snapshotChunkBytes: 128 * 1024 };
  const [a, b] = await Promise.all([startMember(1, { tuning }), startMember(2, { tuning })]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  const entries = Array.from({ length: 40 }, (_, i) => ({ term: 2, index: 101 + i, type: 'normal' as const, data: new Uint8Array(20_000).fill(i) }));
  const big = message({ type: 'app', from: 1, to: 2, term: 2, logTerm: 2, index: 100, commit: 120, entries });
  a.transport.send([big]);
  await waitFor('all pieces delivered', () => b.received.reduce((n, m) => n + m.entries.length, 0) === 40);
  assert.ok(b.received.length >= 4, `expected the 800 kB append in pieces, got ${b.received.length}`);
  assert.deepEqual(b.received.flatMap((m) => m.entries), entries);
  assert.ok(b.received.every((m) => m.type === 'app' && m.commit === 120 && m.term === 2));
  assert.ok(b.transport.stats().receive.frames >= 4);

  // A peer that ignores the limit is cut off by gRPC itself.
  const { client, call, acks, status } = await rawStream(Number(new URL(b.transport.listenUrl).port), callMetadata(1, 'test-cluster'));
  t.after(() => client.close());
  await waitFor('acknowledged', () => acks.length === 1);
  call.write({ messages: [big], sizes: [encodeBatch([big]).length - 4] });
  assert.equal((await status).code, grpc.status.RESOURCE_EXHAUSTED);
});
