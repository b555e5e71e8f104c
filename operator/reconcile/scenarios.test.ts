// Table-driven planner scenarios against the model world (testing/world.ts):
// each drives the planner pass by pass, applying its status and action, and
// checks the order of what it did. Every pass is also checked for invariants
// (no destructive action without a healthy quorum, never removing the leader,
// no guard veto).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { World } from './testing/world.ts';
import type { Action } from './actions.ts';

const kinds = (as: Action[]) => as.map((a) => a.kind);
const cond = (w: World, type: string) => w.group.status?.conditions?.find((c) => c.type === type);

test('bootstrap 3: finalizer, Services, PDB, three founding pods, then Available', () => {
  const w = new World({ replicas: 3 });
  const p = w.settle();
  assert.deepEqual(kinds(w.actions()), [
    'AddFinalizer',
    'CreateService',
    'CreateService',
    'CreatePodDisruptionBudget',
    'CreateCertificateAuthority',
    'IssueCertificate',
    'IssueCertificate',
    'CreatePod',
    'IssueCertificate',
    'CreatePod',
    'IssueCertificate',
    'CreatePod',
  ]);
  // The operator's certificate first, then each founding member's just before its pod.
  assert.deepEqual(w.actions().filter((a) => a.kind === 'IssueCertificate').map((a) => (a as { metadata: { name: string } }).metadata.name), ['g-operator-tls', 'g-0-tls', 'g-1-tls', 'g-2-tls']);
  assert.deepEqual(w.memberNames(), ['g-0', 'g-1', 'g-2']);
  const s = p.status;
  assert.equal(s.phase, 'Available');
  assert.equal(s.replicas, 3);
  assert.equal(s.readyReplicas, 3);
  assert.equal(s.leader, 'g-0');
  assert.deepEqual(s.faultTolerance, { desired: 1, current: 1 });
  assert.deepEqual(s.configuration, { voters: ['g-0', 'g-1', 'g-2'], outgoing: [], learners: [], joint: false });
  assert.equal(s.observedGeneration, 1);
  assert.equal(s.selector, 'app.kubernetes.io/name=replicant,replicant.dev/group=g');
  assert.equal(s.operation, undefined);
  assert.equal(cond(w, 'Available')?.status, 'True');
  assert.equal(cond(w, 'Quorate')?.status, 'True');
  assert.ok(s.members!.every((m) => m.health === 'Healthy' && m.id));
  assert.ok(w.events().some((e) => e.reason === 'Bootstrapped'));
  // Founding pods share one --initial-cluster and token, and start as "new".
  const args = [...w.pods.values()].map((pod) => pod.spec!.containers[0].args!);
  const flag = (a: string[], f: string) => a.find((x) => x.startsWith(`--${f}=`));
  assert.equal(new Set(args.map((a) => flag(a, 'initial-cluster'))).size, 1);
  assert.ok(args.every((a) => flag(a, 'initial-cluster-state') === '--initial-cluster-state=new'));
  assert.ok(args.every((a) => flag(a, 'initial-cluster-token') === '--initial-cluster-token=g-uid-1'));
  // Steady state asks again later and proposes nothing.
  const again = w.pass();
  assert.equal(again.action, undefined);
  assert.equal(again.step, 'steady');
});

/** afterFault returns the actions taken after history index `from`. */
const since = (w: World, from: number) => w.history.slice(from).filter((h) => h.action).map((h) => h.action!);
const describeAll = (as: Action[]) =>
  as.map((a) => {
    switch (a.kind) {
      case 'CreatePod':
        return `CreatePod:${a.pod.metadata!.name}`;
      case 'DeletePod':
        return `DeletePod:${a.name}`;
      case 'TransferLeadership':
        return `TransferLeadership:${a.member}->${a.target}`;
      case 'ChangeMembership':
        return `ChangeMembership:${a.description}`;
      default:
        return a.kind;
    }
  });

