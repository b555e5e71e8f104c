// Operator end-to-end, a member whose state is corrupted on purpose (issue 6
// at operator level): the operator runs members with fault injection (a test
// flag), one member's copy of a key is changed behind raft's back; at the next
// checkpoints the majority vote finds it divergent, status says so with the
// index and both digests, Events say why, and it is replaced by a new member.
// Afterwards every member holds exactly the data written. The divergent
// member's volume is kept (labelled, no longer owned) unless
// failurePolicy.deleteDivergentData is true.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorEnv } from './env.ts';
import { condition, groupManifest, settled } from './group.ts';
import { describeRecovery, recovery, waitAcks } from './faults.ts';
import { injectFault, operatorTls, statuses } from './members.ts';
import { Writer } from './writer.ts';
import { EtcdClient } from '../etcd-client.ts';
import { waitFor } from '../../localkube/index.ts';

const name = 'eps';

function follower(env: OperatorEnv): string {
  const s = env.group(name)!.status!;
  return s.configuration!.voters.filter((v) => v !== s.leader).sort()[0];
}

/** contents reads every key a member holds, locally (serializable), as a sorted key=value list. */
async function contents(env: OperatorEnv, ip: string): Promise<string[]> {
  const tls = env.clientTls(name);
  const c = new EtcdClient(`${ip}:2379`, 15_000, tls?.credentials, tls?.options);
  try {
    return (await c.range('\0', '\0', { serializable: true })).map((kv) => `${kv.key}=${kv.value}`).sort();
  } finally {
    c.close();
  }
}

