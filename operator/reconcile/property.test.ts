// Property: for random observed states (any mix of missing, failed,
// crash-looping, unready, unreachable, lagging and divergent members, lost
// nodes, joint configurations, learners, in-flight operations in any phase,
// failure reports), the planner never throws, never proposes a destructive
// action unless a quorum of the real configuration is healthy (by an oracle
// independent of the planner's own health rules), never removes the leader,
// and only promotes learners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { V1Node, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { Operation, ReplicaGroup } from '../api/index.ts';
import { isDestructive } from './actions.ts';
import type { AdminStatus } from './admin.ts';
import { ANNOTATION_SPEC_HASH, memberLabels, pvcName } from './names.ts';
import type { MemberProbe, Observed } from './observed.ts';
import { plan } from './planner.ts';

const T0 = Date.parse('2025-03-01T12:00:00Z');

/** Each member is fine, or has one fault. */
const memberArb = fc
  .record({
    fault: fc.constantFrom(
      ...Array(14).fill('none'),
      'missing', 'failed', 'crashloop', 'notready', 'terminating', 'nodeDown', 'nodeUnknown', 'unreachable', 'noprobe', 'lagging', 'divergent',
    ),
    pvc: fc.boolean(),
    oldHash: fc.boolean(),
    unhealthyFor: fc.option(fc.integer({ min: 0, max: 120_000 })),
  })
  .map((m) => ({
    ...m,
    pod: (['missing', 'failed', 'crashloop', 'notready', 'terminating'].includes(m.fault) ? m.fault : 'ready') as string,
    nodeReady: m.fault === 'nodeDown' ? 'False' : m.fault === 'nodeUnknown' ? 'Unknown' : 'True',
    probe: m.fault === 'unreachable' ? 'error' : m.fault === 'noprobe' ? 'none' : 'status',
    lagBy: m.fault === 'lagging' ? 20_000 : 0,
    digest: m.fault === 'divergent' ? 'b' : 'a',
  }));

