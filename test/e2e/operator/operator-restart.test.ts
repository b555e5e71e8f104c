// Operator end-to-end, the operator itself failing (issue 9, scenario 6 and
// operator HA): an operator killed (SIGKILL) after a replacement added its
// learner, and one killed while the joint change is being made, are followed
// by an operator that finishes the replacement from what status and the
// members say; with two leader-elected operators only the lease holder acts,
// and killing it hands over to the other within the lease duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { NAMESPACE, OperatorEnv } from './env.ts';
import { groupManifest, settled } from './group.ts';
import { crashLoop, describeRecovery, recovery, waitAcks } from './faults.ts';
import { operatorTls, realConfiguration, watchConfiguration } from './members.ts';
import type { OperatorProcess } from './operator-process.ts';
import { Writer } from './writer.ts';
import { waitFor } from '../../localkube/index.ts';

const name = 'delta';
// Short, but with room for slow API calls on a loaded machine (a renewal that misses the deadline ends the leader).
const LEASE = { durationS: 8, renewDeadlineS: 6, retryPeriodS: 1 };
const LEASE_NAME = 'replicant-e2e';

function follower(env: OperatorEnv): string {
  const s = env.group(name)!.status!;
  return s.configuration!.voters.filter((v) => v !== s.leader).sort()[0];
}

/** newcomerOf waits for the Replace operation of `victim` and names the member replacing it. */
async function newcomerOf(env: OperatorEnv, victim: string): Promise<string> {
  return env.waitGroup(name, `a replacement of ${victim} to start`, (g) => {
    const op = g.status?.operation;
    return op?.type === 'Replace' && op.remove.some((r) => r.name === victim) && op.add[0]?.name;
  }, 120_000);
}

function identity(op: OperatorProcess): string {
  return `${os.hostname()}_${op.pid}`;
}

function leaseHolder(env: OperatorEnv): string | undefined {
  return env.lk.api.store.get('coordination.k8s.io/leases', NAMESPACE, LEASE_NAME)?.spec?.holderIdentity || undefined;
}

