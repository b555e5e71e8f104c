// The link proxy against plain TCP echo servers: bytes pass intact under pass
// and delay (in order, later), a blackhole swallows them and resets its
// survivors when lifted, a partition resets and refuses, loss resets at seeded
// points, and stop() closes everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { startLinkProxy } from './index.ts';
import type { LinkProxy } from './index.ts';
import { eventually, startEchoServer, TestClient } from './testing.ts';
import type { EchoServer } from './testing.ts';

interface Rig {
  echo: EchoServer;
  proxy: LinkProxy;
  clients: TestClient[];
  connect(): Promise<TestClient>;
}

async function rig(t: { after: (fn: () => Promise<void> | void) => void }): Promise<Rig> {
  const echo = await startEchoServer();
  const proxy = await startLinkProxy({ listen: '127.0.0.1:0', target: echo.endpoint });
  const clients: TestClient[] = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    await proxy.stop();
    await echo.stop();
  });
  return {
    echo,
    proxy,
    clients,
    connect: async () => {
      const c = await TestClient.connect(proxy.endpoint);
      clients.push(c);
      return c;
    },
  };
}

async function roundTrip(c: TestClient, message: Buffer): Promise<void> {
  const before = c.length;
  c.write(message);
  await eventually(() => c.length >= before + message.length || c.closed, 'the echo');
  assert.ok(!c.closed, 'the connection stayed open');
  assert.deepEqual(c.bytes().subarray(before), message);
}

test('pass: bytes go through intact both ways', async (t) => {
  const r = await rig(t);
  assert.match(r.proxy.endpoint, /^127\.0\.0\.1:\d+$/);
  assert.equal(r.proxy.address, '127.0.0.1');
  const c = await r.connect();
  const payload = crypto.randomBytes(1 << 20);
  c.write(payload);
  await eventually(() => c.length >= payload.length, '1 MiB echoed');
  assert.ok(c.bytes().equals(payload));
  const s = r.proxy.stats();
  assert.equal(s.toTarget, payload.length);
  assert.equal(s.fromTarget, payload.length);
  assert.equal(s.active, 1);
});

test('delay: every chunk arrives later, in order', async (t) => {
  const r = await rig(t);
  const c = await r.connect();
  await roundTrip(c, Buffer.from('warm-up'));
  r.proxy.setFault({ kind: 'delay', ms: 30, jitterMs: 40, seed: 7 });
  const started = performance.now();
  const messages: string[] = [];
  for (let i = 0; i < 200; i++) {
    const m = `<${i}>`;
    messages.push(m);
    c.write(m); // separate writes: many chunks, each with its own jittered delay
  }
  const expected = 'warm-up' + messages.join('');
  await eventually(() => c.length >= expected.length, 'all delayed chunks');
  const elapsed = performance.now() - started;
  assert.equal(c.bytes().toString(), expected, 'byte order is preserved under jitter');
  assert.ok(elapsed >= 60, `a round trip crosses the delayed link twice (took ${elapsed.toFixed(0)} ms)`);
  // Lifting the delay keeps order with what is still queued.
  c.write('x');
  r.proxy.setFault({ kind: 'pass' });
  c.write('y');
  await eventually(() => c.length >= expected.length + 2, 'x and y');
  assert.equal(c.bytes().toString().slice(-2), 'xy');
});

test('a half-close (FIN) travels behind the delayed data, and the connection ends cleanly', async (t) => {
  const r = await rig(t);
  r.proxy.setFault({ kind: 'delay', ms: 20, jitterMs: 10 });
  const c = await r.connect();
  c.write('last words');
  c.socket.end();
  await eventually(() => c.closed, 'the connection to close');
  assert.equal(c.bytes().toString(), 'last words');
  assert.ok(c.ended && c.error === undefined, 'a clean FIN, not a reset');
  await eventually(() => r.proxy.stats().active === 0, 'the proxy to forget the connection');
  assert.equal(r.proxy.stats().resets, 0);
});

test('blackhole: connections are accepted but nothing flows; lifting it resets them', async (t) => {
  const r = await rig(t);
  const before = await r.connect();
  await roundTrip(before, Buffer.from('hello'));
  r.proxy.setFault({ kind: 'blackhole' });
  const echoed = r.echo.received();
  before.write(Buffer.alloc(1000, 1));
  const during = await r.connect(); // TCP connects: the dialer cannot tell
  during.write(Buffer.alloc(500, 2));
  await eventually(() => r.proxy.stats().discarded >= 1500, 'the proxy to swallow 1500 bytes');
  assert.equal(r.echo.received(), echoed, 'the target received nothing');
  assert.equal(before.length, 5, 'the dialer received nothing more');
  assert.equal(during.length, 0);
  assert.ok(!before.closed && !during.closed, 'connections stay open while blackholed');
  assert.equal(r.echo.accepted(), 1, 'a connection made during the blackhole never reaches the target');

  r.proxy.setFault({ kind: 'pass' });
  await eventually(() => before.closed && during.closed, 'both connections to be reset');
  assert.ok(before.reset && during.reset);
  const after = await r.connect();
  await roundTrip(after, Buffer.from('fresh connections work'));
});

