// A write that reaches a member while no leader is known (an election is
// under way, or quorum is lost) waits for the next leader, as etcd's raft
// node holds proposals, instead of failing at once with "no leader": after a
// leader crash the writes already waiting are the first ones committed by the
// new leader. Real processes on 127.0.0.0/8, stopped by PID when the test ends.
import assert from 'node:assert/strict';
import test from 'node:test';
import { EtcdClient } from './etcd-client.ts';
import { ReplicaCluster, waitFor } from './replica-cluster.ts';

// An election timeout of 3 s gives requests a 15 s deadline on the server
// (5 × the election timeout): room for a member restart on a loaded machine
// (a restart took over 7 s at a load average of 10) and an election, which
// follows within a heartbeat or two of the restart (the waiting candidate
// re-sends its vote requests).
const FLAGS = ['--heartbeat-interval', '100', '--election-timeout', '3000'];

async function pendingProposals(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = /^replicant_proposals_pending(?:\{[^}]*\})? (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

test('a put sent while the group has no leader is held and commits once a leader is elected', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3, FLAGS);
  const leader = await cluster.waitLeader(ms);
  const [alone, other] = ms.filter((m) => m !== leader);
  await cluster.kill(leader);
  await cluster.kill(other);
  await waitFor('the remaining member to know no leader', async () => (await cluster.adminStatus(alone)).leader === 0 || undefined, 30_000);

  let settled: 'ok' | Error | undefined;
  // The client's deadline is longer than the server's (15 s): the server decides.
  const client = new EtcdClient(alone.endpoint, 30_000);
  t.after(() => client.close());
  const put = client
    .put('held/while-leaderless', 'v1')
    .then(
      (r) => ((settled = 'ok'), r),
      (e: Error) => {
        settled = e;
        throw e;
      },
    );
  put.catch(() => undefined);
  // The put is waiting on the member (or already failed, which is the bug).
  await waitFor('the put to be held or to fail', async () => settled !== undefined || (await pendingProposals(alone.metricsUrl)) >= 1, 10_000);
  assert.equal(settled instanceof Error ? settled.message : settled, undefined, 'a put without a leader must wait, not fail');

  // Quorum returns: one member restarts from its data dir, a leader is elected, the held put commits.
  cluster.start(other, 'new', cluster.initialCluster(ms), FLAGS);
  const r = await put;
  assert.ok(r.revision > 0);
  assert.equal((await cluster.client(alone).get('held/while-leaderless'))?.value, 'v1');
});