test('crash-looping member is replaced step by step: new pod, one joint change, then the old pod goes', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  const faultAt = w.now;
  w.fault('g-1', { crashLoop: true });
  const oldId = w.idOf('g-1')!;
  w.run((p) => p.step === 'steady' && !p.status.operation && p.status.configuration?.voters.includes('g-3') === true);
  const acts = since(w, from);
  assert.deepEqual(kinds(acts), ['IssueCertificate', 'CreatePod', 'ChangeMembership', 'DeletePod', 'DeleteSecret']);
  const [issue, create, change, del, dropSecret] = acts as [
    Extract<Action, { kind: 'IssueCertificate' }>,
    Extract<Action, { kind: 'CreatePod' }>,
    Extract<Action, { kind: 'ChangeMembership' }>,
    Extract<Action, { kind: 'DeletePod' }>,
    Extract<Action, { kind: 'DeleteSecret' }>,
  ];
  // The replacement gets a certificate of its own before its pod; the removed member's Secret goes once its pod is gone.
  assert.equal(issue.metadata.name, 'g-3-tls');
  assert.equal(issue.certificate.commonName, 'g-3');
  assert.equal(dropSecret.name, 'g-1-tls');
  assert.ok(!w.secrets.has('g-1-tls') && w.secrets.has('g-3-tls'));
  assert.equal(create.pod.metadata!.name, 'g-3');
  assert.ok(create.pod.spec!.containers[0].args!.includes('--initial-cluster-state=existing'));
  assert.deepEqual(change.request.add.map((a) => a.name), ['g-3']);
  assert.deepEqual(change.request.remove, [oldId]);
  assert.equal(change.member, 'g-0', 'sent to the leader');
  assert.equal(del.name, 'g-1');
  assert.equal(del.reason, 'Cleanup');
  const started = w.history.find((h, i) => i >= from && h.action?.kind === 'CreatePod')!;
  assert.ok(started.at - faultAt >= 30_000, `replacement began ${started.at - faultAt}ms after the fault, before unhealthyAfter`);
  assert.equal(w.config(), '(g-0 g-2 g-3)');
  const ev = w.events().map((e) => e.reason);
  assert.ok(ev.includes('MemberUnhealthy') && ev.includes('ReplacingMember') && ev.includes('MemberReplaced'));
  // While it was only unhealthy, status said so honestly.
  const degraded = w.history.slice(from).find((h) => h.phase === 'Degraded');
  assert.ok(degraded, 'Degraded was reported while waiting for unhealthyAfter');
  const s = w.settle().status;
  assert.equal(s.phase, 'Available');
  assert.deepEqual(s.faultTolerance, { desired: 1, current: 1 });
  assert.equal(s.nextOrdinal, 4);
});

test('divergent leader: leadership moves first, then one joint change removes it; its volume is kept', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' } });
  w.settle();
  w.tick(20_000); // past the first checkpoint
  const leader = w.leaderName()!;
  assert.equal(leader, 'g-0');
  const from = w.history.length;
  w.fault('g-0', { divergent: true });
  w.run((p) => p.step === 'steady' && !p.status.operation && !w.pods.has('g-0'));
  const acts = since(w, from);
  assert.deepEqual(kinds(acts), ['CreatePVC', 'IssueCertificate', 'CreatePod', 'TransferLeadership', 'ChangeMembership', 'DeletePod', 'RetainPVC', 'DeleteSecret']);
  const t = acts[3] as Extract<Action, { kind: 'TransferLeadership' }>;
  assert.equal(t.member, 'g-0');
  assert.notEqual(t.target, 'g-0');
  const c = acts[4] as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.notEqual(c.member, 'g-0', 'the change goes to the new leader');
  assert.equal(w.config(), '(g-1 g-2 g-3)');
  assert.equal(w.pvcs.get('data-g-0')?.metadata?.labels?.['replicant.dev/retained'], 'divergent');
  assert.ok(w.events().some((e) => e.reason === 'MemberDivergent'));
  // The retained volume's ordinal is never reused, and it is not a member.
  const s = w.settle().status;
  assert.ok(!s.members!.some((m) => m.name === 'g-0'));
  assert.equal(s.phase, 'Available');
});

