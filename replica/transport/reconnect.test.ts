// Losing a peer: a stopped peer is reported unreachable once per failed attempt
// and the link redials with backoff until it is back; a silent (stalled) peer
// is detected by keepalive; a peer's URL can be changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { app, LinkProxy, startMember, waitFor } from './testkit.ts';

const fast = { backoffInitialMs: 20, backoffMaxMs: 200 };

test('a stopped peer is reported unreachable, then delivery resumes when it comes back', async (t) => {
  const a = await startMember(1, { tuning: fast });
  let b = await startMember(2);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  const port = Number(new URL(b.transport.listenUrl).port);
  a.transport.addPeer(2, b.transport.listenUrl);
  a.transport.send([app(1, 2, 0)]);
  await waitFor('first delivery', () => b.received.length === 1);
  assert.deepEqual(a.unreachable, []);

  await b.transport.close();
  await waitFor('peer reported unreachable', () => a.unreachable.includes(2), 3000);
  await waitFor('each failed redial reported', () => a.unreachable.length >= 3, 3000);
  assert.ok(a.unreachable.every((p) => p === 2));
  const whileDown = a.transport.stats().peers['2'];
  assert.ok(whileDown.connectFailures >= 3);
  assert.notEqual(whileDown.state, 'connected');
  a.transport.send([app(1, 2, 1)]); // dropped: the peer is down
  assert.ok(a.transport.stats().peers['2'].droppedUnreachable >= 1);

  b = await startMember(2, { port });
  let seq = 2;
  await waitFor('delivery resumes on the new stream', () => {
    a.transport.send([app(1, 2, seq++)]); // raft keeps probing, like heartbeats
    return b.received.length >= 3;
  }, 5000);
  const seqs = b.received.map((m) => m.index);
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in order after reconnecting');
  assert.equal(a.transport.stats().peers['2'].connects, 2);
});

test('a peer that stops answering (paused, blackholed) is detected by keepalive within seconds', async (t) => {
  const tuning = { ...fast, keepaliveTimeMs: 200, keepaliveTimeoutMs: 300, connectTimeoutMs: 500 };
  const [a, b] = await Promise.all([startMember(1, { tuning }), startMember(2, { tuning })]);
  const proxy = new LinkProxy(Number(new URL(b.transport.listenUrl).port));
  const url = await proxy.start();
  t.after(async () => {
    await Promise.all([a.transport.close(), b.transport.close()]);
    await proxy.close();
  });
  a.transport.addPeer(2, url);
  a.transport.send([app(1, 2, 0)]);
  await waitFor('first delivery', () => b.received.length === 1);

  const stalledAt = performance.now();
  proxy.blackhole(); // TCP stays open, nothing moves: what a SIGSTOPped peer looks like
  await waitFor('stall detected', () => a.unreachable.includes(2), 3000);
  const detectMs = performance.now() - stalledAt;
  assert.ok(detectMs < 2000, `detected after ${detectMs} ms`);
  // While it stays silent, each redial times out and is reported again.
  await waitFor('redials keep failing', () => a.unreachable.length >= 2, 3000);

  proxy.forward();
  let seq = 1;
  await waitFor('delivery resumes', () => {
    a.transport.send([app(1, 2, seq++)]);
    return b.received.length >= 2;
  }, 5000);
});

test('updatePeer redials at the new URL; removePeer stops all callbacks about the peer', async (t) => {
  const [a, b] = await Promise.all([startMember(1, { tuning: fast }), startMember(2)]);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  const dead = await startMember(9);
  const deadUrl = dead.transport.listenUrl;
  await dead.transport.close(); // a URL nobody listens on any more

  a.transport.addPeer(2, deadUrl);
  await waitFor('wrong URL is unreachable', () => a.unreachable.includes(2), 3000);
  a.transport.updatePeer(2, b.transport.listenUrl);
  let seq = 0;
  await waitFor('delivered at the new URL', () => {
    a.transport.send([app(1, 2, seq++)]);
    return b.received.length >= 1;
  });

  a.transport.addPeer(3, deadUrl);
  await waitFor('peer 3 unreachable', () => a.unreachable.includes(3), 3000);
  a.transport.removePeer(3);
  const reports = a.unreachable.length;
  await new Promise((r) => setTimeout(r, 300)); // several backoff periods: any redial would report
  assert.equal(a.unreachable.length, reports, 'no reports about a removed peer');
  assert.equal(a.transport.hasPeer(3), false);
  assert.equal(a.transport.stats().peers['3'], undefined);
});