const scenarioArb = fc.record({
  n: fc.constantFrom(1, 3, 3, 5),
  extra: fc.constantFrom(0, 0, 0, 1, 2),
  joint: fc.constantFrom(true, false, false, false, false),
  learner: fc.constantFrom(true, false, false, false, false),
  leader: fc.constantFrom(-1, 0, 0, 0, 1, 2, 3, 4),
  storage: fc.boolean(),
  replicas: fc.constantFrom(1, 3, 5),
  members: fc.array(memberArb, { minLength: 8, maxLength: 8 }),
  op: fc.option(
    fc.record({
      type: fc.constantFrom('Replace', 'ScaleUp', 'ScaleDown', 'RemoveLearners', 'Restart', 'Bootstrap'),
      phase: fc.constantFrom('CreatingMembers', 'TransferringLeadership', 'ChangingMembership', 'CleaningUp', 'RollingBack', 'WaitingForMember'),
      add: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }),
      remove: fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 2 }),
      late: fc.boolean(),
      attempt: fc.integer({ min: 0, max: 3 }),
    }),
    { freq: 2 },
  ),
  failAll: fc.boolean(),
  commit: fc.integer({ min: 0, max: 30_000 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): { observed: Observed; healthy: (id: number) => boolean; halves: number[][]; leader: number } {
  const name = (i: number) => `g-${i}`;
  const id = (i: number) => 0x10 + i;
  const voters = Array.from({ length: s.n }, (_, i) => i);
  const outgoing: number[] = s.joint ? [...voters.slice(0, -1), s.n + 1].filter((i) => i >= 0) : [];
  const learners: number[] = s.learner ? [s.n] : [];
  const inConfig: number[] = [...new Set([...voters, ...outgoing, ...learners])];
  const everyone = [...new Set([...inConfig, ...Array.from({ length: s.extra }, (_, i) => s.n + 2 + i)])].filter((i) => i < 8);
  const leader = s.leader >= 0 ? id(voters[s.leader % s.n]) : 0;
  const group: ReplicaGroup = {
    metadata: { name: 'g', namespace: 'ns', uid: 'u', generation: 2, finalizers: ['replicant.dev/teardown'] },
    // Plaintext: this property is about membership safety; certificates have their own tests (tls.test.ts).
    spec: { replicas: s.replicas, ...(s.storage ? { storage: { size: '1Gi' } } : {}), tls: { enabled: false } },
    status: {},
  };
  const pods: V1Pod[] = [];
  const pvcs: V1PersistentVolumeClaim[] = [];
  const nodes: V1Node[] = [];
  const probes: Record<string, MemberProbe> = {};
  const healthyIds = new Set<number>();
  for (const i of everyone) {
    const m = s.members[i];
    const node = `n${i}`;
    nodes.push({ metadata: { name: node }, status: { conditions: [{ type: 'Ready', status: m.nodeReady, lastTransitionTime: new Date(T0 - 60_000) }] } });
    if (s.storage && m.pvc) pvcs.push({ metadata: { name: pvcName(name(i)), labels: memberLabels('g', name(i)), uid: `pvc${i}` } });
    if (m.pod !== 'missing') {
      const ready = m.pod === 'ready';
      pods.push({
        metadata: {
          name: name(i),
          uid: `pod${i}`,
          labels: memberLabels('g', name(i)),
          annotations: { [ANNOTATION_SPEC_HASH]: m.oldHash ? 'old' : 'whatever' },
          creationTimestamp: new Date(T0 - 600_000),
          ...(m.pod === 'terminating' ? { deletionTimestamp: new Date(T0) } : {}),
        },
        spec: { containers: [{ name: 'replica', args: [] }], nodeName: node },
        status: {
          phase: m.pod === 'failed' ? 'Failed' : 'Running',
          conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(T0 - 45_000) }],
          containerStatuses: [
            {
              name: 'replica', image: 'x', imageID: '', ready, restartCount: 3,
              state: m.pod === 'crashloop' ? { waiting: { reason: 'CrashLoopBackOff' } } : { running: {} },
            },
          ],
        },
      });
    }
    if (m.pod !== 'missing' && m.pod !== 'failed' && m.probe !== 'none') {
      if (m.probe === 'error') probes[name(i)] = { error: 'unreachable' };
      else {
        const member = inConfig.includes(i);
        const status: AdminStatus = {
          memberId: id(i), name: name(i), clusterId: 1, term: 3, leader: member ? leader : 0,
          role: id(i) === leader ? 'leader' : 'follower', commitIndex: s.commit, appliedIndex: Math.max(0, s.commit - m.lagBy), lastIndex: s.commit,
          configuration: member
            ? { voters: voters.map(id), votersOutgoing: outgoing.map(id), learners: learners.map(id), learnersNext: [], joint: outgoing.length > 0 }
            : { voters: [], votersOutgoing: [], learners: [], learnersNext: [], joint: false },
          members: member ? inConfig.map((j) => ({ id: id(j), name: name(j), peerUrls: [`http://${name(j)}.g-peer.ns.svc.cluster.local:2380`], clientUrls: [], isLearner: learners.includes(j) })) : [],
          progress: id(i) === leader ? inConfig.map((j) => ({ id: id(j), match: Math.max(0, s.commit - s.members[j].lagBy), next: s.commit + 1, state: 'replicate', recentActive: true, isLearner: learners.includes(j) })) : [],
          checkpoints: [{ index: 100, revision: 1, digest: m.digest }],
        };
        probes[name(i)] = { status };
      }
    }
    const pod = pods.find((p) => p.metadata!.name === name(i));
    const isHealthy =
      !!pod && !pod.metadata!.deletionTimestamp && pod.status!.phase === 'Running' && m.pod === 'ready' && m.nodeReady === 'True' && probes[name(i)] !== undefined && 'status' in probes[name(i)];
    if (isHealthy) healthyIds.add(id(i));
  }
  group.status!.members = everyone.map((i) => ({
    name: name(i),
    id: id(i).toString(16),
    role: 'Follower' as const,
    health: s.members[i].unhealthyFor === null ? ('Healthy' as const) : ('Unhealthy' as const),
    ...(s.members[i].unhealthyFor !== null ? { unhealthySince: new Date(T0 - s.members[i].unhealthyFor!).toISOString() } : {}),
  }));
  if (s.op) {
    const o = s.op;
    const op: Operation = {
      id: 'op-1', type: o.type as Operation['type'], reason: 'Test', phase: o.phase as Operation['phase'],
      add: o.add.map((i) => ({ name: name(i) })),
      remove: o.remove.map((i) => ({ name: name(i), id: id(i).toString(16) })),
      attempt: o.attempt, startedAt: new Date(T0 - 600_000).toISOString(),
      deadline: new Date(o.late ? T0 - 1000 : T0 + 600_000).toISOString(),
      ...(o.type === 'Restart' ? { member: { name: name(o.remove[0] ?? 0) }, specHash: 'new' } : {}),
      ...(o.type === 'Bootstrap' ? { founding: voters.map(name) } : {}),
    };
    group.status!.operation = op;
  }
  const observed: Observed = {
    now: T0,
    group,
    pods,
    pvcs,
    services: [],
    pdbs: [],
    nodes,
    probes,
    failures: s.failAll ? [{ key: 'ChangeMembership/anything', message: 'x', at: T0 }] : [],
  };
  const halves = outgoing.length ? [voters.map(id), outgoing.map(id)] : [voters.map(id)];
  return { observed, healthy: (x) => healthyIds.has(x), halves, leader };
}