test('replaceDivergent false: the divergent member is reported (health Divergent, index and both digests) and kept', () => {
  const w = new World({ replicas: 3, failurePolicy: { replaceDivergent: false } });
  w.settle();
  w.tick(20_000); // past the first checkpoint
  const from = w.history.length;
  w.fault('g-1', { divergent: true });
  const s = w.settle().status;
  const m = s.members!.find((x) => x.name === 'g-1')!;
  assert.equal(m.health, 'Divergent');
  assert.equal(m.reason, 'Divergent');
  assert.match(m.message!, /^state digest \S+ at checkpoint \d+ differs from the majority's \S+$/);
  assert.deepEqual(kinds(since(w, from)), [], 'nothing is replaced or removed');
  assert.ok(w.events().some((e) => e.reason === 'MemberDivergent' && e.message.startsWith('g-1: Divergent: ')));
  assert.equal(w.config(), '(g-0 g-1 g-2)');
});

test('scale 3 -> 5 adds two learners promoted in one change; 5 -> 3 removes two (highest ordinals, never the leader) in one change', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  let from = w.history.length;
  w.setSpec({ replicas: 5 });
  let p = w.settle();
  let acts = since(w, from);
  assert.deepEqual(kinds(acts), ['IssueCertificate', 'CreatePod', 'IssueCertificate', 'CreatePod', 'ChangeMembership', 'UpdatePodDisruptionBudget']);
  const up = acts[4] as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.deepEqual(up.request.add.map((a) => a.name), ['g-3', 'g-4']);
  assert.deepEqual(up.request.remove, []);
  assert.equal(w.config(), '(g-0 g-1 g-2 g-3 g-4)');
  assert.equal(p.status.faultTolerance!.current, 2);
  assert.equal(w.pdbs.get('g')!.spec!.minAvailable, 3);
  assert.ok(w.events().some((e) => e.reason === 'ScaledUp'));

  from = w.history.length;
  w.setSpec({ replicas: 3 });
  p = w.settle();
  acts = since(w, from);
  // The PDB follows the real configuration as soon as it shrinks.
  assert.deepEqual(kinds(acts), ['ChangeMembership', 'UpdatePodDisruptionBudget', 'DeletePod', 'DeletePod', 'DeleteSecret', 'DeleteSecret']);
  const down = acts[0] as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.deepEqual(down.request.remove.map((id) => w.nameOf(id)).sort(), ['g-3', 'g-4']);
  assert.deepEqual(down.request.add, []);
  assert.equal(w.config(), '(g-0 g-1 g-2)');
  assert.equal(w.pdbs.get('g')!.spec!.minAvailable, 2);
  assert.equal(p.status.observedGeneration, 3);
});

test('scale down never removes the leader and prefers unhealthy members', () => {
  const w = new World({ replicas: 5 });
  w.settle();
  w.apply({ kind: 'TransferLeadership', key: 't', description: 't', member: 'g-0', target: 'g-4', request: { target: w.idOf('g-4')! } });
  assert.equal(w.leaderName(), 'g-4');
  w.fault('g-1', { unreachable: true });
  const from = w.history.length;
  w.setSpec({ replicas: 3 });
  w.settle();
  const down = since(w, from).find((a) => a.kind === 'ChangeMembership') as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.deepEqual(down.request.remove.map((id) => w.nameOf(id)).sort(), ['g-1', 'g-3']);
  assert.equal(w.leaderName(), 'g-4');
});

test('faultTolerance 2 asks for five members', () => {
  const w = new World({ faultTolerance: 2 });
  const p = w.settle();
  assert.deepEqual(w.memberNames(), ['g-0', 'g-1', 'g-2', 'g-3', 'g-4']);
  assert.deepEqual(p.status.faultTolerance, { desired: 2, current: 2 });
  assert.equal(p.status.replicas, 5);
  assert.equal(w.pdbs.get('g')!.spec!.minAvailable, 3);
});

