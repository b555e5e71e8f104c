// A member that lost its data dir must not rejoin under its old id: it may
// have acknowledged entries it no longer holds (and voted in terms it no
// longer remembers), so two such members could outvote the one that kept the
// data and overwrite committed writes. Restarted on an empty data dir, a
// founding member (--initial-cluster-state new) and a member added later
// (existing) both refuse to start with a one-line reason, as long as a peer
// that knows them answers; the group keeps its data. A founding member that
// never ran still founds normally (the plain bootstrap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { ReplicaCluster, waitFor, type MemberProcess } from './replica-cluster.ts';

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

async function restartWiped(cluster: ReplicaCluster, m: MemberProcess, state: 'new' | 'existing', initialCluster: string): Promise<{ code: number | null; log: string }> {
  await cluster.kill(m);
  fs.rmSync(m.dataDir, { recursive: true, force: true });
  m.log.length = 0;
  cluster.start(m, state, initialCluster);
  const code = await Promise.race([
    exited(m.proc!),
    new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000).unref()),
  ]);
  assert.notEqual(code, 'running', `${m.name} kept running on an empty data dir:\n${m.log.slice(-10).join('\n')}`);
  return { code: code as number | null, log: m.log.join('\n') };
}

test('members restarted on an empty data dir refuse to rejoin under their old id; the group keeps its data', async (t) => {
  const cluster = new ReplicaCluster(t);
  // Founded by hand rather than with launch(), for a longer deadline on a loaded machine.
  const ms = [cluster.define(), cluster.define(), cluster.define()];
  for (const m of ms) cluster.start(m, 'new', cluster.initialCluster(ms));
  await cluster.waitLeader(ms, 60_000);
  const client = cluster.client(ms[0]);
  for (let i = 0; i < 20; i++) await client.put(`kept/${i}`, `v${i}`);
  // A member added later, through the admin API, as the operator adds them.
  const added = cluster.define();
  const all = cluster.initialCluster([...ms, added]);
  cluster.start(added, 'existing', all);
  await cluster.admin(ms[0], 'ChangeMembership', { requestId: 'add-1', add: [{ name: added.name, peerUrls: [added.peerUrl] }] });
  // Started means published its client URLs (lost-data.ts, ranBefore); its name alone is known from
  // the add. Every member must have applied that, as the restarted member asks whichever answers.
  await waitFor(`${added.name} to publish its client URLs to every member`, async () => {
    for (const m of ms) {
      if (!(await cluster.client(m).memberList()).some((x) => x.name === added.name && x.clientURLs.length > 0)) return false;
    }
    return true;
  });

  const founder = ms[2];
  const f = await restartWiped(cluster, founder, 'new', cluster.initialCluster(ms));
  assert.equal(f.code, 1);
  assert.match(f.log, /lost its data|empty data dir/i);
  assert.match(f.log, new RegExp(`${founder.name}.*already ran`));

  const j = await restartWiped(cluster, added, 'existing', all);
  assert.equal(j.code, 1);
  assert.match(j.log, new RegExp(`${added.name}.*already ran`));

  // The members that kept their data still hold every write (read locally: with two of four
  // members refusing to start there is no quorum, which is the point — nobody overwrote them).
  for (const m of ms.slice(0, 2)) {
    for (let i = 0; i < 20; i++) assert.equal((await cluster.client(m).get(`kept/${i}`, { serializable: true }))?.value, `v${i}`);
  }
});