test('a divergent member is found by the digest vote and replaced; the data stays identical', async (t) => {
  const env = await OperatorEnv.start(t);
  env.startOperator({ extra: ['--enable-replica-fault-injection'] });
  await env.apply(groupManifest(name, { raft: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000, checkpointInterval: 20 } }));
  await env.waitGroup(name, 'Available with 3 voters', (g) => settled(g, 3) && g, 180_000);
  const endpoint = await env.clientEndpoint(name);
  const seed = new EtcdClient(endpoint, 10_000, env.clientTls(name)?.credentials, env.clientTls(name)?.options);
  t.after(() => seed.close());
  for (let i = 0; i < 10; i++) await seed.put(`k/${i}`, `value-${i}`);

  const replaceDivergent = async (victim: string, key: string) => {
    const writer = new Writer(endpoint, `after-${victim}`, 60, env.clientTls(name)).start();
    t.after(() => writer.stop());
    await waitAcks(writer, 5);
    const faultAt = Date.now();
    await injectFault(env.podIP(victim)!, 'corrupt-value', key, operatorTls(env, name, victim));
    // The writes go on: within two checkpoints (20 entries each) the vote finds the victim.
    const seen = await env.waitGroup(name, `${victim} found divergent`, (g) => g.status?.members?.find((m) => m.name === victim && m.health === 'Divergent' && m.reason === 'Divergent'), 120_000);
    assert.match(seen.message ?? '', /^state digest \S+ at checkpoint \d+ differs from the majority's \S+$/);
    const r = await recovery(env, name, victim, faultAt, writer);
    await writer.stop();
    t.diagnostic(`divergence (${key} corrupted on ${victim}): ${seen.message}`);
    t.diagnostic(describeRecovery('divergent member replaced', r));
    assert.deepEqual(await writer.lostWrites(), []);
    const lines = env.eventLines(name);
    assert.ok(lines.some((l) => l.startsWith(`Warning MemberDivergent: ${victim}: Divergent: state digest `)), lines.join('\n'));
    const replacing = lines.filter((l) => l.startsWith(`Warning ReplacingMember: ${victim} is faulty (Divergent`));
    assert.equal(replacing.length, 1, lines.join('\n'));
    const newcomer = / replacing it with (\S+)$/.exec(replacing[0])![1];
    assert.ok(lines.includes(`Normal MemberReplaced: replaced ${victim} (Divergent) with ${newcomer}`), lines.join('\n'));
    return { writer, newcomer };
  };

  await t.test('the divergent member is replaced; its volume is kept, labelled and unowned', async () => {
    const victim = follower(env);
    const { writer } = await replaceDivergent(victim, 'k/3');
    const kept = await env.waitGroup(name, `${victim}'s volume kept`, () => env.lk.api.store.get('/persistentvolumeclaims', 'default', `data-${victim}`)?.metadata?.labels?.['replicant.dev/retained'] === 'divergent' && env.lk.api.store.get('/persistentvolumeclaims', 'default', `data-${victim}`), 60_000);
    assert.deepEqual(kept.metadata.ownerReferences ?? [], [], 'no longer owned by the group: it outlives it');
    assert.ok(!kept.metadata.deletionTimestamp);
    assert.equal(env.pod(victim), undefined, 'its pod is gone');
    // Every member holds the same data, and it is what was written (k/3 included).
    const all = await statuses(env, name);
    assert.equal(all.size, 3);
    const want = [...Array.from({ length: 10 }, (_, i) => `k/${i}=value-${i}`), ...writer.acked.map((a) => `${a.key}=${a.value}`)].sort();
    for (const member of all.keys()) {
      const got = await contents(env, env.podIP(member)!);
      assert.deepEqual(got.filter((kv) => !kv.startsWith(`${writer.prefix}/`) || writer.acked.some((a) => kv === `${a.key}=${a.value}`)), want, `${member} holds exactly what was written`);
    }
  });

  await t.test('with deleteDivergentData the divergent member\'s volume is deleted', async () => {
    await env.kubectl(['patch', 'rg', name, '--type=merge', '-p', JSON.stringify({ spec: { failurePolicy: { deleteDivergentData: true } } })]);
    await env.waitGroup(name, 'the new spec observed', (g) => settled(g, 3) && g, 60_000);
    const victim = follower(env);
    await replaceDivergent(victim, 'k/5');
    await env.waitGroup(name, `${victim}'s volume deleted`, () => !env.pvcs(name).some((p) => p.metadata?.name === `data-${victim}`) && !env.lk.api.store.get('/persistentvolumeclaims', 'default', `data-${victim}`), 60_000);
    const values = await Promise.all([...(await statuses(env, name)).keys()].map(async (m) => (await contents(env, env.podIP(m)!)).find((kv) => kv.startsWith('k/5='))));
    assert.deepEqual(values, ['k/5=value-5', 'k/5=value-5', 'k/5=value-5']);
  });

  await t.test('two of three members corrupted differently: DivergenceUnresolved, nothing removed', async () => {
    const before = env.group(name)!.status!;
    const voters = [...before.configuration!.voters].sort();
    const [a, b] = voters.filter((v) => v !== before.leader).sort();
    // Both corruptions land while nothing is written (no checkpoint between them, where the first
    // would be a lone divergent member); the writes that follow reach the next checkpoints.
    await injectFault(env.podIP(a)!, 'corrupt-value', 'k/7', operatorTls(env, name, a));
    await injectFault(env.podIP(b)!, 'corrupt-value', 'k/8', operatorTls(env, name, b));
    const writer = new Writer(endpoint, 'unresolved', 60, env.clientTls(name)).start();
    t.after(() => writer.stop());
    await waitAcks(writer, 5);
    const g = await env.waitGroup(name, 'DivergenceUnresolved', (x) => condition(x, 'DivergenceUnresolved')?.status === 'True' && x, 120_000);
    t.diagnostic(`unresolved: ${condition(g, 'DivergenceUnresolved')!.message}`);
    // Two more checkpoints later (the operator has reconciled on them), still nobody is removed.
    const seenAt = Math.max(...[...(await statuses(env, name)).values()].map((st) => st.divergence?.index ?? 0));
    await waitFor('two more checkpoints compared', async () => {
      const all = await statuses(env, name);
      return all.size === 3 && [...all.values()].every((st) => (st.divergence?.index ?? 0) >= seenAt + 40);
    }, 120_000, 200);
    await writer.stop();
    const after = env.group(name)!.status!;
    assert.deepEqual([...after.configuration!.voters].sort(), voters, 'the configuration is unchanged');
    for (const v of voters) assert.ok(env.pod(v), `${v}'s pod is still there`);
    assert.ok(!after.members!.some((m) => m.health === 'Divergent'), 'nobody is blamed without a majority');
    const lines = env.eventLines(name);
    assert.ok(lines.some((l) => l.startsWith('Warning DivergenceUnresolved: ')), lines.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith(`Warning ReplacingMember: ${a} `) || l.startsWith(`Warning ReplacingMember: ${b} `)), lines.join('\n'));
  });
});