test('quorum lost: Quorate=False, phase QuorumLost, one Event, nothing destructive; it recovers by itself', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  w.fault('g-1', { crashLoop: true });
  w.fault('g-2', { crashLoop: true });
  for (let i = 0; i < 120; i++) {
    w.pass();
    w.tick(1000);
  }
  const during = w.history.slice(from);
  assert.deepEqual(since(w, from), [], 'no action at all while quorum is lost');
  assert.equal(w.group.status!.phase, 'QuorumLost');
  assert.equal(cond(w, 'Quorate')?.status, 'False');
  // Without a leader no member is Ready (/readyz), so none counts as healthy.
  assert.match(cond(w, 'Quorate')!.message, /0\/3 voters healthy, 2 needed/);
  assert.equal(w.group.status!.faultTolerance!.current, 0);
  assert.equal(during.flatMap((h) => h.events).filter((e) => e.reason === 'QuorumLost').length, 1);
  w.heal('g-1');
  w.heal('g-2');
  const p = w.run((p) => p.status.phase === 'Available');
  assert.equal(cond(w, 'Quorate')?.status, 'True');
  assert.ok(w.events().some((e) => e.reason === 'QuorumRestored'));
  assert.deepEqual(since(w, from), [], 'members came back: nothing was replaced');
  assert.deepEqual(p.status.configuration!.voters, ['g-0', 'g-1', 'g-2']);
});

test('quorum lost with volumes: deleted pods are recreated on their volumes (not destructive), and the group recovers', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' } });
  w.settle();
  const ids = ['g-0', 'g-1', 'g-2'].map((n) => w.idOf(n));
  const from = w.history.length;
  w.killPod('g-1');
  w.killPod('g-2');
  w.run((p) => p.status.phase === 'Available');
  assert.deepEqual(describeAll(since(w, from)), ['CreatePod:g-1', 'CreatePod:g-2']);
  assert.deepEqual(['g-0', 'g-1', 'g-2'].map((n) => w.idOf(n)), ids, 'same members, same data');
  assert.ok(w.events().some((e) => e.reason === 'MemberRecreated'));
});

test('operator restarted after the learner was added: it promotes the caught-up learner and removes the old member in one change', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  const oldId = w.idOf('g-2')!;
  w.fault('g-2', { crashLoop: true });
  w.interrupt = 'afterLearnerAdd';
  w.run((p) => p.action?.kind === 'ChangeMembership');
  assert.equal(w.config(), '(g-0 g-1 g-2) learners(g-3)');
  assert.equal(w.group.status!.operation?.type, 'Replace', 'the operation is recorded in status');
  w.failures = []; // a new operator process remembers nothing
  w.tick(1000);
  w.run((p) => p.step === 'steady' && !p.status.operation);
  const changes = since(w, from).filter((a) => a.kind === 'ChangeMembership') as Extract<Action, { kind: 'ChangeMembership' }>[];
  assert.equal(changes.length, 2);
  assert.deepEqual(changes[1].request.add, []);
  assert.deepEqual(changes[1].request.promote, [w.idOf('g-3')]);
  assert.deepEqual(changes[1].request.remove, [oldId]);
  assert.notEqual(changes[0].request.requestId, changes[1].request.requestId);
  assert.equal(w.config(), '(g-0 g-1 g-3)');
  assert.ok(!w.pods.has('g-2'));
});

test('operator restarted after entering the joint configuration: it finishes the change (leave joint), then cleans up', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  w.fault('g-1', { crashLoop: true });
  w.interrupt = 'afterEnterJoint';
  w.run((p) => p.action?.kind === 'ChangeMembership');
  assert.equal(w.config(), '(g-0 g-2 g-3)&&(g-0 g-1 g-2)');
  w.failures = [];
  w.tick(1000);
  const p = w.pass();
  assert.equal(p.status.phase, 'Reconfiguring');
  assert.equal(p.status.configuration!.joint, true);
  assert.equal(p.action?.kind, 'ChangeMembership');
  const finish = p.action as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.deepEqual([finish.request.add, finish.request.promote, finish.request.remove], [[], [], []], 'an empty change: leave joint');
  w.run((p) => p.step === 'steady' && !p.status.operation);
  assert.equal(w.config(), '(g-0 g-2 g-3)');
  assert.deepEqual(describeAll(since(w, from)).filter((a) => a.startsWith('DeletePod')), ['DeletePod:g-1']);
});

