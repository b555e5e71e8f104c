// The majority vote on state digests at replica level: a member whose state is
// corrupted on purpose is found divergent within two checkpoints and stops
// serving, while the others keep serving; two members corrupted differently
// leave the vote unresolved and nobody is blamed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaCluster, waitFor } from './replica-cluster.ts';

const FLAGS = ['--enable-fault-injection', '--checkpoint-interval', '20'];

async function writeKeys(cluster: ReplicaCluster, n: number, prefix: string): Promise<void> {
  const c = cluster.client(cluster.running()[0]);
  for (let i = 0; i < n; i++) {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.put(`${prefix}/${i}`, `value-${i}`);
        break;
      } catch (e) {
        if (attempt > 20) throw e;
      }
    }
  }
}

test('a corrupted member is detected within two checkpoints and stops serving; the others keep serving', async (t) => {
  const cluster = new ReplicaCluster(t, { extraFlags: FLAGS });
  const ms = await cluster.launch(3);
  await writeKeys(cluster, 10, 'k');
  const victim = ms[2];
  const applied = (await cluster.adminStatus(victim)).appliedIndex;
  await cluster.admin(victim, 'InjectFault', { kind: 'corrupt-value', key: Buffer.from('k/3') });
  // Two checkpoints later (20 entries each) the vote must have found it.
  await writeKeys(cluster, 45, 'more');
  const st = await waitFor('the victim to know it diverged', async () => {
    const s = await cluster.adminStatus(victim);
    return s.divergence.state === 'divergent' ? s : undefined;
  }, 15_000);
  assert.ok(st.divergence.index <= applied + 2 * 20 + 20, `detected at checkpoint ${st.divergence.index}, corrupted after ${applied}`);
  assert.notEqual(st.divergence.digest, st.divergence.majorityDigest);
  const others = await Promise.all(ms.slice(0, 2).map((m) => cluster.adminStatus(m)));
  for (const o of others) {
    await waitFor('the others to see it too', async () => {
      const s = await cluster.adminStatus(ms[others.indexOf(o)]);
      return s.divergence.divergentMembers.includes(st.memberId) && s.divergence.state === 'ok';
    }, 15_000);
  }
  await assert.rejects(cluster.client(victim).get('k/1'), /diverged from the majority/);
  await assert.rejects(cluster.client(victim).get('k/1', { serializable: true }), /diverged from the majority/);
  assert.equal((await cluster.client(ms[0]).get('k/3'))?.value, 'value-3');
  assert.equal((await cluster.client(ms[1]).get('k/3', { serializable: true }))?.value, 'value-3');
  const metrics = await (await fetch(`${victim.metricsUrl}/metrics`)).text();
  assert.match(metrics, /replicant_member_divergent\{[^}]*\} 1/);
  assert.equal((await fetch(`${victim.metricsUrl}/readyz`)).status, 503);
});

test('two of three members corrupted differently: unresolved, nobody is blamed', async (t) => {
  const cluster = new ReplicaCluster(t, { extraFlags: FLAGS });
  const ms = await cluster.launch(3);
  await writeKeys(cluster, 5, 'k');
  await cluster.admin(ms[1], 'InjectFault', { kind: 'corrupt-value', key: Buffer.from('k/1') });
  await cluster.admin(ms[2], 'InjectFault', { kind: 'corrupt-value', key: Buffer.from('k/2') });
  await writeKeys(cluster, 45, 'more');
  for (const m of ms) {
    await waitFor(`${m.name} to see the disagreement`, async () => (await cluster.adminStatus(m)).divergence.state === 'unresolved', 15_000);
  }
  for (const m of ms) {
    const s = await cluster.adminStatus(m);
    assert.deepEqual(s.divergence.divergentMembers, []);
    assert.equal((await cluster.client(m).get('more/1', { serializable: true }))?.value, 'value-1');
  }
});

test('fault injection is refused unless the replica was started for it', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(1);
  await assert.rejects(cluster.admin(ms[0], 'InjectFault', { kind: 'corrupt-value', key: Buffer.from('x') }), /fault injection is disabled/);
});
