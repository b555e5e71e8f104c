// Operator end-to-end, the life of a healthy group on the local control plane
// (issue 9, scenarios 1, 9, 5 and 8): a 3-member group becomes Available with
// one leader and is usable with etcdctl through its client Service; invalid
// specs are refused and create nothing; kubectl scale to 5 and back to 3 and a
// switch to faultTolerance: 2 each converge with the status configuration
// equal to the members' own; an image change under a write load restarts the
// members one at a time, the leader last, losing no acknowledged write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperatorEnv } from './env.ts';
import { waitFor } from '../../localkube/index.ts';
import { condition, groupManifest, settled } from './group.ts';
import { realConfiguration, statuses } from './members.ts';
import { Writer } from './writer.ts';
import { otherReplacements, waitAcks } from './faults.ts';

const run = promisify(execFile);

async function etcdctl(endpoint: string, tls: { scheme: string; flags: string[] }, ...args: string[]): Promise<string> {
  const { stdout } = await run('etcdctl', [`--endpoints=${tls.scheme}://${endpoint}`, ...tls.flags, '--command-timeout=10s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  return stdout;
}

/** configMatches: the status configuration equals what the leader itself reports. */
async function configMatches(env: OperatorEnv, name: string, voters: number): Promise<void> {
  const g = await env.waitGroup(name, `${name} settled with ${voters} voters`, (g) => settled(g, voters) && g, 180_000);
  const real = await realConfiguration(env, name);
  assert.ok(real, 'a member reports being leader');
  assert.deepEqual(g.status!.configuration!.voters, real.voters, 'status voters are the leader\'s voters');
  assert.deepEqual(real.learners, []);
  assert.equal(real.joint, false);
  assert.equal(g.status!.replicas, voters);
  // Every member pod is a voter and nothing else is left over.
  const pods = env.pods(name).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort();
  assert.deepEqual(pods, real.voters);
  assert.deepEqual(env.pvcs(name).filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!).sort(), real.voters.map((v) => `data-${v}`).sort());
}

test('a group from apply to scale and rolling update', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-lifecycle-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = await OperatorEnv.start(t);
  env.startOperator();
  const name = 'alpha';

  await t.test('scenario 1: a 3-member group becomes Available with one leader and serves etcdctl through its client Service', async () => {
    const started = Date.now();
    await env.apply(groupManifest(name));
    const g = await env.waitGroup(name, 'Available with 3 voters', (g) => settled(g, 3) && g, 180_000);
    t.diagnostic(`scenario 1: Available after ${Date.now() - started} ms`);
    const all = await statuses(env, name);
    assert.equal(all.size, 3);
    const leaders = [...all.values()].filter((s) => s.role === 'leader');
    assert.equal(leaders.length, 1, 'exactly one member leads');
    const leaderName = [...all.entries()].find(([, s]) => s.role === 'leader')![0];
    for (const s of all.values()) assert.equal(s.leader, leaders[0].memberId, 'every member follows the same leader');
    assert.equal(g.status!.leader, leaderName);
    assert.equal(condition(g, 'Quorate')?.status, 'True');

    const table = await env.kubectl(['get', 'rg', name]);
    const [header, row] = table.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(header, ['NAME', 'REPLICAS', 'READY', 'LEADER', 'TOLERATES', 'PHASE', 'AGE']);
    assert.deepEqual(row.slice(0, 6), [name, '3', '3', g.status!.leader!, '1', 'Available']);

    const endpoint = await env.clientEndpoint(name);
    // The group speaks TLS (the default): etcdctl uses the application client Secret, as the README shows.
    const tls = env.etcdctlTls(name, dir);
    assert.equal(tls.scheme, 'https');
    assert.match(await etcdctl(endpoint, tls, 'put', 'greeting', 'hello'), /^OK/);
    assert.equal((await etcdctl(endpoint, tls, 'get', 'greeting', '--print-value-only')).trim(), 'hello');
    const members = (await etcdctl(endpoint, tls, 'member', 'list', '-w', 'simple')).trim().split('\n');
    assert.deepEqual(members.map((l) => l.split(', ')[2]).sort(), g.status!.configuration!.voters, 'etcdctl sees the members status reports');
    const events = env.eventLines(name).join('\n');
    assert.match(events, /Normal Bootstrapping: creating 3 founding members/);
    assert.match(events, /Normal Bootstrapped: group formed with alpha-0, alpha-1, alpha-2/);
    for (const l of otherReplacements(env, name, [])) t.diagnostic(`scenario 1: a slow member was replaced: ${l}`);
  });

  await t.test('scenario 9: invalid specs are rejected by the schema or reported as InvalidSpec, and nothing is created', async () => {
    // Rejected by the API server (schema minimum, strict field validation).
    const zero = await env.kubectlResult(['apply', '-f', '-'], JSON.stringify(groupManifest('bad-zero', { replicas: 0 })));
    assert.notEqual(zero.code, 0);
    assert.match(zero.stderr, /spec\.replicas/);
    const unknown = await env.kubectlResult(['apply', '-f', '-'], JSON.stringify(groupManifest('bad-field', { replica: 3 })));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.replica"/);
    assert.equal(env.group('bad-zero'), undefined);
    assert.equal(env.group('bad-field'), undefined);
    // Accepted by a server that does not run the CRD's CEL rules: the operator refuses them.
    const cases: [string, object, RegExp][] = [
      ['bad-even', groupManifest('bad-even', { replicas: 2 }), /spec\.replicas: .*odd/],
      ['bad-both', groupManifest('bad-both', { replicas: 3, faultTolerance: 1 }), /spec\.faultTolerance.*spec\.replicas|spec\.replicas.*faultTolerance/],
    ];
    for (const [bad, manifest] of cases) await env.apply(manifest);
    for (const [bad, , message] of cases) {
      const g = await env.waitGroup(bad, `${bad} reported InvalidSpec`, (g) => condition(g, 'InvalidSpec')?.status === 'True' && g.status?.observedGeneration === g.metadata.generation && g, 60_000);
      assert.equal(g.status!.phase, 'Invalid');
      assert.match(condition(g, 'InvalidSpec')!.message, message);
      // The Event is a separate write after the status: wait for it rather than expect it in the same instant.
      await waitFor(`${bad}'s InvalidSpec event`, () => /Warning InvalidSpec: .*nothing is changed until the spec is fixed/.test(env.eventLines(bad).join('\n')) || undefined, 30_000);
      assert.deepEqual(env.objectsOf(bad), [], `nothing may be created for ${bad}`);
      assert.deepEqual(g.metadata.finalizers ?? [], []);
    }
    const table = await env.kubectl(['get', 'rg', 'bad-even']);
    assert.match(table, /bad-even\s+.*Invalid/);
    for (const [bad] of cases) await env.kubectl(['delete', 'rg', bad, '--wait=true', '--timeout=60s']);
  });

  await t.test('scenario 5: kubectl scale to 5, back to 3, then faultTolerance: 2; status matches the real configuration each time', async () => {
    let started = Date.now();
    await env.kubectl(['scale', `rg/${name}`, '--replicas=5']);
    await configMatches(env, name, 5);
    t.diagnostic(`scenario 5: 3 -> 5 converged in ${Date.now() - started} ms`);
    assert.match(env.eventLines(name).join('\n'), /Normal ScaledUp: added alpha-\d+, alpha-\d+/);

    started = Date.now();
    await env.kubectl(['scale', `rg/${name}`, '--replicas=3']);
    await configMatches(env, name, 3);
    t.diagnostic(`scenario 5: 5 -> 3 converged in ${Date.now() - started} ms`);
    assert.match(env.eventLines(name).join('\n'), /Normal ScaledDown: removed /);

    started = Date.now();
    await env.kubectl(['patch', 'rg', name, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/replicas' }, { op: 'add', path: '/spec/faultTolerance', value: 2 }])]);
    await configMatches(env, name, 5);
    const g = env.group(name)!;
    assert.deepEqual(g.status!.faultTolerance, { desired: 2, current: 2 });
    t.diagnostic(`scenario 5: faultTolerance 2 converged in ${Date.now() - started} ms`);
    const table = await env.kubectl(['get', 'rg', name]);
    assert.match(table, new RegExp(`${name}\\s+5\\s+5\\s+\\S+\\s+2\\s+Available`));
  });

  await t.test('scenario 8: an image change under a write load restarts members one by one, leader last, losing no acknowledged write', async () => {
    // Back to 3 members to keep the rollout short.
    await env.kubectl(['patch', 'rg', name, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/faultTolerance' }, { op: 'add', path: '/spec/replicas', value: 3 }])]);
    await configMatches(env, name, 3);
    const podUids = new Map(env.pods(name).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
    const writer = new Writer(await env.clientEndpoint(name), 'rolling', undefined, env.clientTls(name)).start();
    t.after(() => writer.stop());
    await waitAcks(writer, 20);
    const started = Date.now();
    await env.kubectl(['patch', 'rg', name, '--type=merge', '-p', JSON.stringify({ spec: { image: 'replicant:0.1.1' } })]);
    await env.waitGroup(name, 'every member restarted with the new image', (g) => {
      const pods = env.pods(name).filter((p) => !p.metadata?.deletionTimestamp);
      return settled(g, 3) && pods.every((p) => p.spec?.containers?.[0]?.image === 'replicant:0.1.1' && podUids.get(p.metadata!.name!) !== p.metadata!.uid) && g;
    }, 240_000);
    const finished = Date.now();
    await writer.stop();
    const outage = writer.outage(started, finished);
    t.diagnostic(`scenario 8: rollout took ${finished - started} ms; ${writer.ackedSince(started)} writes acknowledged during it, ${outage.failures} failed, longest gap ${outage.longestGapMs} ms`);
    assert.deepEqual(await writer.lostWrites(), [], 'no acknowledged write is lost');
    // Same members, new pods: a restart in place, not a replacement.
    assert.deepEqual(env.pods(name).map((p) => p.metadata!.name!).sort(), [...podUids.keys()].sort());
    // One at a time, followers first, the leader last after handing over leadership.
    const rollout = env.events(name).filter((e) => ['RollingUpdate', 'MemberRestarted', 'TransferLeadership'].includes(e.reason ?? ''));
    const steps = rollout.map((e) => `${e.reason}: ${e.message}`);
    const restarts = rollout.filter((e) => e.reason === 'RollingUpdate').map((e) => /restarting (\S+) /.exec(e.message ?? '')?.[1]);
    assert.equal(restarts.length, 3, steps.join('\n'));
    assert.deepEqual(rollout.map((e) => e.reason).filter((r) => r !== 'TransferLeadership'), ['RollingUpdate', 'MemberRestarted', 'RollingUpdate', 'MemberRestarted', 'RollingUpdate', 'MemberRestarted'], steps.join('\n'));
    const transfers = rollout.filter((e) => e.reason === 'TransferLeadership').map((e) => /from (\S+) to/.exec(e.message ?? '')?.[1]);
    // The leader goes last: it hands leadership over before its restart (a member that leads by
    // chance earlier, after an election on a slow machine, would hand over too).
    assert.equal(transfers.at(-1), restarts[2], `the last member restarted led and handed over first:\n${steps.join('\n')}`);
    const lastRestart = rollout.findIndex((e) => e.reason === 'RollingUpdate' && e.message?.includes(`restarting ${restarts[2]} `));
    assert.ok(rollout.slice(lastRestart).some((e) => e.reason === 'TransferLeadership' && e.message?.startsWith(`move leadership from ${restarts[2]} to`)), steps.join('\n'));
    // Writes kept flowing: some were acknowledged while the rollout ran, and no write stalled for long.
    assert.ok(writer.ackedSince(started) > 20, 'writes were acknowledged during the rollout');
    assert.ok(outage.longestGapMs < 20_000, `longest write gap ${outage.longestGapMs} ms`);
  });
});