test('scale 3 -> 1 -> 2 (invalid, nothing happens) -> 3', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  w.setSpec({ replicas: 1 });
  let p = w.settle();
  assert.equal(w.config(), '(g-0)');
  assert.deepEqual(w.memberNames(), ['g-0']);
  assert.deepEqual(p.status.faultTolerance, { desired: 0, current: 0 });
  assert.equal(p.status.phase, 'Available');

  const from = w.history.length;
  w.setSpec({ replicas: 2 });
  for (let i = 0; i < 20; i++) {
    p = w.pass();
    w.tick(1000);
  }
  assert.deepEqual(since(w, from), []);
  assert.equal(p.status.phase, 'Invalid');
  assert.equal(cond(w, 'InvalidSpec')?.status, 'True');
  assert.match(cond(w, 'InvalidSpec')!.message, /spec\.replicas: 2 is even/);
  assert.equal(p.status.observedGeneration, 3, 'the invalid generation was looked at');
  assert.equal(w.history.slice(from).flatMap((h) => h.events).filter((e) => e.reason === 'InvalidSpec').length, 1);
  assert.equal(p.status.leader, 'g-0', 'the running group is still reported');

  w.setSpec({ replicas: 3 });
  p = w.settle();
  assert.equal(w.config(), '(g-0 g-3 g-4)');
  assert.equal(p.status.phase, 'Available');
  assert.equal(cond(w, 'InvalidSpec')?.status, 'False');
  assert.equal(p.status.observedGeneration, 4);
});

test('a wedged learner that never catches up is rolled back and the replacement retried with a new member', () => {
  const w = new World({ replicas: 3, failurePolicy: { catchUpTimeout: '1m' } });
  w.settle();
  const from = w.history.length;
  w.fault('g-1', { crashLoop: true });
  w.fault('g-3', { neverCatchUp: true });
  w.run((p) => p.step === 'steady' && !p.status.operation && w.config() === '(g-0 g-2 g-4)', 400);
  const acts = describeAll(since(w, from));
  const rollback = since(w, from).find((a) => a.kind === 'ChangeMembership' && a.request.requestId.includes('.rollback')) as Extract<Action, { kind: 'ChangeMembership' }>;
  assert.ok(rollback, `no rollback among ${acts.join(' ')}`);
  assert.deepEqual(rollback.request.remove.map((id) => w.nameOf(id)), ['g-3']);
  assert.ok(acts.includes('DeletePod:g-3'));
  assert.ok(acts.indexOf('DeletePod:g-3') < acts.indexOf('CreatePod:g-4'), 'the wedged learner is gone before the retry');
  const ev = w.events().map((e) => e.reason);
  assert.ok(ev.includes('ChangeRolledBack') && ev.includes('MemberReplaced'));
  assert.ok(!w.pods.has('g-1') && !w.pods.has('g-3'));
  assert.equal(w.group.status!.backoff, undefined, 'a success clears the backoff');
});

test('a learner the leader reports as lagging is waited for, then rolled back at the deadline (no promote is ever sent)', () => {
  const w = new World({ replicas: 3, failurePolicy: { catchUpTimeout: '1m', maxLagEntries: 5 } });
  w.settle();
  w.tick(5000);
  const from = w.history.length;
  w.fault('g-2', { crashLoop: true });
  w.fault('g-3', { neverCatchUp: true });
  w.interrupt = 'afterLearnerAdd'; // the learner stays in the configuration, lagging
  w.run((p) => p.step === 'steady' && !p.status.operation && w.config() === '(g-0 g-1 g-4)', 400);
  const changes = since(w, from).filter((a) => a.kind === 'ChangeMembership') as Extract<Action, { kind: 'ChangeMembership' }>[];
  const g3 = changes.filter((c) => c.request.promote.some((id) => w.nameOf(id) === 'g-3'));
  assert.deepEqual(g3, [], 'the lagging learner was never promoted');
  assert.ok(changes.some((c) => c.request.requestId.includes('.rollback')));
  assert.ok(w.history.slice(from).some((h) => /waiting for learner g-3 to catch up/.test(h.operation ?? '')));
});