test('the operator dies in the middle of a replacement; another finishes it', async (t) => {
  const env = await OperatorEnv.start(t);
  const first = env.startOperator();
  await env.apply(groupManifest(name));
  await env.waitGroup(name, 'Available with 3 voters', (g) => settled(g, 3) && g, 180_000);
  const writer = new Writer(await env.clientEndpoint(name), 'acked', undefined, env.clientTls(name)).start();
  t.after(() => writer.stop());
  await waitAcks(writer, 20);

  await t.test('scenario 6a: killed after the learner was added, a restarted operator completes the replacement', async (st) => {
    const victim = follower(env);
    const faultAt = Date.now();
    const loop = crashLoop(env, victim);
    st.after(() => loop.stop());
    const newcomer = await newcomerOf(env, victim);
    // Stop the new member's process as soon as it runs: added as a learner, it cannot catch up.
    await waitFor(`${newcomer} running, to pause it`, () => env.lk.hooks.pause(NAMESPACE, newcomer).then(() => true), 120_000, 20);
    st.after(() => env.lk.hooks.resume(NAMESPACE, newcomer).catch(() => undefined));
    const real = await waitFor(`${newcomer} to be a learner`, async () => {
      const c = await realConfiguration(env, name);
      return c?.learners.includes(newcomer) && c;
    }, 120_000, 100);
    assert.ok(real.voters.includes(victim), 'the old member is still a voter');
    const op = env.group(name)!.status!.operation!;
    assert.equal(op.type, 'Replace');
    assert.equal(op.phase, 'ChangingMembership');
    await first.kill();
    t.diagnostic(`scenario 6a: operator killed with ${newcomer} a learner, configuration (${real.voters.join(' ')}) learners (${real.learners.join(' ')}), status operation ${op.id} ${op.phase}`);
    await env.lk.hooks.resume(NAMESPACE, newcomer);
    const second = env.startOperator();
    const r = await recovery(env, name, victim, faultAt, writer);
    await loop.stop();
    t.diagnostic(describeRecovery('scenario 6a', r));
    assert.ok(r.group.status!.configuration!.voters.includes(newcomer));
    assert.ok(second.actions().some((a) => a.action === 'DeletePod' && a.key.startsWith(`DeletePod/${victim}/`)), 'the restarted operator cleaned up');
    assert.ok(env.eventLines(name).includes(`Normal MemberReplaced: replaced ${victim} (${op.remove[0].reason}) with ${newcomer}`), env.eventLines(name).join('\n'));
    assert.deepEqual(await writer.lostWrites(), []);
    await second.kill();
  });

  await t.test('leader election and scenario 6b: two operators, one acts; killed during the joint change, the other takes over within the lease and completes it', async (st) => {
    const ops = [0, 1].map(() => env.startOperator({ leaderElect: true, lease: LEASE, leaseName: LEASE_NAME }));
    const holder = await waitFor('one operator to hold the lease', () => leaseHolder(env), 60_000);
    const active = ops.find((o) => identity(o) === holder)!;
    const standby = ops.find((o) => o !== active)!;
    assert.ok(active, `the lease holder ${holder} is one of ours`);
    await waitFor('the lease holder to reconcile', () => active.lines.some((l) => l.msg === 'reconciling ReplicaGroups'), 60_000);
    await waitFor('the standby to know who leads', () => standby.lines.some((l) => l.msg === 'leader is' && l.leader === holder), 60_000);

    const victim = follower(env);
    const faultAt = Date.now();
    const loop = crashLoop(env, victim);
    st.after(() => loop.stop());
    const newcomer = await newcomerOf(env, victim);
    // Kill the acting operator once it has asked for the change, while the group goes through the joint configuration.
    await waitFor('the acting operator to ask for the change', () => active.actions().some((a) => a.action === 'ChangeMembership' && a.msg.includes(`add ${newcomer}`)), 120_000, 20);
    const leaderName = env.group(name)!.status!.leader!;
    const leaderIp = env.podIP(leaderName)!;
    const { sawJoint } = await watchConfiguration(leaderIp, (s) => s.configuration.joint || s.configuration.voters.some((id) => s.members.find((m) => m.id === id)?.name === newcomer), 60_000, operatorTls(env, name, leaderName));
    const before = env.group(name)!.status!;
    await active.kill();
    const killedAt = Date.now();
    assert.deepEqual(standby.actions(), [], 'the standby did nothing while the other held the lease');
    assert.ok(!standby.lines.some((l) => l.msg === 'reconciling ReplicaGroups'), 'the standby never ran the controller');
    await waitFor('the standby to take the lease', () => leaseHolder(env) === identity(standby) && standby.lines.some((l) => l.msg === 'became leader'), 30_000, 50);
    const handoverMs = Date.now() - killedAt;
    t.diagnostic(`leader election: the standby took over ${handoverMs} ms after the active operator was killed (lease ${LEASE.durationS}s, retry ${LEASE.retryPeriodS}s); the group was ${sawJoint ? 'seen in the joint configuration' : 'past the joint configuration'} when it died, status operation ${before.operation?.id} ${before.operation?.phase}`);
    assert.ok(handoverMs <= (LEASE.durationS + 2 * LEASE.retryPeriodS + 2) * 1000, `handover took ${handoverMs} ms`);
    assert.equal(before.operation?.type, 'Replace', 'the replacement was in flight when the operator died');
    const r = await recovery(env, name, victim, faultAt, writer);
    await loop.stop();
    t.diagnostic(describeRecovery('scenario 6b', r));
    assert.ok(standby.actions().some((a) => a.action === 'DeletePod' && a.key.startsWith(`DeletePod/${victim}/`)), 'the new lease holder cleaned up');
    assert.ok(env.eventLines(name).includes(`Normal MemberReplaced: replaced ${victim} (${before.operation!.remove[0].reason}) with ${newcomer}`));
    // The killed operator, started again, waits as a standby.
    const again = env.startOperator({ leaderElect: true, lease: LEASE, leaseName: LEASE_NAME });
    await waitFor('the restarted operator to see the leader', () => again.lines.some((l) => l.msg === 'leader is' && l.leader === identity(standby)), 60_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n--- restarted\n${again.tail()}\n--- standby (now leading)\n${standby.tail()}`);
    });
    assert.equal(leaseHolder(env), identity(standby));
    assert.deepEqual(again.actions(), []);
    await writer.stop();
    assert.deepEqual(await writer.lostWrites(), []);
  });
});
