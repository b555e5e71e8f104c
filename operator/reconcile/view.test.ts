// The group view: which Status is authoritative, and how member ids map to
// pod names (own Status, the leader's member table by name or peer URL, the
// previous status) when members are down or have not published their names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReplicaGroup } from '../api/index.ts';
import { normalizeStatus, type AdminStatus } from './admin.ts';
import { memberLabels } from './names.ts';
import type { Observed } from './observed.ts';
import { buildView } from './view.ts';

const url = (m: string) => `http://${m}.g-peer.ns.svc.cluster.local:2380`;
const group = (status: ReplicaGroup['status'] = {}): ReplicaGroup => ({ metadata: { name: 'g', namespace: 'ns', uid: 'u' }, spec: {}, status });
const pod = (name: string) => ({ metadata: { name, labels: memberLabels('g', name) } });
const st = (over: Partial<AdminStatus>): AdminStatus => normalizeStatus(over);
const obs = (o: Partial<Observed>): Observed => ({ now: 0, group: group(), pods: [], pvcs: [], services: [], pdbs: [], nodes: [], probes: {}, ...o });

test('the leader with the highest term is authoritative; names come from the member table or peer URLs', () => {
  const conf = { voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [], joint: false };
  const members = [
    { id: 1, name: 'g-0', peerUrls: [url('g-0')], clientUrls: [], isLearner: false },
    { id: 2, name: '', peerUrls: [url('g-1')], clientUrls: [], isLearner: false },
    { id: 3, name: '', peerUrls: [url('g-2')], clientUrls: [], isLearner: false },
  ];
  const v = buildView(
    obs({
      pods: [pod('g-0'), pod('g-1'), pod('g-2')],
      probes: {
        'g-0': { status: st({ memberId: 1, role: 'leader', leader: 1, term: 5, commitIndex: 100, configuration: conf, members, progress: [{ id: 2, match: 90, next: 91, state: 'replicate', recentActive: true, isLearner: false }] }) },
        // A stale leader of an older term (e.g. partitioned) must not win.
        'g-1': { status: st({ memberId: 2, role: 'leader', leader: 2, term: 4, commitIndex: 50, configuration: { ...conf, voters: [2] }, members: [] }) },
        'g-2': { error: 'timeout' },
      },
    }),
  );
  assert.equal(v.configSource, 'leader');
  assert.deepEqual(v.config, { voters: [1, 2, 3], outgoing: [], learners: [], joint: false });
  assert.equal(v.leaderId, 1);
  assert.equal(v.nameOf(3), 'g-2', 'by peer URL, though g-2 is unreachable');
  assert.equal(v.idOf('g-1'), 2);
  assert.equal(v.members.get('g-1')!.lag, 100 - 0, 'own applied index (0) against the commit index');
  assert.ok(v.members.get('g-2')!.isVoter);
  assert.equal(v.members.get('g-2')!.lag, undefined, 'no progress reported, no Status: unknown');
});

test('without a leader the most advanced member speaks; without any, the previous status', () => {
  const conf = { voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [], joint: false };
  let v = buildView(obs({ pods: [pod('g-0')], probes: { 'g-0': { status: st({ memberId: 1, role: 'follower', term: 7, configuration: conf }) } } }));
  assert.equal(v.configSource, 'member');
  assert.equal(v.leaderId, undefined);
  assert.equal(v.nameOf(2), 'unknown-2', 'no table, no previous status: unnamed');
  v = buildView(
    obs({
      group: group({
        configuration: { voters: ['g-0', 'g-1', 'g-2'], outgoing: [], learners: [], joint: false },
        members: [
          { name: 'g-0', id: '1', role: 'Leader', health: 'Healthy' },
          { name: 'g-1', id: '2', role: 'Follower', health: 'Healthy' },
          { name: 'g-2', id: '3', role: 'Follower', health: 'Healthy' },
        ],
      }),
    }),
  );
  assert.equal(v.configSource, 'status');
  assert.deepEqual(v.config!.voters, [1, 2, 3]);
  assert.equal(v.nameOf(2), 'g-1');
  assert.equal(buildView(obs({})).configSource, 'none');
});

test('a joint configuration and learners are read as such; retained volumes are not members', () => {
  const conf = { voters: [1, 2, 4], votersOutgoing: [1, 2, 3], learners: [5], learnersNext: [], joint: true };
  const v = buildView(
    obs({
      pvcs: [
        { metadata: { name: 'data-g-7', labels: { ...memberLabels('g', 'g-7'), 'replicant.dev/retained': 'divergent' } } },
        { metadata: { name: 'data-g-0', labels: memberLabels('g', 'g-0') } },
      ],
      probes: { 'g-0': { status: st({ memberId: 1, role: 'leader', leader: 1, term: 2, configuration: conf }) } },
      pods: [pod('g-0')],
    }),
  );
  assert.deepEqual(v.config, { voters: [1, 2, 4], outgoing: [1, 2, 3], learners: [5], joint: true });
  assert.ok(!v.members.has('g-7'));
  assert.ok(v.members.get('g-0')!.pvc);
  assert.ok(v.members.get('unknown-3')!.isOutgoing && !v.members.get('unknown-3')!.isVoter);
  assert.ok(v.members.get('unknown-5')!.isLearner);
});