test('rolling update with volumes: followers first (highest ordinal first), the leader last after a transfer; data kept', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' }, image: 'replicant:1' });
  w.settle();
  const ids = ['g-0', 'g-1', 'g-2'].map((n) => w.idOf(n));
  const from = w.history.length;
  w.setSpec({ replicas: 3, storage: { size: '1Gi' }, image: 'replicant:2' });
  const p = w.settle();
  const acts = describeAll(since(w, from));
  assert.deepEqual(acts, [
    'DeletePod:g-2', 'CreatePod:g-2',
    'DeletePod:g-1', 'CreatePod:g-1',
    'TransferLeadership:g-0->g-1', 'DeletePod:g-0', 'CreatePod:g-0',
  ]);
  assert.ok([...w.pods.values()].every((pod) => pod.spec!.containers[0].image === 'replicant:2'));
  assert.deepEqual(['g-0', 'g-1', 'g-2'].map((n) => w.idOf(n)), ids, 'restarted in place: same ids, same volumes');
  assert.equal(p.status.phase, 'Available');
  assert.equal(w.events().filter((e) => e.reason === 'MemberRestarted').length, 3);
  // Never more than one member down: every restart waited for the previous member to be healthy again.
  for (const h of w.history.slice(from)) assert.ok(h.phase !== 'QuorumLost');
});

test('rolling update with emptyDir replaces members one by one (a restart would lose the data)', () => {
  const w = new World({ replicas: 3, image: 'replicant:1' });
  w.settle();
  const from = w.history.length;
  w.setSpec({ replicas: 3, image: 'replicant:2' });
  w.settle(400);
  const acts = since(w, from);
  assert.equal(acts.filter((a) => a.kind === 'ChangeMembership').length, 3);
  assert.equal(w.config(), '(g-3 g-4 g-5)');
  const removed = acts.filter((a) => a.kind === 'DeletePod').map((a) => (a as { name: string }).name);
  assert.deepEqual(removed, ['g-2', 'g-1', 'g-0'], 'followers first, the leader last');
  assert.ok(acts.some((a) => a.kind === 'TransferLeadership'));
  assert.ok([...w.pods.values()].every((pod) => pod.spec!.containers[0].image === 'replicant:2'));
});

test('a member that does not come back stops the rollout with RolloutStuck instead of continuing', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' }, image: 'replicant:1', failurePolicy: { catchUpTimeout: '1m', maxConcurrentReplacements: 0 } });
  w.settle();
  const from = w.history.length;
  w.setSpec({ replicas: 3, storage: { size: '1Gi' }, image: 'replicant:bad', failurePolicy: { catchUpTimeout: '1m', maxConcurrentReplacements: 0 } });
  w.run((p) => p.action?.kind === 'DeletePod');
  w.fault('g-2', { crashLoop: true }); // the new image does not start
  for (let i = 0; i < 150; i++) {
    w.pass();
    w.tick(1000);
  }
  const acts = describeAll(since(w, from));
  assert.deepEqual(acts, ['DeletePod:g-2', 'CreatePod:g-2'], 'no other member was touched');
  assert.equal(cond(w, 'RolloutStuck')?.status, 'True');
  assert.match(cond(w, 'RolloutStuck')!.message, /g-2/);
  assert.ok(w.events().some((e) => e.reason === 'RolloutStuck'));
  assert.equal(w.pods.get('g-1')!.spec!.containers[0].image, 'replicant:1');
  assert.equal(w.group.status!.observedGeneration, 1, 'generation 2 was not realized');
  // A new spec lifts the block.
  w.heal('g-2');
  w.setSpec({ replicas: 3, storage: { size: '1Gi' }, image: 'replicant:2', failurePolicy: { catchUpTimeout: '1m', maxConcurrentReplacements: 0 } });
  w.settle();
  assert.equal(cond(w, 'RolloutStuck')?.status, 'False');
  assert.ok([...w.pods.values()].every((pod) => pod.spec!.containers[0].image === 'replicant:2'));
});

test('paused: nothing changes, even for a faulty member; unpausing resumes', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  w.setSpec({ replicas: 3, paused: true });
  w.fault('g-1', { crashLoop: true });
  for (let i = 0; i < 100; i++) {
    w.pass();
    w.tick(1000);
  }
  assert.deepEqual(since(w, from), []);
  assert.equal(w.group.status!.phase, 'Paused');
  assert.equal(w.group.status!.members!.find((m) => m.name === 'g-1')!.health, 'Unhealthy', 'status is still reported');
  w.setSpec({ replicas: 3, paused: false });
  w.run((p) => p.step === 'steady' && w.config() === '(g-0 g-2 g-3)');
});

