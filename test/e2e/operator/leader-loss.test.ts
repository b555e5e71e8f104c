// Operator end-to-end, losing the leader (issue 9, scenario 4): the leader's
// pod of a group without volumes is killed (force-deleted: its process dies at
// once, its data with it) while a client writes through the client Service;
// the others elect a new leader, the operator replaces the lost member through
// a joint change, and no acknowledged write is lost. Prints the time to a new
// leader, to writes resuming and to full fault tolerance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperatorEnv } from './env.ts';
import { groupManifest, settled } from './group.ts';
import { describeRecovery, otherReplacements, recovery, waitAcks } from './faults.ts';
import { statuses } from './members.ts';
import { Writer } from './writer.ts';
import { waitFor } from '../../localkube/index.ts';

const name = 'gamma';

test('scenario 4: the leader\'s pod is killed under a write load: new leader, then a replacement; no acknowledged write lost', async (t) => {
  const env = await OperatorEnv.start(t);
  env.startOperator();
  // No volumes: a killed pod takes its data with it, so the member is replaced, not restarted.
  await env.apply(groupManifest(name, { storage: undefined }));
  await env.waitGroup(name, 'Available with 3 voters', (g) => settled(g, 3) && g, 180_000);
  const writer = new Writer(await env.clientEndpoint(name), 'acked', undefined, env.clientTls(name)).start();
  t.after(() => writer.stop());
  await waitAcks(writer, 30);

  const leader = env.group(name)!.status!.leader!;
  const faultAt = Date.now();
  await env.kubectl(['delete', 'pod', leader, '--grace-period=0', '--force']);
  const newLeader = await waitFor('a new leader among the others', async () => {
    const all = await statuses(env, name);
    const found = [...all.entries()].find(([n, s]) => n !== leader && s.role === 'leader');
    return found?.[0];
  }, 60_000, 100);
  const electedAfter = Date.now() - faultAt;
  const r = await recovery(env, name, leader, faultAt, writer);
  await writer.stop();
  t.diagnostic(`scenario 4 (leader ${leader} killed): new leader ${newLeader} after ${electedAfter} ms`);
  t.diagnostic(describeRecovery('scenario 4', r));
  assert.deepEqual(await writer.lostWrites(), [], 'no acknowledged write is lost');
  assert.ok(writer.ackedSince(faultAt) > 0, 'writes resumed');
  const lines = env.eventLines(name);
  const replacing = lines.filter((l) => l.startsWith(`Warning ReplacingMember: ${leader} is faulty (PodMissing`));
  assert.equal(replacing.length, 1, lines.join('\n'));
  assert.match(replacing[0], /its data was in an emptyDir, so it cannot come back and is replaced\); replacing it with \S+$/);
  const newcomer = / replacing it with (\S+)$/.exec(replacing[0])![1];
  assert.ok(lines.some((l) => new RegExp(`^Normal ChangeMembership: add ${newcomer}, remove ${leader} via ${newLeader}`).test(l)), lines.join('\n'));
  assert.ok(lines.includes(`Normal MemberReplaced: replaced ${leader} (PodMissing) with ${newcomer}`), lines.join('\n'));
  assert.equal(r.group.status!.leader, newLeader);
  // The new member, slow as it may be to become Ready, is not replaced in turn.
  assert.ok(!lines.some((l) => l.startsWith(`Warning ReplacingMember: ${newcomer} is faulty`)), lines.join('\n'));
  for (const l of otherReplacements(env, name, [leader])) t.diagnostic(`scenario 4: also replaced (slow machine): ${l}`);
});
