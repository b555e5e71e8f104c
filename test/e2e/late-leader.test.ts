// A member that joins while the leader is itself a member added after the
// newest snapshot: the leader catches it up from that older snapshot, whose
// member table does not list the leader yet. The newcomer must still answer
// the leader (it learned the leader's address when it asked to join), or it
// can never acknowledge anything and the change times out — what happened
// when the operator replaced a member after the group's leader had itself
// been added as a replacement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaCluster, waitFor } from './replica-cluster.ts';

test('a newcomer catches up from a leader that joined after the newest snapshot', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = [cluster.define(), cluster.define(), cluster.define()];
  for (const m of ms) cluster.start(m, 'new', cluster.initialCluster(ms));
  const first = await cluster.waitLeader(ms, 60_000);
  const c = cluster.client(first);
  for (let i = 0; i < 20; i++) await c.put(`k/${i}`, `v${i}`);
  // d joins (from the bootstrap snapshot, the only one) and becomes the leader.
  const d = cluster.define();
  cluster.start(d, 'existing', cluster.initialCluster([...ms, d]));
  await cluster.admin(first, 'ChangeMembership', { requestId: 'add-d', add: [{ name: d.name, peerUrls: [d.peerUrl] }], catchUpTimeoutMs: 30_000 }, 60_000);
  const did = (await cluster.adminStatus(d)).memberId;
  await cluster.admin(first, 'TransferLeadership', { target: did });
  await waitFor(`${d.name} to lead`, async () => (await cluster.adminStatus(d)).role === 'leader', 30_000);
  // e joins through d.
  const e = cluster.define();
  cluster.start(e, 'existing', cluster.initialCluster([...ms, d, e]));
  const r = await cluster.admin(d, 'ChangeMembership', { requestId: 'add-e', add: [{ name: e.name, peerUrls: [e.peerUrl] }], catchUpTimeoutMs: 20_000 }, 60_000);
  assert.equal(r.added.length, 1);
  assert.ok(r.configuration.voters.includes(r.added[0].id), 'e was promoted: it caught up');
  for (let i = 0; i < 20; i++) assert.equal((await cluster.client(e).get(`k/${i}`, { serializable: true }))?.value, `v${i}`);
});
