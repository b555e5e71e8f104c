// The Network of directed links, with an echo server per member: who can
// reach whom after partition, isolate, oneWay, bridge and heal, members added
// and removed, and bad requests refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNetwork } from './index.ts';
import type { Network } from './index.ts';
import { eventually, startEchoServer, TestClient } from './testing.ts';
import type { EchoServer } from './testing.ts';

const NAMES = ['a', 'b', 'c'];

async function cluster(t: { after: (fn: () => Promise<void>) => void }, cut?: 'partition' | 'blackhole'): Promise<{ net: Network; servers: Map<string, EchoServer> }> {
  const servers = new Map<string, EchoServer>();
  for (const name of NAMES) servers.set(name, await startEchoServer());
  const net = await startNetwork({
    members: Object.fromEntries([...servers].map(([name, s]) => [name, s.endpoint])),
    ...(cut ? { cut } : {}),
  });
  t.after(async () => {
    await net.stop();
    for (const s of servers.values()) await s.stop();
  });
  return { net, servers };
}

/** reaches opens a connection from→to and reports whether a ping comes back (false: reset or refused). */
async function reaches(net: Network, from: string, to: string): Promise<boolean> {
  let c: TestClient;
  try {
    c = await TestClient.connect(net.dialAddress(from, to));
  } catch {
    return false;
  }
  try {
    c.write('ping');
    await eventually(() => c.length === 4 || c.closed, `${from}->${to} to answer or reset`);
    return c.length === 4;
  } finally {
    c.destroy();
  }
}

/** reachability is every directed pair that answers, e.g. "a->b b->a". */
async function reachability(net: Network): Promise<string> {
  const ok: string[] = [];
  for (const from of net.members()) {
    for (const to of net.members()) if (from !== to && (await reaches(net, from, to))) ok.push(`${from}->${to}`);
  }
  return ok.join(' ');
}

const ALL = 'a->b a->c b->a b->c c->a c->b';

test('a proxy per directed pair; the topology helpers cut exactly the links they name', async (t) => {
  const { net } = await cluster(t);
  assert.deepEqual(net.members(), ['a', 'b', 'c']);
  const endpoints = new Set<string>();
  for (const from of NAMES) for (const to of NAMES) if (from !== to) endpoints.add(net.dialAddress(from, to));
  assert.equal(endpoints.size, 6, 'six distinct dial addresses');
  assert.equal(await reachability(net), ALL);
  assert.equal(net.describe(), 'all links pass');

  net.isolate('a');
  assert.equal(await reachability(net), 'b->c c->b');
  assert.equal(net.describe(), 'a->b partition, a->c partition, b->a partition, c->a partition');

  net.oneWay('a', 'b'); // replaces the isolation: only a->b is cut
  assert.equal(await reachability(net), 'a->c b->a b->c c->a c->b');

  net.partition(['a', 'b'], ['c']);
  assert.equal(await reachability(net), 'a->b b->a');

  net.bridge(['a'], 'b', ['c']);
  assert.equal(await reachability(net), 'a->b b->a b->c c->b');

  net.heal();
  assert.equal(await reachability(net), ALL);
});

test('cutting a link resets its open connections; the reverse link is untouched', async (t) => {
  const { net } = await cluster(t);
  const ab = await TestClient.connect(net.dialAddress('a', 'b'));
  const ba = await TestClient.connect(net.dialAddress('b', 'a'));
  t.after(async () => {
    ab.destroy();
    ba.destroy();
  });
  ab.write('x');
  ba.write('y');
  await eventually(() => ab.length === 1 && ba.length === 1, 'both links to echo');
  net.oneWay('a', 'b');
  await eventually(() => ab.closed, 'a->b to be reset');
  ba.write('z');
  await eventually(() => ba.length === 2, 'b->a to keep working');
  assert.ok(!ba.closed);
  net.heal();
  assert.ok(await reaches(net, 'a', 'b'));
});

test('a blackhole network swallows cut links and resets their connections on heal', async (t) => {
  const { net, servers } = await cluster(t, 'blackhole');
  const ab = await TestClient.connect(net.dialAddress('a', 'b'));
  t.after(async () => ab.destroy());
  net.isolate('a');
  assert.equal(net.link('a', 'b').fault.kind, 'blackhole');
  const received = servers.get('b')!.received();
  ab.write('into the void');
  await eventually(() => net.link('a', 'b').stats().discarded >= 13, 'the a->b proxy to swallow the bytes');
  assert.equal(servers.get('b')!.received(), received);
  assert.ok(await reaches(net, 'b', 'c'));
  net.heal();
  await eventually(() => ab.closed, 'the blackholed connection to be reset on heal');
  assert.ok(await reaches(net, 'a', 'b'));
});

test('setAll applies a base fault that partitions keep on the links they do not cut', async (t) => {
  const { net } = await cluster(t);
  net.setAll({ kind: 'delay', ms: 5 });
  net.isolate('c');
  assert.equal(net.link('a', 'b').fault.kind, 'delay');
  assert.equal(net.link('a', 'c').fault.kind, 'partition');
  assert.equal(await reachability(net), 'a->b b->a');
  net.setLink('a', 'c', { kind: 'pass' });
  assert.ok(await reaches(net, 'a', 'c'));
  net.heal();
  assert.equal(net.describe(), 'all links pass');
});

test('members can be added and removed', async (t) => {
  const { net } = await cluster(t);
  const d = await startEchoServer();
  t.after(() => d.stop());
  net.isolate('a');
  await net.addMember('d', d.endpoint);
  assert.deepEqual(net.members(), ['a', 'b', 'c', 'd']);
  assert.ok(await reaches(net, 'd', 'b'));
  assert.ok(await reaches(net, 'b', 'd'));
  const aToD = net.link('a', 'd');
  await net.removeMember('d');
  assert.deepEqual(net.members(), ['a', 'b', 'c']);
  assert.throws(() => net.dialAddress('a', 'd'), /unknown member "d"/);
  const gone = await TestClient.connect(aToD.endpoint).then(
    (c) => (c.destroy(), 'connected'),
    (err: NodeJS.ErrnoException) => err.code,
  );
  assert.equal(gone, 'ECONNREFUSED', 'the removed member\'s proxies are stopped');
});

test('bad requests are refused with clear errors', async (t) => {
  const { net } = await cluster(t);
  assert.throws(() => net.isolate('z'), /unknown member "z" \(members: a, b, c\)/);
  assert.throws(() => net.partition(['a', 'b'], ['b', 'c']), /b is in both groups/);
  assert.throws(() => net.bridge(['a'], 'a', ['c']), /the bridge a cannot be in either side/);
  assert.throws(() => net.dialAddress('a', 'a'), /no link to itself/);
  assert.throws(() => net.setLink('a', 'b', { kind: 'delay', ms: Number.NaN }), /ms must be a finite number/);
  await assert.rejects(net.addMember('a', '127.0.0.1:1'), /member a already exists/);
  await assert.rejects(net.addMember('e', '192.168.0.1:80'), /must be in 127\.0\.0\.0\/8/);
  await assert.rejects(startNetwork({ members: { x: '127.0.0.1:1' }, listenHost: '0.0.0.0' }), /listenHost must be in 127\.0\.0\.0\/8/);
  assert.deepEqual(net.members(), ['a', 'b', 'c']);
});
