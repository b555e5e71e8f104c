// Fast failover when the leader's process is gone: after kill -9 of the
// leader, the survivors' redials to its peer address are refused (the host is
// up, nothing listens), so they campaign within a few heartbeats instead of
// waiting out the election timeout. And the converse: a follower whose link to
// a live leader merely resets (no refusal) never takes that as evidence, and
// the leader keeps leading. Real processes on 127.0.0.0/8, stopped by PID when
// each test ends (also on failure).
import assert from 'node:assert/strict';
import test from 'node:test';
import { EtcdClient } from './etcd-client.ts';
import { ReplicaCluster, logSince, waitFor, type MemberProcess } from './replica-cluster.ts';
import { LinkProxy } from '../../replica/transport/testkit.ts';

// A long election timeout (randomised 5–10 s) makes the two paths far apart on
// a loaded machine: without the evidence, no survivor may campaign before 5 s
// after its last heartbeat.
const ELECTION_MS = 5000;
const FLAGS = ['--heartbeat-interval', '100', '--election-timeout', String(ELECTION_MS)];
const GONE = "leader's process is gone";

/** firstWrite puts through either survivor with short deadlines until one succeeds; returns when. */
async function firstWrite(survivors: MemberProcess[], clients: EtcdClient[], deadlineMs: number): Promise<{ at: number; via: string }> {
  const deadline = performance.now() + deadlineMs;
  for (let i = 0; performance.now() < deadline; i++) {
    const k = i % survivors.length;
    try {
      await clients[k].put('failover/first', `w${i}`);
      return { at: performance.now(), via: survivors[k].name };
    } catch {
      // no leader yet, or forwarded to the dead one: try the other survivor
    }
  }
  throw new Error(`no write succeeded within ${deadlineMs} ms`);
}

test('after kill -9 of the leader a survivor commits a write long before the election timeout', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3, FLAGS);
  const leader = await cluster.waitLeader(ms);
  const before = await cluster.adminStatus(leader);
  await cluster.client(leader).put('failover/before', 'v');
  const survivors = ms.filter((m) => m !== leader);
  const clients = survivors.map((m) => new EtcdClient(m.endpoint, 300));
  t.after(() => clients.forEach((c) => c.close()));
  // Both survivors are followers of `leader` (they answered the write above).
  await waitFor('survivors to follow the leader', async () => {
    const st = await Promise.all(survivors.map((m) => cluster.adminStatus(m)));
    return st.every((s) => s.leader === before.memberId) || undefined;
  }, 10_000);

  const killedAt = performance.now();
  await cluster.kill(leader);
  const { at, via } = await firstWrite(survivors, clients, 3 * ELECTION_MS);
  const gapMs = Math.round(at - killedAt);
  const newLeader = await cluster.waitLeader(survivors, 10_000);
  const after = await cluster.adminStatus(newLeader);
  const told = survivors.filter((m) => m.log.some((l) => l.includes(GONE)));
  t.diagnostic(`first write ${gapMs} ms after the kill, via ${via}; told: ${told.map((m) => m.name).join(', ')}`);
  assert.ok(
    gapMs < ELECTION_MS / 2,
    `first write ${gapMs} ms after the kill (via ${via}); the election timeout alone allows none before ${ELECTION_MS} ms\n${cluster.logTail(8)}`,
  );
  assert.ok(told.length >= 1, `no survivor logged "${GONE}"\n${cluster.logTail(8)}`);
  assert.ok(after.term > before.term);
  assert.equal((await cluster.client(newLeader).get('failover/before'))?.value, 'v');
});

test('a live leader is not deposed by a follower whose link to it merely resets', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = [cluster.define(), cluster.define(), cluster.define()];
  const [a, b, c] = ms;
  // b reaches a through a proxy that can reset its connections and refuse nothing at the TCP level.
  const proxy = new LinkProxy(2380, a.ip);
  const proxyUrl = await proxy.start();
  t.after(() => proxy.close());
  const ic = cluster.initialCluster(ms);
  cluster.start(a, 'new', ic, FLAGS);
  cluster.start(b, 'new', ic, [...FLAGS, '--peer-dial-overrides', `${a.peerUrl}=${proxyUrl}`]);
  cluster.start(c, 'new', ic, FLAGS);
  let leader = await cluster.waitLeader(ms);
  if (leader !== a) {
    const aid = (await cluster.adminStatus(a)).memberId;
    await cluster.admin(leader, 'TransferLeadership', { target: aid });
    leader = await waitFor('a to lead', async () => ((await cluster.adminStatus(a)).role === 'leader' ? a : undefined), 30_000);
  }
  await cluster.client(a).put('reset/before', 'v');
  const before = await cluster.adminStatus(a);
  await waitFor('b to follow a', async () => ((await cluster.adminStatus(b)).leader === before.memberId) || undefined, 10_000);

  // b's stream to a is reset, and every redial is accepted and closed again.
  // Only b's log from here on counts: b may have campaigned when the group was founded.
  const bMark = b.logged;
  proxy.cut();
  // Long enough for b to redial many times and, were a reset taken as evidence, to campaign several times over.
  const watchUntil = performance.now() + 3000;
  while (performance.now() < watchUntil) {
    const st = await cluster.adminStatus(a);
    assert.equal(st.role, 'leader', `a stopped leading\n${cluster.logTail(8)}`);
    assert.equal(st.term, before.term, `the term moved: ${before.term} -> ${st.term}\n${cluster.logTail(8)}`);
    await new Promise((r) => setTimeout(r, 100)); // sampling interval, not synchronisation
  }
  const bSinceCut = logSince(b, bMark);
  assert.ok(bSinceCut.some((l) => l.includes('peer stream failed')), `b's link to a never failed: the cut did not bite\n${cluster.logTail(8)}`);
  assert.ok(!bSinceCut.some((l) => l.includes(GONE) || l.includes('refused the connection after its stream broke')), `b took a reset as evidence\n${bSinceCut.slice(-10).join('\n')}`);
  assert.ok(!bSinceCut.some((l) => l.includes('"msg":"campaign"')), `b campaigned after the cut\n${bSinceCut.slice(-10).join('\n')}`);
  await cluster.client(a).put('reset/after', 'v');
});