test('property: never a destructive action without a healthy quorum of the real configuration; never removes the leader', (t) => {
  let destructive = 0;
  const hist = new Map<string, number>();
  let actions = 0;
  fc.assert(
    fc.property(scenarioArb, (s) => {
      const { observed, healthy, halves, leader } = build(s);
      // The Services and PDB are put in place first so the steps after them are reached.
      const p = plan(withAll(observed));
      assert.deepEqual(p.events.filter((e) => e.reason === 'SafetyVeto'), [], 'the guard vetoed: a step proposed something unsafe');
      const a = p.action;
      hist.set(`${p.step}:${a?.kind ?? '-'}`, (hist.get(`${p.step}:${a?.kind ?? '-'}`) ?? 0) + 1);
      if (!a) return;
      actions++;
      if (isDestructive(a)) {
        destructive++;
        const quorate = halves.every((h) => h.filter(healthy).length >= Math.floor(h.length / 2) + 1);
        assert.ok(quorate, `destructive ${a.description} without a healthy quorum`);
      }
      if (a.kind === 'ChangeMembership') {
        assert.ok(!a.request.remove.includes(leader), `removes the leader: ${a.description}`);
        assert.equal(a.member, `g-${leader - 0x10}`);
        const learnerIds = new Set(observed.probes[a.member] && 'status' in observed.probes[a.member] ? (observed.probes[a.member] as { status: { configuration: { learners: number[] } } }).status.configuration.learners : []);
        assert.ok(a.request.promote.every((id) => learnerIds.has(id)), 'promotes only learners');
      }
    }),
    { numRuns: Number(process.env.FC_RUNS ?? 1000), seed: Number(process.env.FC_SEED ?? 20250301) },
  );
  // The generator must reach the interesting cases, or the property says little.
  assert.ok(actions > 250, `only ${actions} actions`);
  assert.ok(destructive > 100, `only ${destructive} destructive actions`);
  t.diagnostic(`${actions} actions, ${destructive} destructive; by step: ${[...hist].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' ')}`);
});

/** withAll runs the planner until the Services and PDB exist (they do not depend on members). */
function withAll(o: Observed): Observed {
  let cur = { ...o };
  for (let i = 0; i < 4; i++) {
    const a = plan(cur).action;
    if (a?.kind === 'CreateService') cur = { ...cur, services: [...cur.services, a.service] };
    else if (a?.kind === 'CreatePodDisruptionBudget') cur = { ...cur, pdbs: [...cur.pdbs, a.pdb] };
    else break;
  }
  return cur;
}