test('a lost node: its member is replaced after unhealthyAfter, on a live node', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const node = w.pods.get('g-1')!.spec!.nodeName!;
  w.setNode(node, 'Unknown');
  w.run((p) => p.step === 'steady' && w.config() === '(g-0 g-2 g-3)');
  assert.notEqual(w.pods.get('g-3')!.spec!.nodeName, node);
  assert.equal(w.group.status!.members!.find((m) => m.name === 'g-3')!.health, 'Healthy');
});

test('a lost node with volumes: the member is replaced while the node is down; its pod and volume wait for the node, and the change still finishes', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' } });
  w.settle();
  const node = w.pods.get('g-1')!.spec!.nodeName!;
  w.setNode(node, 'Unknown');
  const from = w.history.length;
  const p = w.run((p) => p.step === 'steady' && !p.action && w.config() === '(g-0 g-2 g-3)');
  assert.equal(p.status.operation, undefined);
  assert.ok(w.events().some((e) => e.reason === 'MemberReplaced'));
  // Each removal was asked for once; the pod cannot finish terminating and its volume waits for it.
  assert.deepEqual(describeAll(since(w, from)).filter((a) => a === 'DeletePod:g-1' || a === 'DeletePVC'), ['DeletePod:g-1', 'DeletePVC']);
  assert.ok(w.pods.get('g-1')?.metadata?.deletionTimestamp);
  assert.ok(w.pvcs.get('data-g-1')?.metadata?.deletionTimestamp);
  for (let i = 0; i < 5; i++) {
    assert.equal(w.pass().action, undefined, 'nothing more to do while the node is away');
    w.tick(1000);
  }
  w.setNode(node, 'True');
  w.tick(1000);
  w.settle();
  assert.equal(w.pods.has('g-1'), false);
  assert.equal(w.pvcs.has('data-g-1'), false);
});

test('a member whose volume is being deleted is not recreated on it: it is replaced', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' } });
  w.settle();
  const from = w.history.length;
  w.deletePVCFromOutside('data-g-1');
  w.killPod('g-1');
  w.run((p) => p.step === 'steady' && !p.action && w.config() === '(g-0 g-2 g-3)');
  const acts = describeAll(since(w, from));
  assert.ok(!acts.includes('CreatePod:g-1'), acts.join(' '));
  const replacing = w.events().find((e) => e.reason === 'ReplacingMember');
  assert.match(replacing!.message, /g-1 is faulty \(PodMissing.*its volume is gone too/);
});

test('slow-starting members are timed from when they have started: no QuorumLost after bootstrap, one replacement per fault (no cascade)', () => {
  const w = new World({ replicas: 3, failurePolicy: { unhealthyAfter: '5s' } });
  w.startup = { startedAfterMs: 6_000, readyAfterMs: 9_000 };
  // The last founder (its pod made after its certificate) may still be starting when nothing is left to do.
  const formed = w.run((p) => p.step === 'steady' && !p.action && p.status.phase === 'Available');
  assert.equal(formed.status.phase, 'Available');
  assert.deepEqual(w.events().filter((e) => ['QuorumLost', 'ReplacingMember', 'MemberUnhealthy'].includes(e.reason)), [], 'starting founders are neither lost quorum nor faulty');
  const starting = w.history.find((h) => h.phase === 'Bootstrapping' && h.operation?.includes('Ready'));
  assert.ok(starting, 'the bootstrap waits for a quorum of Ready founders');
  w.fault('g-1', { crashLoop: true });
  w.run((p) => p.step === 'steady' && !p.action && w.config() === '(g-0 g-2 g-3)');
  for (let i = 0; i < 20; i++) {
    w.pass();
    w.tick(1000);
  }
  assert.equal(w.config(), '(g-0 g-2 g-3)', 'the new member, slow to become Ready, is not replaced in turn');
  assert.deepEqual(w.events().filter((e) => e.reason === 'ReplacingMember').map((e) => e.message.split(' ')[0]), ['g-1']);
  assert.equal(w.group.status!.members!.find((m) => m.name === 'g-3')!.health, 'Healthy');
});