test('partition: existing connections are reset, new ones refused; heal restores', async (t) => {
  const r = await rig(t);
  const c = await r.connect();
  await roundTrip(c, Buffer.from('ping'));
  r.proxy.setFault({ kind: 'partition' });
  await eventually(() => c.closed, 'the existing connection to be reset');
  assert.equal(c.error?.code, 'ECONNRESET');

  // A new connection is accepted by the kernel, then reset before any byte flows.
  const late = await TestClient.connect(r.proxy.endpoint).catch((err: NodeJS.ErrnoException) => err);
  if (late instanceof TestClient) {
    r.clients.push(late);
    late.write('anyone?');
    await eventually(() => late.closed, 'the new connection to be reset');
    assert.equal(late.length, 0);
  } else {
    assert.equal(late.code, 'ECONNRESET');
  }
  await eventually(() => r.proxy.stats().refused >= 1, 'the proxy to count a refusal');
  assert.equal(r.echo.accepted(), 1);

  r.proxy.setFault({ kind: 'pass' });
  const healed = await r.connect();
  await roundTrip(healed, Buffer.from('healed'));
});

test('loss: connections are reset at seeded random points', async (t) => {
  const r = await rig(t);
  r.proxy.setFault({ kind: 'loss', rate: 1 });
  const always = await r.connect();
  always.write('lost');
  await eventually(() => always.closed, 'a reset at the first chunk');
  assert.equal(always.length, 0);
  assert.equal(r.echo.received(), 0);

  r.proxy.setFault({ kind: 'loss', rate: 0 });
  await roundTrip(await r.connect(), Buffer.from('never lost'));

  // rate 0.5, one chunk each way per connection: the pattern of survivors depends only on the seed.
  async function pattern(seed: number): Promise<string> {
    r.proxy.setFault({ kind: 'loss', rate: 0.5, seed });
    let out = '';
    for (let i = 0; i < 24; i++) {
      const c = await r.connect();
      c.write('?');
      await eventually(() => c.length === 1 || c.closed, 'an echo or a reset');
      out += c.length === 1 ? 'o' : 'x';
      c.destroy();
    }
    return out;
  }
  const first = await pattern(42);
  assert.match(first, /o/);
  assert.match(first, /x/);
  assert.equal(await pattern(42), first, 'same seed, same resets');
  assert.notEqual(await pattern(43), first, 'another seed, other resets');
});

test('a target that is down looks like a reset connection', async (t) => {
  const echo = await startEchoServer();
  const deadTarget = echo.endpoint;
  await echo.stop();
  const proxy = await startLinkProxy({ target: deadTarget });
  t.after(() => proxy.stop());
  const c = await TestClient.connect(proxy.endpoint);
  t.after(() => c.destroy());
  c.write('hello?');
  await eventually(() => c.closed, 'the dialer to be reset');
  assert.equal(c.length, 0);
});

test('stop closes the listener and every connection', async (t) => {
  const echo = await startEchoServer();
  t.after(() => echo.stop());
  const proxy = await startLinkProxy({ target: echo.endpoint, fault: { kind: 'delay', ms: 10_000 } });
  const a = await TestClient.connect(proxy.endpoint);
  const b = await TestClient.connect(proxy.endpoint);
  t.after(() => {
    a.destroy();
    b.destroy();
  });
  a.write('queued behind a long delay');
  await eventually(() => proxy.stats().active === 2, 'two connections');
  await proxy.stop();
  await eventually(() => a.closed && b.closed, 'both dialers to see the close');
  assert.equal(proxy.stats().active, 0);
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: proxy.port });
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
  await proxy.stop(); // idempotent
});

test('addresses outside 127.0.0.0/8 and malformed faults are refused before any socket exists', async () => {
  await assert.rejects(startLinkProxy({ listen: '10.0.0.1:0', target: '127.0.0.1:1' }), /listen must be in 127\.0\.0\.0\/8/);
  await assert.rejects(startLinkProxy({ target: '8.8.8.8:53' }), /target must be in 127\.0\.0\.0\/8/);
  await assert.rejects(startLinkProxy({ target: 'localhost:80' }), /target must be "127\.x\.y\.z:port"/);
  await assert.rejects(startLinkProxy({ target: '127.0.0.1:70000' }), /port must be at most 65535/);
  const proxy = await startLinkProxy({ target: '127.0.0.1:1' });
  try {
    assert.throws(() => proxy.setFault({ kind: 'delay', ms: -1 }), /ms must be a finite number >= 0/);
    assert.throws(() => proxy.setFault({ kind: 'loss', rate: 2 }), /rate must be a probability/);
    assert.throws(() => proxy.setFault({ kind: 'drop' } as never), /kind must be pass, delay, blackhole, partition or loss/);
    assert.equal(proxy.fault.kind, 'pass', 'a rejected fault changes nothing');
  } finally {
    await proxy.stop();
  }
});
