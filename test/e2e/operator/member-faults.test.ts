// Operator end-to-end, members that fail (issue 9, scenarios 2, 3 and 7): a
// member killed with SIGKILL over and over is replaced through a joint change
// with no acknowledged write lost; a member whose pod and volume are deleted,
// and a member on a node that goes NotReady, are replaced; two of three
// members killed with their volumes wiped leave the group QuorumLost with a
// clear message, and the operator deletes nothing and keeps running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAMESPACE, OperatorEnv } from './env.ts';
import { condition, groupManifest, settled } from './group.ts';
import { crashLoop, describeRecovery, otherReplacements, recovery, waitAcks } from './faults.ts';
import { Writer } from './writer.ts';
import { EtcdClient } from '../etcd-client.ts';

const name = 'beta';

/** follower picks a voter that does not lead (highest ordinal first). */
function follower(env: OperatorEnv): string {
  const s = env.group(name)!.status!;
  return [...s.configuration!.voters].filter((v) => v !== s.leader).sort((a, b) => Number(b.split('-').pop()) - Number(a.split('-').pop()))[0];
}

test('members that fail are replaced; a lost quorum is reported, not acted on', async (t) => {
  const env = await OperatorEnv.start(t);
  const operator = env.startOperator();
  await env.apply(groupManifest(name));
  await env.waitGroup(name, 'Available with 3 voters', (g) => settled(g, 3) && g, 180_000);
  const endpoint = await env.clientEndpoint(name);
  const writer = new Writer(endpoint, 'acked', undefined, env.clientTls(name)).start();
  t.after(() => writer.stop());
  await waitAcks(writer, 20);

  await t.test('scenario 2: a member killed -9 over and over is replaced by a joint change; every acknowledged write survives', async (st) => {
    const victim = follower(env);
    const faultAt = Date.now();
    const loop = crashLoop(env, victim);
    st.after(() => loop.stop());
    // A member seen starting again right after a kill is not timed yet (no unhealthySince); once its
    // clock runs, status records since when it is unhealthy.
    const seen = await env.waitGroup(name, `${victim} reported unhealthy in status, with since when`, (g) => g.status?.members?.find((m) => m.name === victim && m.health === 'Unhealthy' && m.unhealthySince), 60_000);
    assert.match(seen.reason ?? '', /^(CrashLooping|Starting|NotReady)$/);
    const r = await recovery(env, name, victim, faultAt, writer);
    await loop.stop();
    t.diagnostic(describeRecovery(`scenario 2 (crash loop of ${victim}, ${loop.kills} kills)`, r));
    assert.ok(loop.kills >= 2, `the member was killed repeatedly (${loop.kills})`);
    assert.deepEqual(await writer.lostWrites(), [], 'no acknowledged write is lost');
    const lines = env.eventLines(name);
    const events = lines.join('\n');
    assert.match(events, new RegExp(`Warning MemberUnhealthy: ${victim}: CrashLooping: container is crash-looping \\(\\d+ restarts; last killed by signal 9\\)`));
    const replacing = lines.filter((l) => l.startsWith(`Warning ReplacingMember: ${victim} is faulty (`));
    assert.equal(replacing.length, 1, events);
    assert.match(replacing[0], /is faulty \((CrashLooping|Starting|NotReady) for \d+s: /);
    const newcomer = / replacing it with (\S+)$/.exec(replacing[0])![1];
    assert.match(events, new RegExp(`Normal ChangeMembership: add ${newcomer}, remove ${victim} via `));
    assert.match(events, new RegExp(`Normal MemberReplaced: replaced ${victim} \\(\\w+\\) with ${newcomer}`));
    assert.ok(r.group.status!.configuration!.voters.includes(newcomer));
    await env.waitGroup(name, `${victim}'s pod and volume deleted`, () => !env.pod(victim) && !env.pvcs(name).some((p) => p.metadata?.name === `data-${victim}`), 60_000);
    // The new member is not replaced in turn while it starts and catches up.
    assert.ok(!env.eventLines(name).some((l) => l.startsWith(`Warning ReplacingMember: ${newcomer} is faulty`)), env.eventLines(name).join('\n'));
    for (const l of otherReplacements(env, name, [victim])) t.diagnostic(`scenario 2: also replaced (slow machine): ${l}`);
  });

  await t.test('scenario 3a: a member whose pod and volume are deleted is replaced', async (st) => {
    const victim = follower(env);
    const faultAt = Date.now();
    await env.kubectl(['delete', 'pvc', `data-${victim}`, '--wait=false']);
    await env.kubectl(['delete', 'pod', victim, '--wait=false']);
    const r = await recovery(env, name, victim, faultAt, writer);
    t.diagnostic(describeRecovery(`scenario 3a (pod and volume of ${victim} deleted)`, r));
    assert.deepEqual(await writer.lostWrites(), []);
    assert.match(env.eventLines(name).join('\n'), new RegExp(`Warning ReplacingMember: ${victim} is faulty \\(PodMissing`));
  });

  await t.test('scenario 3b: a member on a node that goes NotReady is replaced', async (st) => {
    const victim = follower(env);
    const node = env.pod(victim)!.spec!.nodeName!;
    const faultAt = Date.now();
    await env.lk.hooks.nodeNotReady(node, { kill: true });
    st.after(() => env.lk.hooks.nodeReady(node).catch(() => undefined));
    const lost = await env.waitGroup(name, `${victim} reported on a lost node`, (g) => g.status?.members?.find((m) => m.name === victim && m.reason === 'NodeLost'), 60_000);
    assert.match(lost.message ?? '', new RegExp(`node ${node} is not Ready`));
    // Replaced while the node is still away: its old pod cannot even finish terminating.
    const g = await env.waitGroup(name, `${victim} replaced while ${node} is down`, (g) => {
      const s = g.status!;
      return s.phase === 'Available' && !s.operation && s.faultTolerance?.current === 1 && !s.configuration!.voters.includes(victim) && s.configuration!.voters.length === 3 && g;
    }, 180_000);
    t.diagnostic(`scenario 3b (node ${node} of ${victim} NotReady): full fault tolerance restored ${Date.now() - faultAt} ms after the fault`);
    assert.ok(g.status!.configuration!.voters.every((v) => env.pod(v)?.spec?.nodeName !== node), 'no voter runs on the lost node');
    assert.match(env.eventLines(name).join('\n'), new RegExp(`Warning ReplacingMember: ${victim} is faulty \\(NodeLost`));
    await env.lk.hooks.nodeReady(node);
    await env.waitGroup(name, `the old pod and volume of ${victim} gone once ${node} is back`, (g) => settled(g, 3) && !env.pod(victim) && !env.pvcs(name).some((p) => p.metadata?.name === `data-${victim}`) && g, 120_000);
    assert.deepEqual(await writer.lostWrites(), []);
  });

  await t.test('scenario 7: two of three members killed with their volumes wiped: QuorumLost, nothing deleted, the operator keeps running', async (st) => {
    await writer.stop();
    assert.deepEqual(await writer.lostWrites(), []);
    const before = env.group(name)!;
    const voters = before.status!.configuration!.voters;
    const survivor = before.status!.leader!;
    const victims = voters.filter((v) => v !== survivor);
    const objects = new Map([...env.pods(name), ...env.pvcs(name)].map((o) => [`${o.kind}/${o.metadata!.name}`, o.metadata!.uid]));
    const actionsBefore = operator.actions().length;
    const faultAt = Date.now();
    for (const v of victims) await env.lk.hooks.wipePvc(NAMESPACE, `data-${v}`);
    for (const v of victims) await env.lk.hooks.crash(NAMESPACE, v);
    const g = await env.waitGroup(name, 'QuorumLost reported', (g) => g.status?.phase === 'QuorumLost' && condition(g, 'Quorate')?.status === 'False' && g, 120_000);
    // Each wiped member says why it does not come back.
    const refused = await env.waitGroup(name, 'the wiped members reported as refusing to start', (g) => {
      const ms = victims.map((v) => g.status?.members?.find((m) => m.name === v));
      return ms.every((m) => m?.reason === 'CrashLooping' && /already ran/.test(m.message ?? '')) && ms;
    }, 120_000);
    for (const m of refused) assert.match(m!.message!, new RegExp(`last exit 1: replicant replica: .* is empty, but member ${m!.name} \\(\\w+\\) already ran in cluster`));
    t.diagnostic(`scenario 7: QuorumLost reported ${Date.now() - faultAt} ms after the fault: ${condition(g, 'Quorate')!.message}`);
    assert.match(condition(g, 'Quorate')!.message, /[01]\/3 voters healthy, 2 needed; no destructive action until a quorum is healthy again/);
    assert.match(env.eventLines(name).join('\n'), /Warning QuorumLost: /);
    assert.equal(g.status!.faultTolerance!.current, 0);
    // Watch it for a while: nothing is deleted or reconfigured, and the operator does not crash.
    const until = Date.now() + 20_000;
    await env.waitGroup(name, 'twenty quiet seconds', (g) => {
      assert.equal(g.status?.phase, 'QuorumLost', 'quorum stays lost: the wiped members must not come back as if nothing happened');
      return Date.now() > until && g;
    }, 60_000);
    for (const [key, uid] of objects) {
      const [kind, objName] = key.split('/');
      const now = kind === 'Pod' ? env.pod(objName) : env.pvcs(name).find((p) => p.metadata?.name === objName);
      assert.equal(now?.metadata?.uid, uid, `${key} still exists`);
      assert.ok(!now?.metadata?.deletionTimestamp, `${key} is not being deleted`);
    }
    const acted = operator.actions().slice(actionsBefore);
    assert.deepEqual(acted.filter((a) => /Delete|ChangeMembership|TransferLeadership/.test(a.action)), [], 'no destructive action');
    assert.ok(operator.running, 'the operator is still running');
    const status = env.group(name)!.status!;
    for (const v of victims) assert.equal(status.members!.find((m) => m.name === v)?.health, 'Unhealthy');
    t.diagnostic(`scenario 7: members ${JSON.stringify(status.members!.map((m) => `${m.name}: ${m.health} ${m.reason ?? ''} ${m.message ?? ''}`))}`);
    // The survivor still holds every acknowledged write (read locally: without a quorum nothing else can answer).
    const local = new EtcdClient(`${env.podIP(survivor)}:2379`, 10_000, env.clientTls(name)?.credentials, env.clientTls(name)?.options);
    try {
      const kvs = new Map((await local.range(`${writer.prefix}/`, `${writer.prefix}0`, { serializable: true })).map((kv) => [kv.key, kv.value]));
      assert.deepEqual(writer.acked.filter((a) => kvs.get(a.key) !== a.value).map((a) => a.key), [], 'the survivor lost nothing');
    } finally {
      local.close();
    }
  });
});