test('invalid specs at creation: rejected with InvalidSpec, nothing created', () => {
  for (const spec of [{ replicas: 2 }, { replicas: 0 }, { replicas: 3, faultTolerance: 1 }, { replicas: 3, replica: 3 } as never]) {
    const w = new World(spec);
    for (let i = 0; i < 5; i++) w.pass();
    assert.deepEqual(w.actions(), [], JSON.stringify(spec));
    assert.equal(w.group.status!.phase, 'Invalid');
    assert.equal(cond(w, 'InvalidSpec')?.status, 'True');
  }
});

test('deleting the group tears down pods and volumes, then removes the finalizer', () => {
  const w = new World({ replicas: 3, storage: { size: '1Gi' } });
  w.settle();
  const from = w.history.length;
  w.group.metadata.deletionTimestamp = new Date(w.now).toISOString();
  w.run((p) => p.action?.kind === 'RemoveFinalizer');
  assert.deepEqual(kinds(since(w, from)), ['DeletePod', 'DeletePod', 'DeletePod', 'DeletePVC', 'DeletePVC', 'DeletePVC', 'RemoveFinalizer']);
  assert.equal(w.group.status!.phase, 'Deleting');
});

test('emptyDir member whose pod was deleted is replaced at once (its data is gone); with a volume it is recreated', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  let from = w.history.length;
  w.killPod('g-2');
  w.run((p) => p.step === 'steady' && w.config() === '(g-0 g-1 g-3)');
  const started = w.history.find((h, i) => i >= from && h.action?.kind === 'CreatePod')!;
  assert.ok(started.at - w.history[from].at < 5000, 'no waiting for unhealthyAfter');

  const v = new World({ replicas: 3, storage: { size: '1Gi' } });
  v.settle();
  from = v.history.length;
  v.killPod('g-2');
  v.settle();
  assert.deepEqual(describeAll(since(v, from)), ['CreatePod:g-2']);
  assert.equal(v.config(), '(g-0 g-1 g-2)');
});

test('maxConcurrentReplacements 2: two faulty members of five are replaced in one joint change', () => {
  const w = new World({ replicas: 5, failurePolicy: { maxConcurrentReplacements: 2 } });
  w.settle();
  const from = w.history.length;
  w.fault('g-3', { crashLoop: true });
  w.fault('g-4', { crashLoop: true });
  w.run((p) => p.step === 'steady' && w.config() === '(g-0 g-1 g-2 g-5 g-6)');
  const changes = since(w, from).filter((a) => a.kind === 'ChangeMembership') as Extract<Action, { kind: 'ChangeMembership' }>[];
  assert.equal(changes.length, 1);
  assert.deepEqual(changes[0].request.add.map((a) => a.name), ['g-5', 'g-6']);
  assert.equal(changes[0].request.remove.length, 2);
});

test('a single-member group: PDB allows draining, fault tolerance 0, a faulty member cannot be replaced without quorum', () => {
  const w = new World({ replicas: 1 });
  const p = w.settle();
  assert.equal(w.pdbs.get('g')!.spec!.minAvailable, 0);
  assert.deepEqual(p.status.faultTolerance, { desired: 0, current: 0 });
  const from = w.history.length;
  w.fault('g-0', { crashLoop: true });
  for (let i = 0; i < 60; i++) {
    w.pass();
    w.tick(1000);
  }
  assert.deepEqual(since(w, from), []);
  assert.equal(w.group.status!.phase, 'QuorumLost');
});

test('every action comes with an Event', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  for (const h of w.history.filter((x) => x.action)) {
    assert.ok(h.events.some((e) => e.reason === h.action!.kind && e.message === h.action!.description), h.action!.kind);
  }
});

test('the operator cannot reach any member while pods are Ready: quorum Unknown, not lost; nothing changes', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const from = w.history.length;
  for (const m of ['g-0', 'g-1', 'g-2']) w.fault(m, { unreachable: true });
  for (let i = 0; i < 60; i++) {
    w.pass();
    w.tick(1000);
  }
  assert.deepEqual(since(w, from), []);
  assert.equal(cond(w, 'Quorate')?.status, 'Unknown');
  assert.equal(cond(w, 'Quorate')?.reason, 'MembersUnreachable');
  assert.notEqual(w.group.status!.phase, 'QuorumLost');
  assert.ok(!w.events().some((e) => e.reason === 'QuorumLost'));
});
